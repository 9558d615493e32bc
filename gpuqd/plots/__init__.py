"""Figures from a finished run directory: one module per output (``OUTPUT``, ``REQUIRES``, ``draw``).

Every module of this package that defines ``OUTPUT`` draws the figures of that output with
``draw(results, figures_dir) -> [paths]`` when the run asked for the output and ``REQUIRES`` is in
its results; :mod:`gpuqd.plots.common` holds the shared helpers. matplotlib is optional.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

from gpuqd.plots.common import matplotlib_available
from gpuqd.plots.journal import check_figure_keys
from gpuqd.run.load import load_run
from gpuqd.run.stages import output_names

__all__ = ["make_figures", "plot_modules"]


def plot_modules() -> list[ModuleType]:
    """The figure modules, in the order of the outputs."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "OUTPUT"):
            found[module.OUTPUT] = module
    order = {name: k for k, name in enumerate(output_names())}
    return sorted(found.values(), key=lambda m: order.get(m.OUTPUT, len(order)))


def make_figures(
    run_dir: str | Path, width: str | float | None = None, style: str | None = None
) -> tuple[list[Path], list[str]]:
    """Draw the figures requested by the run's ``outputs``; returns (written paths, skip notices).

    ``width`` (``"double"``, ``"single"`` or inches) and ``style`` override the run's ``figures.width`` /
    ``figures.style`` (validated like the configuration keys; ``ConfigError`` names key, value and range).
    Each figure is written as ``<stem>.png``, ``.pdf`` and the one-line caption ``<stem>.txt``."""
    run_dir = Path(run_dir)
    if not matplotlib_available():
        return [], [
            "figures skipped: matplotlib is not installed (pip install -e '.[plot]'), then `gpuqd plot RUN_DIR`"
        ]
    r = load_run(run_dir)
    overrides = {k: v for k, v in (("width", width), ("style", style)) if v is not None}
    if overrides:
        r.config["figures"] = {**(r.config.get("figures") or {}), **check_figure_keys(overrides)}
    if not r.config.get("transport", {}).get("U", 0) > 0:
        return [], ["figures skipped: they are drawn in units of U and need U > 0"]
    outputs = set(r.config.get("outputs", []))
    out = run_dir / "figures"
    written: list[Path] = []
    skipped: list[str] = []
    for module in plot_modules():
        if module.OUTPUT not in outputs:
            continue
        if module.REQUIRES not in r:
            skipped.append(f"figure for {module.OUTPUT} skipped: {module.REQUIRES} missing from results")
            continue
        written += module.draw(r, out)
    return written, skipped

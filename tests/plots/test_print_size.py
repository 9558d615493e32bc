"""Figures at print size: every figure ≤ 2400 px wide at 200 dpi, no text below 8 pt, and every line
drawn explained by a legend entry of the same style (including partial resonance-line branches).

Runs the three kinds of tiny runs (maps + dynamics, FMR, switching times) without figures, then draws
them with :func:`gpuqd.plots.make_figures`, inspecting each figure as it is saved.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib")

MAX_WIDTH_PX = 2400
DPI = 200
MIN_PT = 8.0

FMR = {
    "name": "p_fmr",
    "grid": {
        "unit": "U",
        "eps_tilde": {"start": -0.3, "stop": 0.3, "num": 5},
        "V": {"start": -0.4, "stop": 0.4, "num": 5},
    },
    "magnet": {"S": 1.0, "KV": 0.05, "alpha": 0.1, "sigma2": 1.0e-4, "field": [0.0, 0.0, 0.01]},
    "fmr": {
        "spectra_eps_tilde": [0.25, -0.3],
        "spectra_V": [-0.15, 0.2],
        "n_omega": 51,
        "simulate": True,
        "simulate_omegas": 3,
        "periods": 4,
        "steps_per_period": 256,
        "settle_decays": 8,
    },
    "outputs": ["fmr"],
    "dynamics": None,
    "figures": None,
}
STATS = {
    "name": "p_stats",
    "grid": {
        "unit": "U",
        "eps_tilde": {"start": -0.3, "stop": 0.3, "num": 3},
        "V": {"start": -0.4, "stop": 0.4, "num": 2},
    },
    "magnet": {"S": 1.0, "KV": 0.01, "alpha": 0.1, "sigma2": 1.0e-3},
    "dynamics": {"dt": 0.05, "t_end": 150.0, "average_from": 20.0},
    "statistics": {
        "protocol": "both",
        "trajectories_per_point": 8,
        "chunk_steps": 300,
        "survival_eps_tilde": 0.0,
        "survival_V": [0.4, -0.4],
    },
    "outputs": ["switching_times"],
    "figures": None,
}


def _style(line) -> tuple:  # noqa: ANN001
    from matplotlib.colors import to_rgba

    marker = line.get_marker() if line.get_marker() not in (None, "None", "", " ") else None
    ls = line.get_linestyle() if line.get_linestyle() not in ("None", "", " ") else None
    color = line.get_color() if ls else line.get_markeredgecolor()
    return (to_rgba(color), ls, marker, round(float(line.get_linewidth()), 2) if ls else None)


def _check_figure(fig, name: str) -> list[str]:  # noqa: ANN001
    from matplotlib.lines import Line2D
    from matplotlib.text import Text

    problems = []
    fig.canvas.draw()
    bbox = fig.get_tightbbox(fig.canvas.get_renderer())
    width_px = (bbox.width + 0.2) * DPI  # bbox_inches="tight" adds pad_inches = 0.1 on each side
    if width_px > MAX_WIDTH_PX:
        problems.append(f"{name}: {width_px:.0f} px wide at {DPI} dpi")
    for t in fig.findobj(Text):
        if t.get_visible() and t.get_text().strip() and t.get_fontsize() < MIN_PT:
            problems.append(f"{name}: text {t.get_text()[:30]!r} at {t.get_fontsize():.1f} pt")
    explained = set()
    for ax in fig.axes:
        leg = ax.get_legend()
        for h in leg.legend_handles if leg is not None else []:
            if isinstance(h, Line2D):
                explained.add(_style(h))
    for leg in fig.legends:
        explained |= {_style(h) for h in leg.legend_handles if isinstance(h, Line2D)}
    for ax in fig.axes:
        for line in ax.get_lines():
            x, y = (np.asarray(a, dtype=float) for a in line.get_data())
            if not line.get_visible() or not np.isfinite(x * y).any():
                continue
            if _style(line) not in explained:
                problems.append(
                    f"{name}: line {line.get_label()!r} {_style(line)} in {ax.get_title()[:40]!r} has no legend entry"
                )
    return problems


@pytest.fixture(scope="module")
def runs(tmp_path_factory, make_tiny_config):
    from gpuqd.run.config.validate import validate_config
    from gpuqd.run.pipeline import run_pipeline

    root = tmp_path_factory.mktemp("print")
    out = []
    for sections in ({"name": "p_maps"}, FMR, STATS):
        cfg = validate_config(make_tiny_config(**sections), runs_dir=str(root))
        out.append(run_pipeline(cfg, make_figures=False))
    return out


@pytest.mark.slow
def test_figures_at_print_size_with_explained_lines(runs, monkeypatch):
    from matplotlib.figure import Figure

    from gpuqd.plots import make_figures

    seen, problems = [], []
    original = Figure.savefig

    def inspect(self, fname, *args, **kwargs):  # noqa: ANN001, ANN202
        name = str(fname)
        if name.endswith(".png"):
            seen.append(name)
            problems.extend(_check_figure(self, name.rsplit("/", 1)[-1]))
            if kwargs.get("dpi") != DPI:
                problems.append(f"{name}: saved at {kwargs.get('dpi')} dpi")
        return original(self, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", inspect)
    for run in runs:
        make_figures(run)
    assert len(seen) >= 7, seen
    assert not problems, "\n".join(problems)

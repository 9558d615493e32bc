"""Runs behind the one-call API: a configuration built from keyword arguments, executed by the run
pipeline (:func:`gpuqd.run.pipeline.run_pipeline`: validation, torque table, dynamics, statistics,
Fokker–Planck — the same code as ``gpuqd run``), its results read back as NumPy arrays.

Units: energies in Γ unless the grid section says ``unit: U``; times in 1/Γ.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gpuqd.api.parameters import check_unit, config_sections, energy_in_gamma
from gpuqd.run.config.validate import validate_config
from gpuqd.run.pipeline import run_pipeline
from gpuqd.run.store.results import RunResults, load_run

__all__ = ["axial", "base_configuration", "grid_section", "point_grid", "run_configuration", "survival_point"]


def axis_section(values: Any, name: str) -> dict[str, Any]:
    """A grid axis from a number (one point) or a (start, stop, num) triple."""
    if isinstance(values, int | float):
        return {"start": float(values), "stop": float(values), "num": 1}
    try:
        start, stop, num = values
    except (TypeError, ValueError):
        raise ValueError(f"{name}={values!r}: allowed a number or a (start, stop, num) triple") from None
    return {"start": float(start), "stop": float(stop), "num": int(num)}


def grid_section(eps_tilde: Any, V: Any, unit: str) -> dict[str, Any]:
    """The ``grid`` section: axes in ``unit`` ("U" or "Gamma"; validated)."""
    return {"unit": check_unit(unit), "eps_tilde": axis_section(eps_tilde, "eps_tilde"), "V": axis_section(V, "V")}


def point_grid(eps_tilde: float, V: float, unit: str) -> dict[str, Any]:
    """The ``grid`` section of a single (ε̃, V) point given in ``unit``."""
    for name, value in (("eps_tilde", eps_tilde), ("V", V)):
        if not isinstance(value, int | float):
            raise ValueError(f"{name}={value!r}: allowed one number (in units of {unit})")
    return grid_section(float(eps_tilde), float(V), unit)


def survival_point(eps_tilde: float, V: float, unit: str, U: float) -> tuple[float, float]:
    """(ε̃, V) in the unit of the configuration's requested points (U, or Γ if U = 0)."""
    eps_g, v_g = energy_in_gamma(eps_tilde, unit, U), energy_in_gamma(V, unit, U)
    return (eps_g / U, v_g / U) if U > 0 else (eps_g, v_g)


def axial(magnet: Mapping[str, Any]) -> bool:
    """Whether the axial Fokker–Planck theory applies (uniaxial, field along e_z, drain free only)."""
    field = list(magnet.get("field", [0.0, 0.0, 0.0]))
    return (
        magnet.get("anisotropy", "uniaxial") == "uniaxial"
        and field[0] == 0.0
        and field[1] == 0.0
        and magnet.get("free", "drain") == "drain"
    )


def run_configuration(data: dict[str, Any], runs_dir: str | Path | None) -> tuple[RunResults, Path | None]:
    """Validate ``data`` (ConfigError: one line naming key, value and allowed range) and run it.

    ``runs_dir`` None: in a temporary directory, removed afterwards (returns no path); else the run
    is kept in ``<runs_dir>/<name>`` like a ``gpuqd run``: a finished run with the same configuration
    is read back, an interrupted one resumed, and the torque table is cached in ``<runs_dir>/.cache``.
    """
    if runs_dir is None:
        with tempfile.TemporaryDirectory(prefix="gpuqd-api-") as tmp:
            cfg = validate_config(data, source="gpuqd API", runs_dir=tmp)
            results = load_run(run_pipeline(cfg, make_figures=False, estimate=False))
            return results, None
    cfg = validate_config(data, source="gpuqd API", runs_dir=str(runs_dir))
    path = run_pipeline(cfg, resume=True, make_figures=False, estimate=False)
    return load_run(path), path


def base_configuration(
    name: str, seed: int, backend: str, parameters: Mapping[str, Any], grid: dict[str, Any]
) -> dict[str, Any]:
    """Name, seed, backend, transport + magnet (paper values updated by ``parameters``) and grid."""
    return {"name": name, "seed": int(seed), "backend": backend, **config_sections(parameters), "grid": grid}

"""``gpuqd.theta_map``: the switching diagram ⟨θ⟩(ε̃, V) ([G] Fig. 2) in one call, with the axial
Fokker–Planck ⟨θ⟩ beside it (docs/physics.md §7, §14).

Runs the ``switching_diagram`` (and, for an axial magnet, ``fokker_planck``) outputs of the run pipeline.
Units: energies in Γ (``*_over_U``: in U), times in 1/Γ, angles in rad.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gpuqd.api.parameters import check_unit
from gpuqd.api.point_run import axial, base_configuration, grid_section, run_configuration

__all__ = ["ThetaMap", "theta_map"]


@dataclass(frozen=True, repr=False)
class ThetaMap:
    """⟨θ⟩ over an (ε̃, V) grid (from :func:`theta_map`); maps have shape (len(eps_tilde), len(V))."""

    #: grid axes in Γ
    eps_tilde: np.ndarray
    V: np.ndarray
    #: grid axes in units of U (NaN if U = 0)
    eps_tilde_over_U: np.ndarray
    V_over_U: np.ndarray
    #: ⟨θ⟩ (rad): time average over [average_from, t_end), mean over the trajectories of a point
    mean_theta: np.ndarray
    #: fraction of the trajectories of a point that switched at least once
    switched_fraction: np.ndarray
    #: ⟨θ⟩ (rad) of the axial Fokker–Planck equation over the same window (NaN: not axial)
    fokker_planck_mean_theta: np.ndarray
    #: averaging window (1/Γ)
    average_from: float
    t_end: float
    trajectories_per_point: int
    #: the resolved run configuration
    config: dict = field(default_factory=dict)
    #: the run directory (None: computed in a temporary directory)
    run_dir: Path | None = None

    def to_xarray(self) -> Any:
        """The maps as an ``xarray.Dataset`` on coordinates ``eps_tilde``, ``V`` (Γ) with ``*_over_U``."""
        import xarray as xr

        coords = {
            "eps_tilde": ("eps_tilde", self.eps_tilde, {"units": "Gamma", "long_name": "level position ε̃"}),
            "V": ("V", self.V, {"units": "Gamma", "long_name": "bias voltage V"}),
            "eps_tilde_over_U": ("eps_tilde", self.eps_tilde_over_U, {"units": "U", "long_name": "ε̃ / U"}),
            "V_over_U": ("V", self.V_over_U, {"units": "U", "long_name": "V / U"}),
        }
        dims = ("eps_tilde", "V")
        return xr.Dataset(
            {
                "mean_theta": (dims, self.mean_theta, {"units": "rad", "long_name": "⟨θ⟩ (LLG ensemble)"}),
                "switched_fraction": (dims, self.switched_fraction, {"units": "1", "long_name": "switched fraction"}),
                "fokker_planck_mean_theta": (
                    dims,
                    self.fokker_planck_mean_theta,
                    {"units": "rad", "long_name": "⟨θ⟩ (axial Fokker–Planck)"},
                ),
            },
            coords=coords,
        )

    def __repr__(self) -> str:
        def axis(a: np.ndarray) -> str:
            return f"{a[0]:g} … {a[-1]:g} U ({a.size})" if a.size > 1 else f"{a[0]:g} U"

        theta = self.mean_theta / np.pi
        return (
            f"ThetaMap(ε̃ = {axis(self.eps_tilde_over_U)}, V = {axis(self.V_over_U)};\n"
            f"  ⟨θ⟩/π over [{self.average_from:g}, {self.t_end:g})/Γ, {self.trajectories_per_point} trajectories "
            f"per point: min {np.nanmin(theta):.3f}, max {np.nanmax(theta):.3f};\n"
            f"  switched fraction {np.nanmean(self.switched_fraction):.3f} on average)"
        )


def theta_map(
    eps_tilde: Any,
    V: Any,
    *,
    unit: str,
    trajectories_per_point: int = 1,
    t_end: float = 2.0e4,
    average_from: float | None = None,
    dt: float = 0.01,
    initial_theta: float = 0.0,
    seed: int = 0,
    backend: str = "auto",
    runs_dir: str | Path | None = None,
    name: str = "theta_map",
    **parameters: Any,
) -> ThetaMap:
    """⟨θ⟩(ε̃, V) of the stochastic LLG ensemble ([G] Fig. 2), with the Fokker–Planck ⟨θ⟩ beside it.

    Parameters
    ----------
    eps_tilde, V:
        Grid axes as (start, stop, num) (or one number), in units of ``unit``.
    unit:
        "U" (charging energy) or "Gamma" (Γ = (Γ_S + Γ_D)/2); required, anything else raises ValueError.
    trajectories_per_point:
        Noise realisations per grid point ([G]: 1).
    t_end, average_from, dt:
        End time, start of the averaging window (default t_end/2) and time step, in 1/Γ.
    initial_theta:
        Start angle (rad), 0: parallel.
    seed, backend, runs_dir, name, **parameters:
        As for :func:`gpuqd.switching_times`.

    Returns
    -------
    ThetaMap
        ``mean_theta`` (rad), ``switched_fraction``, ``fokker_planck_mean_theta`` (rad; NaN unless axial)
        on the axes ``eps_tilde``, ``V`` (Γ) and ``eps_tilde_over_U``, ``V_over_U``; ``to_xarray()``.

    Raises
    ------
    ValueError, TypeError
        As for :func:`gpuqd.switching_times` (before any computation).
    """
    check_unit(unit)
    data = base_configuration(name, seed, backend, parameters, grid_section(eps_tilde, V, unit))
    data |= {
        "dynamics": {
            "dt": dt,
            "t_end": t_end,
            "average_from": t_end / 2 if average_from is None else average_from,
            "trajectories_per_point": int(trajectories_per_point),
            "initial_theta": initial_theta,
        },
        "outputs": ["switching_diagram"] + (["fokker_planck"] if axial(data["magnet"]) else []),
    }
    r, path = run_configuration(data, runs_dir)
    U = float(data["transport"]["U"])
    shape = np.shape(r["mean_theta"])
    nan = np.full(shape, np.nan)
    dyn = r.config["dynamics"] if r.config else data["dynamics"]
    return ThetaMap(
        eps_tilde=np.asarray(r["eps_tilde"]),
        V=np.asarray(r["V"]),
        eps_tilde_over_U=np.asarray(r["eps_tilde"]) / U if U > 0 else np.full(shape[0], np.nan),
        V_over_U=np.asarray(r["V"]) / U if U > 0 else np.full(shape[1], np.nan),
        mean_theta=np.asarray(r["mean_theta"]),
        switched_fraction=np.asarray(r["switched_fraction"]),
        fokker_planck_mean_theta=np.asarray(r["fp_mean_theta_window"]) if "fp_mean_theta_window" in r else nan,
        average_from=float(dyn["average_from"]),
        t_end=float(dyn["t_end"]),
        trajectories_per_point=int(dyn["trajectories_per_point"]),
        config=dict(r.config or {}),
        run_dir=path,
    )

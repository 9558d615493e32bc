"""Stage ``fokker_planck`` (output ``fokker_planck``): the exact axial Fokker–Planck theory of the maps.

For every grid point, from the run's torque table (docs/physics.md §14, §10): ⟨θ⟩ averaged over the Fig. 2
window from the simulation's start angle, the window average of P(u < 0), the stationary ⟨θ⟩ and P(AP),
and both mean first-passage times with the simulation's hysteretic thresholds (P→AP: u 1 → −u_s,
AP→P: u −1 → +u_s), by :func:`gpuqd.observables.fokker_planck.axial_maps`. Deterministic (no noise
realisation): an independent check of every stochastic map. Needs the axially symmetric model: source
fixed (``magnet.free: drain``), uniaxial anisotropy, static field along e_z only, transport torques.

Units: angles in rad, times in 1/Γ.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from gpuqd.observables.fokker_planck import axial_maps
from gpuqd.run.config.factories import make_magnet
from gpuqd.run.config.schema import Num, Section
from gpuqd.run.config.typed import RunConfig
from gpuqd.run.costs.coefficients import Costs
from gpuqd.run.costs.model import MAPS_PER_POINT, StageEstimate
from gpuqd.run.stages.base import Fail, Stage, StageContext, StageResult

__all__ = ["STAGE", "SECTION", "FokkerPlanckConfig", "VARIABLES", "check"]

SECTION = Section(
    {
        "window_start": Num(
            default=None,
            lo=0,
            hi=1e12,
            nullable=True,
            unit="1/Γ",
            doc="start of the ⟨θ⟩ window (null: dynamics.average_from)",
        ),
        "window_end": Num(
            default=None,
            lo=0,
            hi=1e12,
            lo_open=True,
            nullable=True,
            unit="1/Γ",
            doc="end of the ⟨θ⟩ window (null: dynamics.t_end)",
        ),
        "n_cells": Num(
            "int",
            default=128,
            lo=8,
            hi=4096,
            doc="finite-volume cells in θ of the ⟨θ⟩(t) propagator (even; error ≈ 0.01 rad at 128)",
        ),
    },
    optional=True,
)


@dataclass(frozen=True)
class FokkerPlanckConfig:
    """The ``fokker_planck:`` section (times in 1/Γ)."""

    window_start: float | None
    window_end: float | None
    n_cells: int


def check(data: dict, fail: Fail) -> None:
    """Cross-key checks; ``fail(key_path, message)`` raises ConfigError."""
    fp = data["fokker_planck"]
    if fp["n_cells"] % 2:
        fail("fokker_planck.n_cells", f"got {fp['n_cells']}; allowed: even integers in [8, 4096] (π/2 is a cell edge)")
    if "fokker_planck" not in data["outputs"]:
        return
    mg, dyn = data["magnet"], data["dynamics"]
    start = dyn["average_from"] if fp["window_start"] is None else fp["window_start"]
    end = dyn["t_end"] if fp["window_end"] is None else fp["window_end"]
    if not start < end:
        fail("fokker_planck.window_end", f"window [{start:g}, {end:g}) is empty; allowed: window_end > window_start")
    if data["torque"]["model"] != "transport":
        fail("torque.model", "output fokker_planck maps the transport torques over the grid; allowed: transport")
    if mg["free"] != "drain":
        fail("magnet.free", "output fokker_planck needs the source fixed along e_z (axial symmetry); allowed: drain")
    if mg["anisotropy"] != "uniaxial" and mg["K_cubic"] != 0.0:
        fail("magnet.anisotropy", "output fokker_planck needs axial symmetry; allowed: uniaxial (K_cubic = 0)")
    if mg["field"][0] != 0.0 or mg["field"][1] != 0.0:
        fail(
            "magnet.field",
            f"output fokker_planck needs a field along e_z only; got {mg['field']}, allowed: [0, 0, B_z]",
        )


_G = ["eps_tilde", "V"]
VARIABLES = MappingProxyType(
    {
        "fp_mean_theta_window": {
            "dims": _G,
            "units": "rad",
            "description": "Fokker–Planck ⟨θ⟩ averaged over the window, from θ = "
            "dynamics.initial_theta at t = 0 (compare mean_theta)",
        },
        "fp_p_ap_window": {
            "dims": _G,
            "units": "1",
            "description": "window average of P(n_z < 0) (theory certain where < 0.1 or > 0.9)",
        },
        "fp_mean_theta_stationary": {"dims": _G, "units": "rad", "description": "stationary ⟨θ⟩ (t → ∞)"},
        "fp_p_ap_stationary": {"dims": _G, "units": "1", "description": "stationary P(n_z < 0)"},
        "fp_mfpt_p_to_ap": {
            "dims": _G,
            "units": "1/Gamma",
            "description": "mean first-passage time n_z: 1 → −switch_threshold (inf: beyond a double)",
        },
        "fp_mfpt_ap_to_p": {
            "dims": _G,
            "units": "1/Gamma",
            "description": "mean first-passage time n_z: −1 → +switch_threshold",
        },
        "fp_window": {"dims": ["bound"], "units": "1/Gamma", "description": "the ⟨θ⟩ window [start, end]"},
        "bound": {
            "dims": ["bound"],
            "units": "",
            "description": "names of the fp_window bounds",
            "coordinate": "dimension",
        },
    }
)


def estimate(cfg: RunConfig, costs: Costs, needs: frozenset[str]) -> StageEstimate:
    """The axial Fokker–Planck maps at every grid point (``fokker_planck.n_cells`` cells)."""
    n_pts, n_cells = cfg.grid.n_points, cfg.fokker_planck.n_cells
    seconds = costs.fokker_planck(n_pts, n_cells)
    work = f"{n_pts} points × ({n_cells}-cell ⟨θ⟩(t) propagator + 2 mean first-passage times)"
    return StageEstimate("fokker_planck", work, seconds, int(MAPS_PER_POINT * n_pts * 8), note="depends on the torques")


def run(ctx: StageContext) -> StageResult:
    cfg = ctx.cfg
    fp, dyn = cfg.fokker_planck, cfg.dynamics
    start = dyn.average_from if fp.window_start is None else fp.window_start
    end = dyn.t_end if fp.window_end is None else fp.window_end
    table = ctx.products["torque_table"]
    t0 = time.perf_counter()
    ctx.reporter.message(f"fokker_planck: {cfg.grid.n_points} points")
    maps = axial_maps(
        make_magnet(cfg.magnet),
        table,
        np.arange(cfg.grid.n_points),
        dyn.switch_threshold,
        dyn.initial_theta,
        start,
        end,
        n_cells=fp.n_cells,
    )
    elapsed = time.perf_counter() - t0
    arrays = {f"fp_{k}": v.reshape(cfg.grid.shape) for k, v in maps.items()}
    arrays["fp_window"] = np.array([start, end], dtype=float)
    arrays["bound"] = np.array(["start", "end"])
    notes = [
        f"fp_*: exact axial Fokker–Planck theory (docs/physics.md §14) from the torque table; "
        f"{fp.n_cells} cells for ⟨θ⟩(t); {elapsed:.1f} s for {cfg.grid.n_points} points."
    ]
    return StageResult(
        arrays=arrays,
        notes=notes,
        throughput={"fokker_planck_ms_per_point": round(1e3 * elapsed / cfg.grid.n_points, 3)},
    )


STAGE = Stage(
    name="fokker_planck",
    order=15,
    run=run,
    outputs=("fokker_planck",),
    section=("fokker_planck", SECTION),
    section_class=FokkerPlanckConfig,
    check=check,
    variables=VARIABLES,
    figures=("fig2_fokker_planck",),
    needs=lambda cfg: frozenset({"torque_table"}),
    estimate=estimate,
)

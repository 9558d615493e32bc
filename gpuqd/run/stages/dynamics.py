"""Stage ``dynamics`` (outputs ``switching_diagram``, ``readout``): the switching-diagram ensemble.

One :class:`gpuqd.dynamics.EnsembleRunner` for all grid points × ``dynamics.trajectories_per_point``
(trajectory t belongs to grid point t // trajectories_per_point and has the global noise id t),
run through ``context.executor`` as a :class:`DynamicsWork` (docs/physics.md §6, §10, §11). The
local executor advances it in chunks of ``dynamics.chunk_steps`` and checkpoints after each to
``checkpoint/dynamics_state.npz``; ``--resume`` continues bit-identically (counter-based noise).

Units: times in 1/Γ, angles in rad, currents in eΓ/ħ, conductance in e²/ħ.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from gpuqd.dynamics import EnsembleResult, EnsembleRunner, EnsembleSpec
from gpuqd.run.config.factories import make_magnet, make_torque
from gpuqd.run.config.typed import RunConfig
from gpuqd.run.costs.coefficients import Costs
from gpuqd.run.costs.model import MAPS_PER_POINT, RESULTS_PER_TRAJ, StageEstimate, engine_table_bytes
from gpuqd.run.errors import SetupError
from gpuqd.run.execute.progress import Reporter
from gpuqd.run.stages.base import Stage, StageContext, StageResult, needs_torque_table
from gpuqd.run.store.results import point_coordinate_variables, point_coordinates

__all__ = ["STAGE", "VARIABLES", "DynamicsWork", "STATE_FILE"]

STATE_FILE = "dynamics_state.npz"
#: fields of EnsembleResult with one entry per trajectory (axis 0)
PER_TRAJECTORY_FIELDS = (
    "first_passage_time",
    "n_switches",
    "time_in_parallel",
    "time_in_antiparallel",
    "mean_theta",
    "mean_charge_current",
    "final_direction",
    "final_source_direction",
    "final_state",
    "trajectory_ids",
)
_G = ["eps_tilde", "V"]
VARIABLES = MappingProxyType(
    {
        "mean_theta": {
            "dims": _G,
            "units": "rad",
            "description": "⟨θ⟩: time average of θ over [average_from, t_end), averaged over the "
            "trajectories of each point",
        },
        "mean_theta_per_trajectory": {
            "dims": _G + ["trajectory"],
            "units": "rad",
            "description": "time-averaged θ of each trajectory",
        },
        "readout_current_dynamic": {
            "dims": _G,
            "units": "Gamma",
            "description": "time average of I_C(θ(t)) along the trajectories over the "
            "averaging window (mean over trajectories)",
        },
        "readout_conductance_dynamic": {
            "dims": _G,
            "units": "e^2/hbar",
            "description": "readout_current_dynamic / V (NaN at V = 0)",
        },
        "first_passage_time": {
            "dims": _G + ["trajectory"],
            "units": "1/Gamma",
            "description": "time of the first switch away from the initial state "
            "(inf: no switch before t_end, right-censored)",
        },
        "n_switches": {
            "dims": _G + ["trajectory"],
            "units": "1",
            "description": "number of hysteretic P↔AP switches (threshold ±switch_threshold on n_z)",
        },
        "switch_count": {"dims": _G, "units": "1", "description": "total switches over the trajectories of a point"},
        "switched_fraction": {
            "dims": _G,
            "units": "1",
            "description": "fraction of trajectories that switched at least once",
        },
        "time_in_parallel": {
            "dims": _G + ["trajectory"],
            "units": "1/Gamma",
            "description": "time spent in the P state (n_z > u_s, hysteretic) over [0, t_end]",
        },
        "time_in_antiparallel": {
            "dims": _G + ["trajectory"],
            "units": "1/Gamma",
            "description": "time spent in the AP state over [0, t_end]",
        },
        "final_state": {"dims": _G + ["trajectory"], "units": "1", "description": "+1 P, −1 AP at t_end"},
        "inset_time": {
            "dims": ["inset_time"],
            "units": "1/Gamma",
            "description": "times of the inset θ(t) samples",
            "coordinate": "dimension",
        },
        "inset_theta": {
            "dims": ["inset", "inset_time"],
            "units": "rad",
            "description": "θ(t) of the first trajectory at the inset grid points",
        },
        "inset_point_over_U": {
            "dims": ["inset", "xy"],
            "units": "U",
            "description": "(ε̃, V) of the grid points used for the insets (nearest to the "
            "requested figures.inset_* values)",
        },
        **point_coordinate_variables("inset", "inset", "inset points (inset_point_over_U)"),
        "inset_requested_over_U": {
            "dims": ["inset", "xy"],
            "units": "U",
            "description": "requested inset points (figures.inset_eps_tilde, inset_V)",
        },
    }
)
NOTES = (
    "Inset trajectories θ(t) are the first trajectory at the grid points nearest to the requested inset "
    "points (inset_point_over_U vs inset_requested_over_U).",
    "readout_current_dynamic is the time average of I_C(θ(t)) over [average_from, t_end).",
)


def estimate(cfg: RunConfig, costs: Costs, needs: frozenset[str]) -> StageEstimate:
    """All grid points × ``dynamics.trajectories_per_point`` trajectories for ``dynamics.t_end/dt`` steps
    (no compaction); memory: the table, the engine state and the results per trajectory, the maps."""
    n_pts = cfg.grid.n_points
    steps = cfg.dynamics.steps
    n_traj = n_pts * cfg.dynamics.trajectories_per_point
    table = cfg.torque.model == "transport"
    ec = costs.engine(table, cfg.magnet)
    per_traj = ec.bytes_per_traj if ec else 0.0
    memory = engine_table_bytes(n_pts, cfg.transport.n_theta, cfg.magnet.free == "both") if table else 0
    memory += int(n_traj * (per_traj + RESULTS_PER_TRAJ * 8) + MAPS_PER_POINT * n_pts * 8)
    work = f"{n_traj} trajectories × {steps} steps = {n_traj * steps:.3g} trajectory-steps"
    return StageEstimate("dynamics", work, steps * ec.step(n_traj) if ec else None, memory)


def inset_points(cfg: RunConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat grid indices nearest to the requested inset points, and (requested, used) over U."""
    return cfg.grid.nearest_points(cfg.figures.inset_eps_tilde, cfg.figures.inset_V)


@dataclass(frozen=True)
class DynamicsWork:
    """The switching-diagram ensemble as executor work: trajectory ids 0 .. n_items - 1 (picklable).
    ``threads``: OpenMP threads of the cpu engine of every block (None: the engine's default)."""

    cfg: RunConfig
    torque_table: Any
    backend: str
    threads: int | None = None
    #: results do not depend on the chunking (counter-based noise): checkpoints may follow the wall clock
    chunk_invariant = True

    @property
    def n_items(self) -> int:
        return self.cfg.grid.n_points * self.cfg.dynamics.trajectories_per_point

    @property
    def chunk_steps(self) -> int:
        return self.cfg.dynamics.chunk_steps

    def start(self, ids: np.ndarray | None = None) -> EnsembleRunner:
        """EnsembleRunner of the trajectories ``ids`` (None: all); θ(t) sampled for the inset trajectories."""
        cfg, dyn = self.cfg, self.cfg.dynamics
        tpp = dyn.trajectories_per_point
        torque = make_torque(cfg, self.torque_table)
        sample_every = dyn.sample_every or max(1, dyn.steps // 2000)
        sample_traj = self.sample_ids()
        block: dict[str, Any]
        point_index: np.ndarray | None
        if ids is None:
            n_traj, block = self.n_items, {"trajectory_offset": 0}
            point_index = np.repeat(np.arange(cfg.grid.n_points, dtype=np.int64), tpp)
        else:
            ids = np.asarray(ids, dtype=np.int64)
            n_traj, block = ids.size, {"trajectory_ids": ids}
            point_index = ids // tpp
            sample_traj = np.flatnonzero(np.isin(ids, sample_traj))
        if cfg.torque.model != "transport":
            point_index = None
        spec = EnsembleSpec(
            make_magnet(cfg.magnet),
            torque,
            n_traj,
            dyn.dt,
            dyn.t_end,
            cfg.seed,
            initial_theta=dyn.initial_theta,
            switch_threshold=dyn.switch_threshold,
            average_from=dyn.average_from,
            point_index=point_index,
            sample_every=sample_every,
            sample_trajectories=sample_traj,
            **block,
        )
        try:
            return EnsembleRunner(spec, backend=self.backend, threads=self.threads)
        except ValueError as exc:
            raise SetupError(
                f"dynamics: {exc} (the torque coefficients of the table enter this bound; lower "
                f"dynamics.dt — the transport results are cached, so the rerun is quick)"
            ) from None

    def collect(self, run: EnsembleRunner) -> EnsembleResult:
        """The runner's :class:`gpuqd.dynamics.runner.EnsembleResult` (per-trajectory observables)."""
        return run.result()

    def sample_ids(self) -> np.ndarray:
        """Global ids of the trajectories whose θ(t) is sampled (one per inset point, in inset order)."""
        inset_idx, _, _ = inset_points(self.cfg)
        return inset_idx * self.cfg.dynamics.trajectories_per_point

    def merge(self, parts: list[EnsembleResult]) -> EnsembleResult:
        """The result of the whole ensemble from the results of blocks of ids (any partition, any order)."""
        ids = np.concatenate([p.trajectory_ids for p in parts])
        order = np.argsort(ids, kind="stable")
        if not np.array_equal(ids[order], np.arange(self.n_items)):
            raise ValueError("the blocks do not partition the trajectory ids 0 .. n_items - 1")
        rows: dict[int, tuple[EnsembleResult, int]] = {}
        for p in parts:
            sampled = p.trajectory_ids[np.flatnonzero(np.isin(p.trajectory_ids, self.sample_ids()))]
            rows |= {int(t): (p, r) for r, t in enumerate(sampled)}
        picks = [rows[int(t)] for t in self.sample_ids()]
        first = parts[0]
        timed = next((p for p in parts if np.size(p.sample_times)), first)  # blocks without θ(t) have no times
        fields = {name: np.concatenate([getattr(p, name) for p in parts])[order] for name in PER_TRAJECTORY_FIELDS}
        return EnsembleResult(
            **fields,
            samples=np.stack([p.samples[r] for p, r in picks]) if picks else first.samples[:0],
            sample_directions=(
                np.stack([p.sample_directions[r] for p, r in picks]) if picks else first.sample_directions[:0]
            ),
            sample_times=timed.sample_times,
            dt=first.dt,
            t_end=first.t_end,
        )

    def progress_start(self, run: EnsembleRunner, reporter: Reporter, resumed: bool) -> None:
        if resumed:
            reporter.message(f"dynamics: resuming at step {run.steps_done} of {run.steps_total}")
        reporter.start(
            "dynamics", run.steps_total, "steps", work_per_unit=float(run.config.n_traj), done=run.steps_done
        )

    def progress_update(self, run: EnsembleRunner, reporter: Reporter) -> None:
        reporter.update(run.steps_done)

    def progress_end(self, run: EnsembleRunner, reporter: Reporter) -> None:
        reporter.finish()


def result_arrays(cfg: RunConfig, res: Any) -> dict[str, np.ndarray]:
    """The result arrays of :data:`VARIABLES` from the ensemble's per-trajectory observables."""
    grid = cfg.grid
    n_eps, n_V = grid.shape
    tpp = cfg.dynamics.trajectories_per_point

    def per(a):
        return np.asarray(a).reshape(n_eps, n_V, tpp)

    out = {
        "mean_theta_per_trajectory": per(res.mean_theta),
        "first_passage_time": per(res.first_passage_time),
        "n_switches": per(res.n_switches).astype(np.int64),
        "time_in_parallel": per(res.time_in_parallel),
        "time_in_antiparallel": per(res.time_in_antiparallel),
        "final_state": per(res.final_state).astype(np.int8),
    }
    out["mean_theta"] = out["mean_theta_per_trajectory"].mean(axis=-1)
    out["switch_count"] = out["n_switches"].sum(axis=-1)
    out["switched_fraction"] = (out["n_switches"] > 0).mean(axis=-1)
    out["readout_current_dynamic"] = per(res.mean_charge_current).mean(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = out["readout_current_dynamic"] / grid.V[None, :]
    g[:, grid.V == 0] = np.nan
    out["readout_conductance_dynamic"] = g
    _, req, used = inset_points(cfg)
    out["inset_time"] = np.asarray(res.sample_times, dtype=float)
    out["inset_theta"] = np.asarray(res.samples, dtype=float).reshape(len(req), -1)
    out["inset_point_over_U"] = used
    out |= point_coordinates("inset", used)
    out["inset_requested_over_U"] = req
    return out


def run(ctx: StageContext) -> StageResult:
    work = DynamicsWork(ctx.cfg, ctx.products.get("torque_table"), ctx.backend, ctx.threads)
    checkpoint = ctx.checkpoint(STATE_FILE, "dynamics")
    t0 = time.perf_counter()
    steps0 = checkpoint.counter("steps_done")
    res = ctx.executor.run_ensemble(work, checkpoint, ctx.reporter)
    result = StageResult(arrays=result_arrays(ctx.cfg, res), notes=list(NOTES))
    steps_total = ctx.cfg.dynamics.steps
    if steps_total > steps0:
        elapsed = time.perf_counter() - t0
        result.throughput["trajectory_steps_per_s"] = round(
            (steps_total - steps0) * work.n_items / max(elapsed, 1e-9), 1
        )
    return result


STAGE = Stage(
    name="dynamics",
    order=10,
    run=run,
    outputs=("switching_diagram", "readout"),
    variables=VARIABLES,
    figures=("fig2_switching", "fig3_readout"),
    needs=needs_torque_table,
    estimate=estimate,
)

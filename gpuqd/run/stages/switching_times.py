"""Stage ``switching_times`` (output ``switching_times``): first-passage statistics over the grid.

Per grid point and protocol (P→AP: start at θ = 0; AP→P: start at θ = π) trajectories run until their
first hysteretic switch (thresholds ±dynamics.switch_threshold on n·e_z) or the censoring time
``statistics.t_end`` (docs/physics.md §10), in adaptive rounds
(:class:`gpuqd.observables.adaptive_switching.AdaptiveSwitchingRun`, compacting);
:mod:`gpuqd.observables.switching_stats` turns the first-passage times into Kaplan–Meier survival
curves with Greenwood bands, mean / restricted mean, median and quantiles, the memoryless rate with
its exact χ² interval, the CV with a regime label and switching probabilities by given times.

The run goes through ``context.executor`` as a :class:`SwitchingWork`; the local executor checkpoints
it after every ``statistics.chunk_steps`` steps to ``checkpoint/switching_state.npz`` and ``--resume``
continues bit-identically, also across adaptive rounds.

Units: energies Γ, times 1/Γ, rates Γ; grid and survival points in units of U.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gpuqd.dynamics.crossing import monitor_threshold
from gpuqd.observables.adaptive_switching import AdaptiveSwitchingRun, protocol_list
from gpuqd.run.config.factories import make_magnet, make_torque
from gpuqd.run.config.schema import Choice, Flag, Num, Section, Vec3
from gpuqd.run.config.typed import RunConfig, check_step_count
from gpuqd.run.costs import switching as switching_costs
from gpuqd.run.errors import RunError
from gpuqd.run.execute.progress import Reporter
from gpuqd.run.stages.base import Fail, Stage, StageContext, StageResult, needs_torque_table
from gpuqd.run.stages.switching_results import VARIABLES, result_arrays

__all__ = [
    "STAGE",
    "SECTION",
    "StatisticsConfig",
    "SwitchingWork",
    "STATE_FILE",
    "check",
    "statistics_t_end",
]

STATE_FILE = "switching_state.npz"
#: largest total number of trajectories (all points and protocols) of one statistics run
MAX_TOTAL_TRAJECTORIES = 50_000_000

SECTION = Section(
    {
        "protocol": Choice(
            ("P_to_AP", "AP_to_P", "both"),
            default="P_to_AP",
            doc="P_to_AP: start at θ = 0; AP_to_P: start at θ = π; both",
        ),
        "trajectories_per_point": Num(
            "int", default=100, lo=1, hi=100000, doc="trajectories per grid point and protocol (adaptive: round 0)"
        ),
        "t_end": Num(
            default=None,
            lo=0,
            hi=1e9,
            lo_open=True,
            nullable=True,
            unit="1/Γ",
            doc="observation window, first passages later are censored (null: dynamics.t_end)",
        ),
        "chunk_steps": Num("int", default=5000, lo=1, hi=10**9, doc="steps between compactions and checkpoints"),
        "compaction": Flag(default=True, doc="stop stepping trajectories once they have switched"),
        "confidence": Num(
            default=0.95, lo=0, hi=1, lo_open=True, hi_open=True, doc="confidence level of all intervals"
        ),
        "min_switched_fraction": Num(
            default=1.0,
            lo=0.5,
            hi=1,
            doc="report the mean time (not the restricted mean) where at least this fraction switched",
        ),
        "probability_fractions": Vec3(
            default=[0.1, 0.3, 1.0], length=None, doc="times t/t_end at which P(switched by t) is reported"
        ),
        "survival_eps_tilde": Num(
            default=0.2, lo=-1e6, hi=1e6, unit="U", doc="ε̃ of the survival curves / histograms (nearest grid point)"
        ),
        "survival_V": Vec3(
            default=[0.1, 0.175],
            unit="U",
            length=None,
            doc="V values of the survival curves / histograms (nearest grid points)",
        ),
        "adaptive": Flag(default=False, doc="add trajectories where the CI target is not met"),
        "target": Choice(
            ("mean_time", "rate"),
            default="mean_time",
            doc="quantity whose relative CI width drives the adaptive rounds",
        ),
        "target_relative_ci_width": Num(
            default=0.2, lo=0, hi=100, lo_open=True, doc="adaptive target: CI width / estimate"
        ),
        "max_trajectories_per_point": Num(
            "int", default=1000, lo=1, hi=100000, doc="adaptive cap per grid point and protocol"
        ),
        "max_rounds": Num("int", default=8, lo=1, hi=1000, doc="adaptive cap on rounds (incl. round 0)"),
    },
    optional=True,
)


@dataclass(frozen=True)
class StatisticsConfig:
    """The ``statistics:`` section (times in 1/Γ; survival points in units of U, Γ if U = 0)."""

    protocol: str
    trajectories_per_point: int
    t_end: float | None
    chunk_steps: int
    compaction: bool
    confidence: float
    min_switched_fraction: float
    probability_fractions: tuple[float, ...]
    survival_eps_tilde: float
    survival_V: tuple[float, ...]
    adaptive: bool
    target: str
    target_relative_ci_width: float
    max_trajectories_per_point: int
    max_rounds: int


def statistics_t_end(data: dict) -> float:
    """Observation window (1/Γ): statistics.t_end, or dynamics.t_end if null."""
    st = data["statistics"]
    return float(st["t_end"] if st["t_end"] is not None else data["dynamics"]["t_end"])


def check(data: dict, fail: Fail) -> None:
    """Cross-key checks of the ``statistics`` section."""
    st, dyn = data["statistics"], data["dynamics"]
    key = "statistics.t_end" if st["t_end"] is not None else "dynamics.t_end"
    check_step_count(statistics_t_end(data), dyn["dt"], fail, key, key, dt_name="dynamics.dt")
    if st["adaptive"] and st["max_trajectories_per_point"] < st["trajectories_per_point"]:
        fail(
            "statistics.max_trajectories_per_point",
            f"max_trajectories_per_point = {st['max_trajectories_per_point']} must be >= "
            f"trajectories_per_point = {st['trajectories_per_point']}",
        )
    for value in st["probability_fractions"]:
        if not 0.0 < value <= 1.0:
            fail("statistics.probability_fractions", f"values must lie in (0, 1] (fractions of t_end), got {value:g}")
    g = data["grid"]
    n_points = g["eps_tilde"]["num"] * g["V"]["num"]
    n_protocols = 2 if st["protocol"] == "both" else 1
    cap = st["max_trajectories_per_point"] if st["adaptive"] else st["trajectories_per_point"]
    total = n_points * n_protocols * cap
    if "switching_times" in data["outputs"] and total > MAX_TOTAL_TRAJECTORIES:
        fail(
            "statistics.trajectories_per_point" if not st["adaptive"] else "statistics.max_trajectories_per_point",
            f"{total} trajectories in total (points × protocols × per point) is too many "
            f"(allowed <= {MAX_TOTAL_TRAJECTORIES})",
        )


@dataclass(frozen=True)
class SwitchingWork:
    """The statistics ensemble as executor work (picklable): all (protocol, point) groups, adaptive rounds.

    Its trajectories have the global noise ids of
    :func:`gpuqd.observables.adaptive_switching.trajectory_ids_for`; the adaptive decisions between
    rounds need all groups, so ``start`` gives one block (``start(None)``). Within a round, an executor
    can split the trajectories instead: ``run.round_work()`` → blocks of ids through
    :func:`gpuqd.observables.adaptive_switching.run_first_passage_block` → ``run.complete_round(...)``
    (bit-identical to ``advance``; the arguments of the block function are those of :meth:`block_args`).
    """

    cfg: RunConfig
    torque_table: Any
    backend: str
    threads: int | None = None  # OpenMP threads of the cpu engine (None: its default)
    shown_round: list[int] = field(default_factory=lambda: [-1])  # round on the progress display

    @property
    def n_items(self) -> int:
        return self.cfg.grid.n_points * len(protocol_list(self.cfg.statistics.protocol))

    @property
    def chunk_steps(self) -> int:
        return self.cfg.statistics.chunk_steps

    def start(self, ids: np.ndarray | None = None) -> AdaptiveSwitchingRun:
        if ids is not None:
            raise NotImplementedError("the adaptive statistics run is one block of all groups")
        cfg, st, dyn = self.cfg, self.cfg.statistics, self.cfg.dynamics
        magnet = make_magnet(cfg.magnet)
        try:
            threshold = dyn.switch_threshold
            if dyn.crossing_correction:  # detect passages of the continuous path (docs/physics.md §16)
                threshold = monitor_threshold(magnet, threshold, dyn.dt)
            return AdaptiveSwitchingRun(
                magnet,
                make_torque(cfg, self.torque_table),
                cfg.grid.n_points,
                protocol_list(st.protocol),
                dyn.dt,
                statistics_t_end(cfg.data),
                cfg.seed,
                st.trajectories_per_point,
                switch_threshold=threshold,
                backend=self.backend,
                threads=self.threads,
                compaction=st.compaction,
                adaptive=st.adaptive,
                target=st.target,
                target_width=st.target_relative_ci_width,
                max_per_point=st.max_trajectories_per_point,
                max_rounds=st.max_rounds,
                confidence=st.confidence,
                min_switched_fraction=st.min_switched_fraction,
            )
        except ValueError as exc:
            raise RunError(f"statistics: {exc} (lower dynamics.dt; the transport results are cached)") from None

    def block_args(self, run: AdaptiveSwitchingRun) -> dict[str, Any]:
        """Keyword arguments of ``run_first_passage_block`` besides ids, theta and point_index."""
        spec = run.spec
        return {
            "magnet": spec.magnet,
            "torque": spec.torque,
            "dt": spec.dt,
            "t_end": spec.t_end,
            "seed": spec.seed,
            "switch_threshold": spec.switch_threshold,
            "backend": run.backend,
            "threads": run.threads,
            "compaction": run.compaction,
            "chunk_steps": self.chunk_steps,
        }

    def collect(self, run: AdaptiveSwitchingRun) -> AdaptiveSwitchingRun:
        return run

    def progress_start(self, run: AdaptiveSwitchingRun, reporter: Reporter, resumed: bool) -> None:
        if resumed:
            reporter.message(f"switching times: resuming in round {run.round}")
        if not run.done:
            self._show_round(run, reporter)

    def _show_round(self, run: AdaptiveSwitchingRun, reporter: Reporter) -> None:
        self.shown_round[0] = run.round
        done, total = run.round_progress
        reporter.start(
            f"switching times (round {run.round})",
            total,
            "steps",
            done=done,
            work_per_unit=float(max(run.active_trajectories, 1)),
        )

    def progress_update(self, run: AdaptiveSwitchingRun, reporter: Reporter) -> None:
        if run.round == self.shown_round[0]:
            reporter.update(run.round_progress[0])
        elif not run.done:
            reporter.finish()
            self._show_round(run, reporter)

    def progress_end(self, run: AdaptiveSwitchingRun, reporter: Reporter) -> None:
        if self.shown_round[0] >= 0:
            reporter.finish()


def run(ctx: StageContext) -> StageResult:
    """Run (or resume) the statistics; result arrays, notes and throughput."""
    work = SwitchingWork(ctx.cfg, ctx.products.get("torque_table"), ctx.backend, ctx.threads)
    checkpoint = ctx.checkpoint(STATE_FILE, "switching_times")
    t0 = time.perf_counter()
    steps0 = checkpoint.counter("trajectory_steps")
    run = ctx.executor.run_ensemble(work, checkpoint, ctx.reporter)
    elapsed = time.perf_counter() - t0
    result = StageResult(arrays=result_arrays(run, ctx.cfg))
    if run.trajectory_steps > steps0:
        result.throughput["switching_trajectory_steps_per_s"] = round(
            (run.trajectory_steps - steps0) / max(elapsed, 1e-9), 1
        )
    result.notes = [
        "switching_*: first-passage statistics (docs/physics.md §10) from gpuqd.observables.switching_stats; "
        "trajectories of each protocol start exactly at θ = 0 (P→AP) or θ = π (AP→P) and run until their first "
        "switch or t_end.",
        f"switching_* trajectories: {int(run.n_done.sum())} in {run.round} round(s); compaction "
        f"{'on' if run.compaction else 'off'}: {run.trajectory_steps} trajectory-steps "
        f"(without compaction {run.trajectory_steps_uncompacted}).",
    ]
    return result


STAGE = Stage(
    name="switching_times",
    order=30,
    run=run,
    outputs=("switching_times",),
    section=("statistics", SECTION),
    section_class=StatisticsConfig,
    check=check,
    variables=VARIABLES,
    figures=("switching_times_maps", "switching_times_survival"),
    needs=needs_torque_table,
    estimate=switching_costs.estimate,
)

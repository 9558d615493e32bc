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
from types import MappingProxyType
from typing import Any

import numpy as np

from gpuqd.observables import switching_stats as ss
from gpuqd.observables.adaptive_switching import AdaptiveSwitchingRun, protocol_list
from gpuqd.run.config.factories import make_magnet, make_torque
from gpuqd.run.config.schema import Choice, Flag, Num, Section, Vec3
from gpuqd.run.config.typed import RunConfig, check_step_count
from gpuqd.run.errors import RunError
from gpuqd.run.execute.progress import Reporter
from gpuqd.run.stages.base import Fail, Stage, StageContext, StageResult

__all__ = [
    "STAGE",
    "SECTION",
    "StatisticsConfig",
    "SwitchingWork",
    "VARIABLES",
    "STATE_FILE",
    "check",
    "result_arrays",
    "statistics_t_end",
]

#: quantile levels reported besides the median
QUANTILE_LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9)
#: points of the stored survival curves on [0, t_end]
SURVIVAL_TIME_POINTS = 401
#: bins of the stored first-passage histograms on [0, t_end]
HISTOGRAM_BINS = 40
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


_G3 = ["protocol", "eps_tilde", "V"]
VARIABLES = MappingProxyType(
    {
        "switching_protocols": {
            "dims": ["protocol"],
            "units": "",
            "description": "protocols: P_to_AP (start θ = 0) and/or AP_to_P (start θ = π)",
        },
        "switching_t_end": {
            "dims": [],
            "units": "1/Gamma",
            "description": "observation window: first passages after t_end are right-censored",
        },
        "switching_first_passage_time": {
            "dims": _G3 + ["trajectory"],
            "units": "1/Gamma",
            "description": "first time n·e_z crosses the opposite threshold (−u_s for P→AP, +u_s for AP→P); "
            "inf: censored at t_end; NaN: padding (fewer trajectories at this point)",
        },
        "switching_n_trajectories": {"dims": _G3, "units": "1", "description": "trajectories run per point"},
        "switching_n_switched": {"dims": _G3, "units": "1", "description": "trajectories that switched by t_end"},
        "switching_mean_time": {
            "dims": _G3,
            "units": "1/Gamma",
            "description": "mean first-passage time where the switched fraction ≥ min_switched_fraction, else the "
            "restricted mean ∫_0^t_end S(t) dt (see switching_mean_time_is_restricted)",
        },
        "switching_mean_time_se": {
            "dims": _G3,
            "units": "1/Gamma",
            "description": "standard error of switching_mean_time",
        },
        "switching_mean_time_is_restricted": {
            "dims": _G3,
            "units": "bool",
            "description": "True where switching_mean_time is the restricted mean (a lower bound of the true mean)",
        },
        "switching_log10_mean_time": {
            "dims": _G3,
            "units": "log10(1/Gamma)",
            "description": "log10 of switching_mean_time",
        },
        "switching_median": {
            "dims": _G3,
            "units": "1/Gamma",
            "description": "Kaplan–Meier median first-passage time (NaN: not reached by t_end)",
        },
        "switching_median_ci_low": {
            "dims": _G3,
            "units": "1/Gamma",
            "description": "lower confidence limit of the median (NaN: beyond t_end)",
        },
        "switching_median_ci_high": {
            "dims": _G3,
            "units": "1/Gamma",
            "description": "upper confidence limit of the median (inf: no upper limit)",
        },
        "switching_quantile_levels": {
            "dims": ["quantile"],
            "units": "1",
            "description": "levels p of switching_quantile (P(T ≤ t_p) = p)",
        },
        "switching_quantile": {
            "dims": _G3 + ["quantile"],
            "units": "1/Gamma",
            "description": "Kaplan–Meier quantiles t_p of the first-passage time",
        },
        "switching_quantile_ci_low": {
            "dims": _G3 + ["quantile"],
            "units": "1/Gamma",
            "description": "lower confidence limit of t_p (band inversion)",
        },
        "switching_quantile_ci_high": {
            "dims": _G3 + ["quantile"],
            "units": "1/Gamma",
            "description": "upper confidence limit of t_p (inf: none)",
        },
        "switching_rate": {
            "dims": _G3,
            "units": "Gamma",
            "description": "memoryless rate MLE k = switches / total time at risk",
        },
        "switching_rate_ci_low": {
            "dims": _G3,
            "units": "Gamma",
            "description": "exact (Garwood χ²) lower confidence limit of the rate",
        },
        "switching_rate_ci_high": {
            "dims": _G3,
            "units": "Gamma",
            "description": "exact (Garwood χ²) upper confidence limit of the rate",
        },
        "switching_cv": {
            "dims": _G3,
            "units": "1",
            "description": "coefficient of variation of the switched first-passage times",
        },
        "switching_cv_memoryless": {
            "dims": _G3,
            "units": "1",
            "description": "CV exponential times truncated at t_end would show at the "
            "fitted rate (reference for the regime label)",
        },
        "switching_regime": {
            "dims": _G3,
            "units": "code",
            "description": "regime label, index into switching_regime_names "
            "(thermal: CV ≈ memoryless; deterministic: CV < 0.3)",
        },
        "switching_regime_names": {"dims": ["regime"], "units": "", "description": "names of the regime codes"},
        "switching_probability_by_t_end": {
            "dims": _G3,
            "units": "1",
            "description": "P(switched by t_end) = 1 − S(t_end) (Kaplan–Meier)",
        },
        "switching_probability_by_t_end_ci_low": {
            "dims": _G3,
            "units": "1",
            "description": "lower confidence limit of P(switched by t_end)",
        },
        "switching_probability_by_t_end_ci_high": {
            "dims": _G3,
            "units": "1",
            "description": "upper confidence limit of P(switched by t_end)",
        },
        "switching_probability_times": {
            "dims": ["time"],
            "units": "1/Gamma",
            "description": "times of switching_probability",
        },
        "switching_probability": {
            "dims": _G3 + ["time"],
            "units": "1",
            "description": "P(switched by t) at switching_probability_times",
        },
        "switching_probability_ci_low": {
            "dims": _G3 + ["time"],
            "units": "1",
            "description": "lower confidence limit of switching_probability",
        },
        "switching_probability_ci_high": {
            "dims": _G3 + ["time"],
            "units": "1",
            "description": "upper confidence limit of switching_probability",
        },
        "switching_relative_ci_width": {
            "dims": _G3,
            "units": "1",
            "description": "relative CI width of the adaptive target quantity "
            "(mean time: 2z·SE/mean; rate: (high − low)/rate)",
        },
        "switching_round_trajectories": {
            "dims": ["round"] + _G3,
            "units": "1",
            "description": "trajectories added per adaptive round (round 0: initial)",
        },
        "switching_trajectory_steps": {
            "dims": [],
            "units": "1",
            "description": "trajectory-steps integrated (with compaction, if on)",
        },
        "switching_trajectory_steps_uncompacted": {
            "dims": [],
            "units": "1",
            "description": "trajectory-steps the same rounds would need without compaction (each round run "
            "until all its trajectories switched or t_end)",
        },
        "switching_survival_time": {
            "dims": ["survival_time"],
            "units": "1/Gamma",
            "description": "time axis of the stored survival curves",
        },
        "switching_survival": {
            "dims": ["protocol", "survival_point", "survival_time"],
            "units": "1",
            "description": "Kaplan–Meier survival S(t) = P(not switched by t) at the survival points",
        },
        "switching_survival_ci_low": {
            "dims": ["protocol", "survival_point", "survival_time"],
            "units": "1",
            "description": "pointwise log(−log) Greenwood band, lower",
        },
        "switching_survival_ci_high": {
            "dims": ["protocol", "survival_point", "survival_time"],
            "units": "1",
            "description": "pointwise log(−log) Greenwood band, upper",
        },
        "switching_survival_point_over_U": {
            "dims": ["survival_point", "xy"],
            "units": "U",
            "description": "(ε̃, V) grid points of the survival curves (nearest "
            "to the requested statistics.survival_* values)",
        },
        "switching_survival_requested_over_U": {
            "dims": ["survival_point", "xy"],
            "units": "U",
            "description": "requested survival points",
        },
        "switching_histogram_edges": {
            "dims": ["bin_edge"],
            "units": "1/Gamma",
            "description": "bin edges of switching_histogram_counts on [0, t_end]",
        },
        "switching_histogram_counts": {
            "dims": ["protocol", "survival_point", "bin"],
            "units": "1",
            "description": "histogram of the switched first-passage times",
        },
        "switching_histogram_censored": {
            "dims": ["protocol", "survival_point"],
            "units": "1",
            "description": "trajectories censored at t_end (not in the histogram)",
        },
    }
)


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


def _needs(cfg: RunConfig) -> frozenset[str]:
    return frozenset({"torque_table"}) if cfg.torque.model == "transport" else frozenset()


def survival_points(cfg: RunConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat grid indices nearest to the requested survival points, and (requested, used) over U."""
    return cfg.grid.nearest_points(cfg.statistics.survival_eps_tilde, cfg.statistics.survival_V)


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
        try:
            return AdaptiveSwitchingRun(
                make_magnet(cfg.magnet),
                make_torque(cfg, self.torque_table),
                cfg.grid.n_points,
                protocol_list(st.protocol),
                dyn.dt,
                statistics_t_end(cfg.data),
                cfg.seed,
                st.trajectories_per_point,
                switch_threshold=dyn.switch_threshold,
                backend=self.backend,
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
        return {
            "magnet": run.magnet,
            "torque": run.torque,
            "dt": run.dt,
            "t_end": run.t_end,
            "seed": run.seed,
            "switch_threshold": run.switch_threshold,
            "backend": run.backend,
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


def result_arrays(run: AdaptiveSwitchingRun, cfg: RunConfig) -> dict[str, np.ndarray]:
    """The switching_* result arrays (see :data:`VARIABLES`)."""
    n_eps, n_V = cfg.grid.shape
    n_prot = len(run.protocols)
    shape = (n_prot, n_eps, n_V)
    t_end = run.t_end
    prob_times = np.asarray(cfg.statistics.probability_fractions, dtype=float) * t_end
    summary = run.summary(prob_times)

    def per(a: np.ndarray) -> np.ndarray:
        return np.asarray(a).reshape(shape + np.shape(a)[1:])

    fpt = np.where(run.done_step >= 0, run.done_step * run.dt, np.inf)
    obs = ss.observations(fpt, t_end, run.done_group, run.n_groups)
    km = ss.kaplan_meier(obs)
    quantiles = [ss.quantile(km, p, run.confidence) for p in QUANTILE_LEVELS]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_mean = np.log10(summary["mean_time"])
    out: dict[str, np.ndarray] = {
        "switching_protocols": np.array(run.protocols),
        "switching_t_end": np.array(t_end),
        "switching_first_passage_time": run.first_passage_matrix().reshape(shape + (-1,)),
        "switching_n_trajectories": per(summary["n"]),
        "switching_n_switched": per(summary["n_switched"]),
        "switching_mean_time": per(summary["mean_time"]),
        "switching_mean_time_se": per(summary["mean_time_se"]),
        "switching_mean_time_is_restricted": per(summary["mean_time_is_restricted"]),
        "switching_log10_mean_time": per(log_mean),
        "switching_median": per(summary["median"]),
        "switching_median_ci_low": per(summary["median_ci_low"]),
        "switching_median_ci_high": per(summary["median_ci_high"]),
        "switching_quantile_levels": np.array(QUANTILE_LEVELS),
        "switching_quantile": per(np.stack([q[0] for q in quantiles], axis=-1)),
        "switching_quantile_ci_low": per(np.stack([q[1] for q in quantiles], axis=-1)),
        "switching_quantile_ci_high": per(np.stack([q[2] for q in quantiles], axis=-1)),
        "switching_rate": per(summary["rate"]),
        "switching_rate_ci_low": per(summary["rate_ci_low"]),
        "switching_rate_ci_high": per(summary["rate_ci_high"]),
        "switching_cv": per(summary["cv"]),
        "switching_cv_memoryless": per(summary["cv_memoryless"]),
        "switching_regime": per(summary["regime"]),
        "switching_regime_names": np.array(ss.REGIME_NAMES),
        "switching_probability_by_t_end": per(summary["p_switch_by_t_end"]),
        "switching_probability_by_t_end_ci_low": per(summary["p_switch_by_t_end_ci_low"]),
        "switching_probability_by_t_end_ci_high": per(summary["p_switch_by_t_end_ci_high"]),
        "switching_probability_times": prob_times,
        "switching_probability": per(summary["p_switch"]),
        "switching_probability_ci_low": per(summary["p_switch_ci_low"]),
        "switching_probability_ci_high": per(summary["p_switch_ci_high"]),
        "switching_relative_ci_width": per(run.relative_width(summary)),
        "switching_round_trajectories": np.array(run.round_added, dtype=np.int64).reshape((-1,) + shape),
        "switching_trajectory_steps": np.array(run.trajectory_steps, dtype=np.int64),
        "switching_trajectory_steps_uncompacted": np.array(run.trajectory_steps_uncompacted, dtype=np.int64),
    }
    # survival curves and histograms at the chosen points
    idx, req, used = survival_points(cfg)
    t_grid = np.linspace(0.0, t_end, SURVIVAL_TIME_POINTS)
    curve = km.evaluate(t_grid, run.confidence)
    groups = np.arange(n_prot)[:, None] * run.n_points + idx[None, :]  # (protocol, survival_point)
    edges = np.linspace(0.0, t_end, HISTOGRAM_BINS + 1)
    counts = np.zeros(groups.shape + (HISTOGRAM_BINS,), dtype=np.int64)
    censored = np.zeros(groups.shape, dtype=np.int64)
    for q in range(n_prot):
        for s in range(idx.size):
            times = fpt[run.done_group == groups[q, s]]
            counts[q, s] = np.histogram(times[np.isfinite(times)], bins=edges)[0]
            censored[q, s] = int(np.isinf(times).sum())
    out.update(
        {
            "switching_survival_time": t_grid,
            "switching_survival": curve["survival"][groups],
            "switching_survival_ci_low": curve["low"][groups],
            "switching_survival_ci_high": curve["high"][groups],
            "switching_survival_point_over_U": used,
            "switching_survival_requested_over_U": req,
            "switching_histogram_edges": edges,
            "switching_histogram_counts": counts,
            "switching_histogram_censored": censored,
        }
    )
    return out


def run(ctx: StageContext) -> StageResult:
    """Run (or resume) the statistics; result arrays, notes and throughput."""
    work = SwitchingWork(ctx.cfg, ctx.products.get("torque_table"), ctx.backend)
    checkpoint = ctx.checkpoint(STATE_FILE, "switching_times")
    t0 = time.perf_counter()
    steps0 = 0
    if checkpoint.exists():
        try:
            with np.load(checkpoint.path, allow_pickle=False) as d:
                steps0 = int(d["trajectory_steps"])
        except Exception:
            steps0 = 0
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
    needs=_needs,
)

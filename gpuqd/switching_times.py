"""Ensemble statistics of switching times over the (ε̃, V) grid (output ``switching_times``, spec §10).

Per grid point and protocol (P→AP: start at θ = 0; AP→P: start at θ = π) N trajectories run until
their first hysteretic switch (thresholds ±dynamics.switch_threshold on n·e_z) or the censoring
time ``statistics.t_end``. Switched trajectories are dropped between chunks (compaction,
:class:`gpuqd.first_passage.FirstPassageEnsemble`), so slow points do not hold the batch.
:mod:`gpuqd.switching_stats` turns the first-passage times into Kaplan–Meier survival curves with
Greenwood bands, the mean first-passage time (restricted mean where not (nearly) all switched,
flagged), median and quantiles with intervals, the memoryless rate with its exact χ² interval, the
CV with a regime label and switching probabilities by given times.

Adaptive mode: after each round the relative CI width of the mean time (or the rate) is compared
with ``statistics.target_relative_ci_width``; points that miss it get more trajectories (estimated
from width ∝ 1/√N) until the target, ``max_trajectories_per_point`` or ``max_rounds`` is reached.

Trajectory k of point p under protocol q has the global noise id
``ID_BASE + (q · n_points + p) · ID_STRIDE + k``: the ensemble of a point is the same whatever the
round structure, and independent of the ``switching_diagram`` trajectories (ids < ID_BASE).

Resumability: the state (finished first-passage times, adaptive round, and the compacted engine
state of the round in progress) is saved atomically after every ``statistics.chunk_steps`` steps to
``checkpoint/switching_state.npz``; ``--resume`` continues bit-identically.

Units: energies Γ, times 1/Γ, rates Γ; grid and survival points in units of U.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gpuqd import switching_stats as ss
from gpuqd.atomic_io import atomic_savez

__all__ = [
    "SWITCHING_VARIABLES",
    "PROTOCOLS",
    "STATE_FILE",
    "check_statistics_config",
    "statistics_t_end",
    "switching_times_stage",
    "trajectory_ids_for",
    "AdaptiveSwitchingRun",
]

#: protocol name → initial polar angle (rad)
PROTOCOLS: dict[str, float] = {"P_to_AP": 0.0, "AP_to_P": math.pi}
#: global trajectory ids of this stage start here (the switching-diagram ensemble uses ids < n_traj)
ID_BASE = 1 << 40
#: ids reserved per (protocol, point): ≥ the largest allowed trajectories per point (100000)
ID_STRIDE = 1 << 17
#: quantile levels reported besides the median
QUANTILE_LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9)
#: points of the stored survival curves on [0, t_end]
SURVIVAL_TIME_POINTS = 401
#: bins of the stored first-passage histograms on [0, t_end]
HISTOGRAM_BINS = 40
STATE_FILE = "switching_state.npz"
#: largest total number of trajectories (all points and protocols) of one statistics run
MAX_TOTAL_TRAJECTORIES = 50_000_000

_G3 = ["protocol", "eps_tilde", "V"]
SWITCHING_VARIABLES: dict[str, dict] = {
    "switching_protocols": {"dims": ["protocol"], "units": "",
                            "description": "protocols: P_to_AP (start θ = 0) and/or AP_to_P (start θ = π)"},
    "switching_t_end": {"dims": [], "units": "1/Gamma",
                        "description": "observation window: first passages after t_end are right-censored"},
    "switching_first_passage_time": {
        "dims": _G3 + ["trajectory"], "units": "1/Gamma",
        "description": "first time n·e_z crosses the opposite threshold (−u_s for P→AP, +u_s for AP→P); "
                       "inf: censored at t_end; NaN: padding (fewer trajectories at this point)"},
    "switching_n_trajectories": {"dims": _G3, "units": "1", "description": "trajectories run per point"},
    "switching_n_switched": {"dims": _G3, "units": "1", "description": "trajectories that switched by t_end"},
    "switching_mean_time": {
        "dims": _G3, "units": "1/Gamma",
        "description": "mean first-passage time where the switched fraction ≥ min_switched_fraction, else the "
                       "restricted mean ∫_0^t_end S(t) dt (see switching_mean_time_is_restricted)"},
    "switching_mean_time_se": {"dims": _G3, "units": "1/Gamma",
                               "description": "standard error of switching_mean_time"},
    "switching_mean_time_is_restricted": {"dims": _G3, "units": "bool",
                                          "description": "True where switching_mean_time is the restricted "
                                                         "mean (a lower bound of the true mean)"},
    "switching_log10_mean_time": {"dims": _G3, "units": "log10(1/Gamma)",
                                  "description": "log10 of switching_mean_time"},
    "switching_median": {"dims": _G3, "units": "1/Gamma",
                         "description": "Kaplan–Meier median first-passage time (NaN: not reached by t_end)"},
    "switching_median_ci_low": {"dims": _G3, "units": "1/Gamma",
                                "description": "lower confidence limit of the median (NaN: beyond t_end)"},
    "switching_median_ci_high": {"dims": _G3, "units": "1/Gamma",
                                 "description": "upper confidence limit of the median (inf: no upper limit)"},
    "switching_quantile_levels": {"dims": ["quantile"], "units": "1",
                                  "description": "levels p of switching_quantile (P(T ≤ t_p) = p)"},
    "switching_quantile": {"dims": _G3 + ["quantile"], "units": "1/Gamma",
                           "description": "Kaplan–Meier quantiles t_p of the first-passage time"},
    "switching_quantile_ci_low": {"dims": _G3 + ["quantile"], "units": "1/Gamma",
                                  "description": "lower confidence limit of t_p (band inversion)"},
    "switching_quantile_ci_high": {"dims": _G3 + ["quantile"], "units": "1/Gamma",
                                   "description": "upper confidence limit of t_p (inf: none)"},
    "switching_rate": {"dims": _G3, "units": "Gamma",
                       "description": "memoryless rate MLE k = switches / total time at risk"},
    "switching_rate_ci_low": {"dims": _G3, "units": "Gamma",
                              "description": "exact (Garwood χ²) lower confidence limit of the rate"},
    "switching_rate_ci_high": {"dims": _G3, "units": "Gamma",
                               "description": "exact (Garwood χ²) upper confidence limit of the rate"},
    "switching_cv": {"dims": _G3, "units": "1",
                     "description": "coefficient of variation of the switched first-passage times"},
    "switching_cv_memoryless": {"dims": _G3, "units": "1",
                                "description": "CV exponential times truncated at t_end would show at the "
                                               "fitted rate (reference for the regime label)"},
    "switching_regime": {"dims": _G3, "units": "code",
                         "description": "regime label, index into switching_regime_names "
                                        "(thermal: CV ≈ memoryless; deterministic: CV < 0.3)"},
    "switching_regime_names": {"dims": ["regime"], "units": "", "description": "names of the regime codes"},
    "switching_probability_by_t_end": {"dims": _G3, "units": "1",
                                       "description": "P(switched by t_end) = 1 − S(t_end) (Kaplan–Meier)"},
    "switching_probability_by_t_end_ci_low": {"dims": _G3, "units": "1",
                                              "description": "lower confidence limit of P(switched by t_end)"},
    "switching_probability_by_t_end_ci_high": {"dims": _G3, "units": "1",
                                               "description": "upper confidence limit of P(switched by t_end)"},
    "switching_probability_times": {"dims": ["time"], "units": "1/Gamma",
                                    "description": "times of switching_probability"},
    "switching_probability": {"dims": _G3 + ["time"], "units": "1",
                              "description": "P(switched by t) at switching_probability_times"},
    "switching_probability_ci_low": {"dims": _G3 + ["time"], "units": "1",
                                     "description": "lower confidence limit of switching_probability"},
    "switching_probability_ci_high": {"dims": _G3 + ["time"], "units": "1",
                                      "description": "upper confidence limit of switching_probability"},
    "switching_relative_ci_width": {"dims": _G3, "units": "1",
                                    "description": "relative CI width of the adaptive target quantity "
                                                   "(mean time: 2z·SE/mean; rate: (high − low)/rate)"},
    "switching_round_trajectories": {"dims": ["round"] + _G3, "units": "1",
                                     "description": "trajectories added per adaptive round (round 0: initial)"},
    "switching_trajectory_steps": {"dims": [], "units": "1",
                                   "description": "trajectory-steps integrated (with compaction, if on)"},
    "switching_trajectory_steps_uncompacted": {
        "dims": [], "units": "1",
        "description": "trajectory-steps the same rounds would need without compaction (each round run "
                       "until all its trajectories switched or t_end)"},
    "switching_survival_time": {"dims": ["survival_time"], "units": "1/Gamma",
                                "description": "time axis of the stored survival curves"},
    "switching_survival": {"dims": ["protocol", "survival_point", "survival_time"], "units": "1",
                           "description": "Kaplan–Meier survival S(t) = P(not switched by t) at the survival "
                                          "points"},
    "switching_survival_ci_low": {"dims": ["protocol", "survival_point", "survival_time"], "units": "1",
                                  "description": "pointwise log(−log) Greenwood band, lower"},
    "switching_survival_ci_high": {"dims": ["protocol", "survival_point", "survival_time"], "units": "1",
                                   "description": "pointwise log(−log) Greenwood band, upper"},
    "switching_survival_point_over_U": {"dims": ["survival_point", "xy"], "units": "U",
                                        "description": "(ε̃, V) grid points of the survival curves (nearest "
                                                       "to the requested statistics.survival_* values)"},
    "switching_survival_requested_over_U": {"dims": ["survival_point", "xy"], "units": "U",
                                            "description": "requested survival points"},
    "switching_histogram_edges": {"dims": ["bin_edge"], "units": "1/Gamma",
                                  "description": "bin edges of switching_histogram_counts on [0, t_end]"},
    "switching_histogram_counts": {"dims": ["protocol", "survival_point", "bin"], "units": "1",
                                   "description": "histogram of the switched first-passage times"},
    "switching_histogram_censored": {"dims": ["protocol", "survival_point"], "units": "1",
                                     "description": "trajectories censored at t_end (not in the histogram)"},
}


# --------------------------------------------------------------------------------------- config
def statistics_t_end(data: dict) -> float:
    """Observation window (1/Γ): statistics.t_end, or dynamics.t_end if null."""
    st = data["statistics"]
    return float(st["t_end"] if st["t_end"] is not None else data["dynamics"]["t_end"])


def check_statistics_config(data: dict, fail: Callable[[str, str], None]) -> None:
    """Cross-key checks of the ``statistics`` section (``fail(key_path, message)`` raises)."""
    st, dyn = data["statistics"], data["dynamics"]
    dt = dyn["dt"]
    t_end = statistics_t_end(data)
    key = "statistics.t_end" if st["t_end"] is not None else "dynamics.t_end"
    n_steps = t_end / dt
    if n_steps > 1e11:
        fail(key, f"t_end/dt = {n_steps:.3g} steps is too many (allowed <= 1e11)")
    if abs(n_steps - round(n_steps)) > 1e-6 * max(1.0, n_steps):
        fail(key, f"t_end = {t_end:g} must be a multiple of dynamics.dt = {dt:g}")
    if st["adaptive"] and st["max_trajectories_per_point"] < st["trajectories_per_point"]:
        fail("statistics.max_trajectories_per_point",
             f"max_trajectories_per_point = {st['max_trajectories_per_point']} must be >= "
             f"trajectories_per_point = {st['trajectories_per_point']}")
    for value in st["probability_fractions"]:
        if not 0.0 < value <= 1.0:
            fail("statistics.probability_fractions", f"values must lie in (0, 1] (fractions of t_end), got {value:g}")
    g = data["grid"]
    n_points = g["eps_tilde"]["num"] * g["V"]["num"]
    n_protocols = 2 if st["protocol"] == "both" else 1
    cap = st["max_trajectories_per_point"] if st["adaptive"] else st["trajectories_per_point"]
    total = n_points * n_protocols * cap
    if "switching_times" in data["outputs"] and total > MAX_TOTAL_TRAJECTORIES:
        fail("statistics.trajectories_per_point" if not st["adaptive"] else "statistics.max_trajectories_per_point",
             f"{total} trajectories in total (points × protocols × per point) is too many "
             f"(allowed <= {MAX_TOTAL_TRAJECTORIES})")


def protocol_names(data: dict) -> list[str]:
    """Protocols run for statistics.protocol ('both' → both)."""
    p = data["statistics"]["protocol"]
    return list(PROTOCOLS) if p == "both" else [p]


def trajectory_ids_for(protocol_index: int, point: np.ndarray, k: np.ndarray, n_points: int) -> np.ndarray:
    """Global noise ids of trajectories k at grid points ``point`` under protocol ``protocol_index``."""
    point = np.asarray(point, dtype=np.int64)
    k = np.asarray(k, dtype=np.int64)
    return ID_BASE + (protocol_index * n_points + point) * ID_STRIDE + k


# --------------------------------------------------------------------------------------- driver
class AdaptiveSwitchingRun:
    """Rounds of compacting first-passage ensembles over groups (protocol, point), resumable.

    Parameters (units: energies Γ, times 1/Γ)
    ----------
    magnet, torque : model and torque provider (TorqueTable with one point per grid point, or
        ConstantTorque: the grid points then share the torque).
    n_points : grid points; protocols : protocol names (keys of :data:`PROTOCOLS`).
    dt, t_end, seed, switch_threshold, backend, compaction : as in FirstPassageEnsemble.
    initial_per_point : trajectories per group in round 0.
    adaptive : add rounds until relative_ci_width(target) ≤ target_width, max_per_point or max_rounds.
    confidence, min_switched_fraction : estimator settings (switching_stats.summarize).
    """

    def __init__(
        self,
        magnet: Any,
        torque: Any,
        n_points: int,
        protocols: list[str],
        dt: float,
        t_end: float,
        seed: int,
        initial_per_point: int,
        *,
        switch_threshold: float = 0.5,
        backend: str = "numpy",
        compaction: bool = True,
        adaptive: bool = False,
        target: str = "mean_time",
        target_width: float = 0.2,
        max_per_point: int = 1000,
        max_rounds: int = 8,
        confidence: float = 0.95,
        min_switched_fraction: float = 1.0,
    ) -> None:
        from gpuqd.dynamics import ConstantTorque

        self.magnet, self.torque = magnet, torque
        self.uses_table = not isinstance(torque, ConstantTorque)
        self.n_points = int(n_points)
        self.protocols = list(protocols)
        self.n_groups = len(self.protocols) * self.n_points
        self.dt, self.t_end, self.seed = float(dt), float(t_end), int(seed)
        self.initial_per_point = int(initial_per_point)
        self.switch_threshold, self.backend, self.compaction = switch_threshold, backend, compaction
        self.adaptive, self.target, self.target_width = adaptive, target, float(target_width)
        self.max_per_point = int(max_per_point) if adaptive else int(initial_per_point)
        self.max_rounds = int(max_rounds) if adaptive else 1
        self.confidence, self.min_switched_fraction = confidence, min_switched_fraction
        # finished trajectories (all rounds so far)
        self.done_group = np.zeros(0, dtype=np.int64)
        self.done_k = np.zeros(0, dtype=np.int64)
        self.done_step = np.zeros(0, dtype=np.int64)
        self.n_done = np.zeros(self.n_groups, dtype=np.int64)
        self.round_added: list[np.ndarray] = []
        self.trajectory_steps = 0
        self.trajectory_steps_uncompacted = 0
        self.round = 0
        self.finished = False
        self._ensemble = None
        self._round_group = self._round_k = None
        self._start_round(np.full(self.n_groups, self.initial_per_point, dtype=np.int64))

    # ------------------------------------------------------------------ rounds
    def _start_round(self, extra: np.ndarray) -> None:
        from gpuqd.first_passage import FirstPassageEnsemble

        extra = np.asarray(extra, dtype=np.int64)
        group = np.repeat(np.arange(self.n_groups, dtype=np.int64), extra)
        first_k = np.repeat(self.n_done, extra)
        k = np.arange(group.size, dtype=np.int64) - np.repeat(np.cumsum(extra) - extra, extra) + first_k
        protocol, point = np.divmod(group, self.n_points)
        ids = ID_BASE + group * ID_STRIDE + k  # = trajectory_ids_for(protocol, point, k, n_points)
        theta = np.array([PROTOCOLS[p] for p in self.protocols])[protocol] if group.size else np.zeros(0)
        self._round_group, self._round_k, self._round_extra = group, k, extra
        self._ensemble = FirstPassageEnsemble(
            self.magnet, self.torque, self.dt, self.t_end, self.seed, ids, theta,
            point_index=point if self.uses_table else None, switch_threshold=self.switch_threshold,
            backend=self.backend, compaction=self.compaction,
        )
        self._round_chunks = 0

    def _finish_round(self) -> None:
        ens = self._ensemble
        self.done_group = np.concatenate([self.done_group, self._round_group])
        self.done_k = np.concatenate([self.done_k, self._round_k])
        self.done_step = np.concatenate([self.done_step, ens.first_switch_step])
        self.n_done = self.n_done + self._round_extra
        self.round_added.append(self._round_extra.copy())
        self.trajectory_steps += ens.trajectory_steps
        # without compaction the batch runs until its last trajectory switched (or t_end)
        last = ens.first_switch_step.max() if ens.n_traj and np.all(ens.first_switch_step >= 0) else ens.steps_total
        self.trajectory_steps_uncompacted += int(last) * ens.n_traj
        self.round += 1
        extra = self.next_round_trajectories() if self.round < self.max_rounds else None
        if extra is None or not extra.any():
            self.finished, self._ensemble = True, None
        else:
            self._start_round(extra)

    def summary(self, times: np.ndarray | tuple = ()) -> dict[str, np.ndarray]:
        """switching_stats.summarize over the finished trajectories, one entry per group."""
        fpt = np.where(self.done_step >= 0, self.done_step * self.dt, np.inf)
        return ss.summarize(fpt, self.t_end, self.done_group, times, self.confidence, n_groups=self.n_groups,
                            min_switched_fraction=self.min_switched_fraction)

    def relative_width(self, summary: dict[str, np.ndarray]) -> np.ndarray:
        return ss.relative_ci_width(summary, self.target, self.confidence)

    def next_round_trajectories(self) -> np.ndarray:
        """Extra trajectories per group for the next adaptive round (zeros: converged or capped)."""
        width = self.relative_width(self.summary())
        return ss.additional_trajectories(width, self.n_done, target=self.target_width, n_max=self.max_per_point,
                                          min_batch=max(1, self.initial_per_point // 4))

    @property
    def done(self) -> bool:
        return self.finished

    def advance(self, chunk_steps: int) -> None:
        """One chunk of the current round (finishes the round and starts the next one when due)."""
        if self.finished:
            return
        self._ensemble.advance(chunk_steps)
        self._round_chunks += 1
        if self._ensemble.done:
            self._finish_round()

    @property
    def round_progress(self) -> tuple[int, int]:
        """(steps done, steps total) of the round in progress."""
        if self._ensemble is None:
            return 0, 0
        return self._ensemble.steps_done, self._ensemble.steps_total

    @property
    def active_trajectories(self) -> int:
        return 0 if self._ensemble is None else int(self._ensemble.active.size)

    @property
    def round_ensemble(self) -> Any:
        """The :class:`gpuqd.first_passage.FirstPassageEnsemble` of the round in progress (None when done);
        its trajectory_ids / initial_theta / point_index let an executor run the round in blocks."""
        return self._ensemble

    def complete_round(self, first_switch_step: np.ndarray, trajectory_steps: int) -> None:
        """Finish the round in progress with results computed elsewhere (e.g. in blocks on a cluster):
        ``first_switch_step`` (n,) in the order of the round's trajectories, ``trajectory_steps`` the work."""
        ens = self._ensemble
        first = np.asarray(first_switch_step, dtype=np.int64)
        if ens is None or first.shape != (ens.n_traj,):
            raise ValueError("complete_round: no round in progress or wrong number of trajectories")
        ens.set_state({"first_switch_step": first, "active": np.zeros(0, dtype=np.int64),
                       "steps_done": np.array(ens.steps_total), "trajectory_steps": np.array(trajectory_steps)})
        self._finish_round()

    # ------------------------------------------------------------------ checkpoints
    def get_state(self) -> dict[str, np.ndarray]:
        """All arrays needed to continue (round, finished records, in-progress ensemble state)."""
        rounds = np.array(self.round_added, dtype=np.int64).reshape(len(self.round_added), self.n_groups)
        out = {
            "round": np.array(self.round), "finished": np.array(self.finished),
            "done_group": self.done_group, "done_k": self.done_k, "done_step": self.done_step,
            "n_done": self.n_done, "round_added": rounds,
            "trajectory_steps": np.array(self.trajectory_steps, dtype=np.int64),
            "trajectory_steps_uncompacted": np.array(self.trajectory_steps_uncompacted, dtype=np.int64),
        }
        if self._ensemble is not None:
            out["round_extra"] = self._round_extra
            out.update({f"round.{k}": v for k, v in self._ensemble.get_state().items()})
        return out

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore :meth:`get_state` output (same arguments required)."""
        n_done = np.asarray(state["n_done"], dtype=np.int64)
        if n_done.shape != (self.n_groups,):
            raise ValueError("statistics state does not match the grid/protocols")
        self.round = int(state["round"])
        self.finished = bool(state["finished"])
        self.done_group = np.asarray(state["done_group"], dtype=np.int64)
        self.done_k = np.asarray(state["done_k"], dtype=np.int64)
        self.done_step = np.asarray(state["done_step"], dtype=np.int64)
        self.n_done = n_done
        self.round_added = [np.asarray(r, dtype=np.int64) for r in np.asarray(state["round_added"])]
        self.trajectory_steps = int(state["trajectory_steps"])
        self.trajectory_steps_uncompacted = int(state["trajectory_steps_uncompacted"])
        if self.finished:
            self._ensemble = None
            return
        self._start_round(np.asarray(state["round_extra"], dtype=np.int64))
        self._ensemble.set_state({k[len("round."):]: v for k, v in state.items() if k.startswith("round.")})

    # ------------------------------------------------------------------ results
    def first_passage_matrix(self) -> np.ndarray:
        """(n_groups, max n) first-passage times (1/Γ): inf censored, NaN padding."""
        width = int(self.n_done.max()) if self.n_groups else 0
        out = np.full((self.n_groups, width), np.nan)
        out[self.done_group, self.done_k] = np.where(self.done_step >= 0, self.done_step * self.dt, np.inf)
        return out


# --------------------------------------------------------------------------------------- pipeline stage
def _magnet(data: dict):
    from gpuqd.dynamics import Macrospin

    mg = data["magnet"]
    return Macrospin(
        S=mg["S"], KV=mg["KV"], alpha=mg["alpha"], sigma2=mg["sigma2"], T_m=mg["T_m"],
        K_cubic=mg["K_cubic"] if mg["anisotropy"] == "cubic" else 0.0, field=tuple(mg["field"]), free=mg["free"],
    )


def _survival_points(data: dict, axes: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat grid indices nearest to the requested survival points, and (requested, used) over U."""
    st, U = data["statistics"], data["transport"]["U"]
    unit = U if U > 0 else 1.0
    eps, V = axes["eps_tilde"], axes["V"]
    idx, req, used = [], [], []
    for v in st["survival_V"]:
        e_req, v_req = st["survival_eps_tilde"] * unit, v * unit
        i, j = int(np.argmin(np.abs(eps - e_req))), int(np.argmin(np.abs(V - v_req)))
        idx.append(i * V.size + j)
        req.append((e_req, v_req))
        used.append((eps[i], V[j]))
    norm = U if U > 0 else np.nan
    return np.array(idx, dtype=np.int64), np.array(req) / norm, np.array(used) / norm


def make_adaptive_run(data: dict, table: Any, n_points: int, backend: str) -> AdaptiveSwitchingRun:
    """The :class:`AdaptiveSwitchingRun` described by a resolved configuration."""
    from gpuqd.dynamics import ConstantTorque

    st, dyn, tq = data["statistics"], data["dynamics"], data["torque"]
    torque = table if tq["model"] == "transport" else ConstantTorque(tq["field_like"], tq["damping_like"])
    return AdaptiveSwitchingRun(
        _magnet(data), torque, n_points, protocol_names(data), dyn["dt"], statistics_t_end(data), data["seed"],
        st["trajectories_per_point"], switch_threshold=dyn["switch_threshold"], backend=backend,
        compaction=st["compaction"], adaptive=st["adaptive"], target=st["target"],
        target_width=st["target_relative_ci_width"], max_per_point=st["max_trajectories_per_point"],
        max_rounds=st["max_rounds"], confidence=st["confidence"],
        min_switched_fraction=st["min_switched_fraction"],
    )


def switching_times_stage(cfg: Any, backend: str, table: Any, axes: dict, checkpoint_dir: Path, reporter: Any,
                          config_hash: str) -> tuple[dict[str, np.ndarray], list[str], dict[str, float]]:
    """Run (or resume) the statistics stage; returns (result arrays, notes, throughput numbers)."""
    from gpuqd.pipeline import RunError, _maybe_kill

    data = cfg.data
    n_eps, n_V = axes["eps_tilde"].size, axes["V"].size
    n_points = n_eps * n_V
    try:
        run = make_adaptive_run(data, table, n_points, backend)
    except ValueError as exc:
        raise RunError(f"statistics: {exc} (lower dynamics.dt; the transport results are cached)") from None
    state_path = Path(checkpoint_dir) / STATE_FILE
    if state_path.exists():
        with np.load(state_path, allow_pickle=False) as d:
            stored = str(d["_config_hash"]) if "_config_hash" in d.files else ""
            state = {k: d[k] for k in d.files if not k.startswith("_")}
        if stored != config_hash:
            raise RunError(f"{state_path}: checkpoint belongs to a different configuration; use --force")
        try:
            run.set_state(state)
        except (ValueError, KeyError) as exc:
            raise RunError(f"{state_path}: cannot resume from this checkpoint ({exc}); use --force") from None
        reporter.message(f"switching times: resuming in round {run.round}")
    chunk = data["statistics"]["chunk_steps"]
    t0, steps0 = time.perf_counter(), run.trajectory_steps
    n_saved = 0
    current_round = -1
    while not run.done:
        if run.round != current_round:
            if current_round >= 0:
                reporter.finish()
            current_round = run.round
            done, total = run.round_progress
            reporter.start(f"switching times (round {run.round})", total, "steps", done=done,
                           work_per_unit=float(max(run.active_trajectories, 1)))
        run.advance(chunk)
        atomic_savez(state_path, _config_hash=np.array(config_hash), **run.get_state())
        n_saved += 1
        if run.round == current_round:
            reporter.update(run.round_progress[0])
        _maybe_kill("switching_times", n_saved)
    if current_round >= 0:
        reporter.finish()
    elapsed = time.perf_counter() - t0
    throughput = {}
    if run.trajectory_steps > steps0:
        throughput["switching_trajectory_steps_per_s"] = (run.trajectory_steps - steps0) / max(elapsed, 1e-9)
    arrays = result_arrays(run, data, axes)
    notes = [
        "switching_*: first-passage statistics (spec §10) from gpuqd.switching_stats; trajectories of each "
        "protocol start exactly at θ = 0 (P→AP) or θ = π (AP→P) and run until their first switch or t_end.",
        f"switching_* trajectories: {int(run.n_done.sum())} in {run.round} round(s); compaction "
        f"{'on' if run.compaction else 'off'}: {run.trajectory_steps} trajectory-steps "
        f"(without compaction {run.trajectory_steps_uncompacted}).",
    ]
    return arrays, notes, throughput


def result_arrays(run: AdaptiveSwitchingRun, data: dict, axes: dict) -> dict[str, np.ndarray]:
    """The switching_* result arrays (see :data:`SWITCHING_VARIABLES`)."""
    n_eps, n_V = axes["eps_tilde"].size, axes["V"].size
    n_prot = len(run.protocols)
    shape = (n_prot, n_eps, n_V)
    t_end = run.t_end
    prob_times = np.asarray(data["statistics"]["probability_fractions"], dtype=float) * t_end
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
    idx, req, used = _survival_points(data, axes)
    t_grid = np.linspace(0.0, t_end, SURVIVAL_TIME_POINTS)
    curve = km.evaluate(t_grid, run.confidence)
    groups = (np.arange(n_prot)[:, None] * run.n_points + idx[None, :])  # (protocol, survival_point)
    edges = np.linspace(0.0, t_end, HISTOGRAM_BINS + 1)
    counts = np.zeros(groups.shape + (HISTOGRAM_BINS,), dtype=np.int64)
    censored = np.zeros(groups.shape, dtype=np.int64)
    for q in range(n_prot):
        for s in range(idx.size):
            times = fpt[run.done_group == groups[q, s]]
            counts[q, s] = np.histogram(times[np.isfinite(times)], bins=edges)[0]
            censored[q, s] = int(np.isinf(times).sum())
    out.update({
        "switching_survival_time": t_grid,
        "switching_survival": curve["survival"][groups],
        "switching_survival_ci_low": curve["low"][groups],
        "switching_survival_ci_high": curve["high"][groups],
        "switching_survival_point_over_U": used,
        "switching_survival_requested_over_U": req,
        "switching_histogram_edges": edges,
        "switching_histogram_counts": counts,
        "switching_histogram_censored": censored,
    })
    return out

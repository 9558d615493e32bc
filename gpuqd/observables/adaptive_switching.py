"""Adaptive first-passage ensembles over groups (protocol, grid point): the sampling policy of the
switching-time statistics (docs/physics.md §10); no files, no config.

Per group (protocol q, grid point p) trajectories run until their first hysteretic switch or the
censoring time ``t_end`` (:class:`gpuqd.observables.first_passage.FirstPassageEnsemble`, compacting).
After each round the relative CI width of the mean time (or the rate) is compared with the target;
groups that miss it get more trajectories (width ∝ 1/√N, :func:`switching_stats.additional_trajectories`)
until the target, ``max_per_point`` or ``max_rounds`` is reached.

Trajectory k of point p under protocol q has the global noise id
``ID_BASE + (q · n_points + p) · ID_STRIDE + k``: the ensemble of a point is the same whatever the
round structure, and independent of the ``switching_diagram`` trajectories (ids < ID_BASE).

Units: energies Γ, times 1/Γ, rates Γ.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from gpuqd.observables import switching_stats as ss

if TYPE_CHECKING:
    from gpuqd.observables.first_passage import FirstPassageEnsemble

__all__ = [
    "PROTOCOLS",
    "ID_BASE",
    "ID_STRIDE",
    "AdaptiveSwitchingRun",
    "protocol_list",
    "run_first_passage_block",
    "trajectory_ids_for",
]

#: protocol name → initial polar angle (rad)
PROTOCOLS: Mapping[str, float] = MappingProxyType({"P_to_AP": 0.0, "AP_to_P": math.pi})
#: global trajectory ids of this ensemble start here (the switching-diagram ensemble uses ids < n_traj)
ID_BASE = 1 << 40
#: ids reserved per (protocol, point): ≥ the largest allowed trajectories per point (100000)
ID_STRIDE = 1 << 17


def protocol_list(protocol: str) -> list[str]:
    """Protocols run for a ``protocol`` setting ('both' → both)."""
    return list(PROTOCOLS) if protocol == "both" else [protocol]


def trajectory_ids_for(protocol_index: int, point: np.ndarray, k: np.ndarray, n_points: int) -> np.ndarray:
    """Global noise ids of trajectories k at grid points ``point`` under protocol ``protocol_index``."""
    point = np.asarray(point, dtype=np.int64)
    k = np.asarray(k, dtype=np.int64)
    return ID_BASE + (protocol_index * n_points + point) * ID_STRIDE + k


def run_first_passage_block(
    magnet: Any,
    torque: Any,
    dt: float,
    t_end: float,
    seed: int,
    ids: np.ndarray,
    theta: np.ndarray,
    point_index: np.ndarray | None,
    *,
    switch_threshold: float,
    backend: str,
    compaction: bool,
    chunk_steps: int,
    threads: int | None = None,
) -> tuple[np.ndarray, int]:
    """One work unit: trajectories ``ids`` (start angles ``theta``, table points ``point_index``) until their
    first switch or t_end → (first-switch steps, −1 for none; trajectory-steps integrated). ``threads``:
    OpenMP threads of the cpu engine (None: its default)."""
    from gpuqd.observables.first_passage import FirstPassageEnsemble, first_passage_spec

    spec = first_passage_spec(magnet, torque, dt, t_end, seed, ids, theta, point_index, switch_threshold)
    ens = FirstPassageEnsemble(spec, backend=backend, threads=threads, compaction=compaction)
    while not ens.done:
        ens.advance(chunk_steps)
    return ens.first_switch_step, ens.trajectory_steps


class AdaptiveSwitchingRun:
    """Rounds of compacting first-passage ensembles over groups (protocol, point), resumable.

    Parameters (units: energies Γ, times 1/Γ)
    ----------
    magnet, torque : model and torque provider (TorqueTable with one point per grid point, or
        ConstantTorque: the grid points then share the torque).
    n_points : grid points; protocols : protocol names (keys of :data:`PROTOCOLS`).
    dt, t_end, seed, switch_threshold, backend, threads, compaction : as in FirstPassageEnsemble
        (``threads``: OpenMP threads of the cpu engine, None: its default; results do not depend on it).
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
        threads: int | None = None,
        compaction: bool = True,
        adaptive: bool = False,
        target: str = "mean_time",
        target_width: float = 0.2,
        max_per_point: int = 1000,
        max_rounds: int = 8,
        confidence: float = 0.95,
        min_switched_fraction: float = 1.0,
    ) -> None:
        from gpuqd.dynamics import ConstantTorque, EnsembleSpec

        #: the ensemble of every round: magnet, torque, dt, t_end, seed, switch_threshold (its n_traj,
        #: trajectory_ids, initial_theta and point_index are the round's: :func:`first_passage.block_spec`)
        self.spec = EnsembleSpec(
            magnet, torque, 0, float(dt), float(t_end), int(seed), switch_threshold=switch_threshold
        )
        self.uses_table = not isinstance(torque, ConstantTorque)
        self.n_points = int(n_points)
        self.protocols = list(protocols)
        self.n_groups = len(self.protocols) * self.n_points
        self.dt, self.t_end = float(dt), float(t_end)
        self.initial_per_point = int(initial_per_point)
        self.backend, self.threads, self.compaction = backend, threads, compaction
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
        self._ensemble: FirstPassageEnsemble | None = None
        self._round_group = self._round_k = np.zeros(0, dtype=np.int64)
        self._start_round(np.full(self.n_groups, self.initial_per_point, dtype=np.int64))

    # ------------------------------------------------------------------ rounds
    def _start_round(self, extra: np.ndarray) -> None:
        from gpuqd.observables.first_passage import FirstPassageEnsemble, block_spec

        extra = np.asarray(extra, dtype=np.int64)
        group = np.repeat(np.arange(self.n_groups, dtype=np.int64), extra)
        first_k = np.repeat(self.n_done, extra)
        k = np.arange(group.size, dtype=np.int64) - np.repeat(np.cumsum(extra) - extra, extra) + first_k
        protocol, point = np.divmod(group, self.n_points)
        ids = ID_BASE + group * ID_STRIDE + k  # = trajectory_ids_for(protocol, point, k, n_points)
        theta = np.array([PROTOCOLS[p] for p in self.protocols])[protocol] if group.size else np.zeros(0)
        self._round_group, self._round_k, self._round_extra = group, k, extra
        self._ensemble = FirstPassageEnsemble(
            block_spec(self.spec, ids, theta, point if self.uses_table else None),
            backend=self.backend,
            threads=self.threads,
            compaction=self.compaction,
        )
        self._round_chunks = 0

    @property
    def _current(self) -> FirstPassageEnsemble:
        """The ensemble of the round in progress."""
        if self._ensemble is None:
            raise RuntimeError("no round in progress (the run is finished)")
        return self._ensemble

    def _finish_round(self) -> None:
        self.complete_round(self._current.first_switch_step, self._current.trajectory_steps)

    def round_work(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(global noise ids, initial θ, table point index or None) of the round in progress.

        An executor may run these trajectories in blocks (any partition) with
        :func:`run_first_passage_block` and hand the merged first-switch steps to :meth:`complete_round`
        instead of calling :meth:`advance`.
        """
        ens = self._current
        return ens.trajectory_ids, ens.initial_theta, ens.point_index

    def complete_round(self, first_switch_step: np.ndarray, trajectory_steps: int) -> None:
        """Finish the round in progress from the first-switch steps of its trajectories (−1: none; order of
        :meth:`round_work`) and the trajectory-steps integrated; starts the next round when due."""
        first_switch_step = np.asarray(first_switch_step, dtype=np.int64)
        n = first_switch_step.size
        self.done_group = np.concatenate([self.done_group, self._round_group])
        self.done_k = np.concatenate([self.done_k, self._round_k])
        self.done_step = np.concatenate([self.done_step, first_switch_step])
        self.n_done = self.n_done + self._round_extra
        self.round_added.append(self._round_extra.copy())
        self.trajectory_steps += int(trajectory_steps)
        # without compaction the batch runs until its last trajectory switched (or t_end)
        last = first_switch_step.max() if n and np.all(first_switch_step >= 0) else self._current.steps_total
        self.trajectory_steps_uncompacted += int(last) * n
        self.round += 1
        extra = self.next_round_trajectories() if self.round < self.max_rounds else None
        if extra is None or not extra.any():
            self.finished, self._ensemble = True, None
        else:
            self._start_round(extra)

    def summary(self, times: np.ndarray | tuple = ()) -> dict[str, np.ndarray]:
        """switching_stats.summarize over the finished trajectories, one entry per group."""
        fpt = np.where(self.done_step >= 0, self.done_step * self.dt, np.inf)
        return ss.summarize(
            fpt,
            self.t_end,
            self.done_group,
            times,
            self.confidence,
            n_groups=self.n_groups,
            min_switched_fraction=self.min_switched_fraction,
        )

    def relative_width(self, summary: dict[str, np.ndarray]) -> np.ndarray:
        return ss.relative_ci_width(summary, self.target, self.confidence)

    def next_round_trajectories(self) -> np.ndarray:
        """Extra trajectories per group for the next adaptive round (zeros: converged or capped)."""
        width = self.relative_width(self.summary())
        return ss.additional_trajectories(
            width,
            self.n_done,
            target=self.target_width,
            n_max=self.max_per_point,
            min_batch=max(1, self.initial_per_point // 4),
        )

    @property
    def done(self) -> bool:
        return self.finished

    def advance(self, chunk_steps: int) -> None:
        """One chunk of the current round (finishes the round and starts the next one when due)."""
        if self.finished:
            return
        self._current.advance(chunk_steps)
        self._round_chunks += 1
        if self._current.done:
            self._finish_round()

    @property
    def round_progress(self) -> tuple[int, int]:
        """(steps done, steps total) of the round in progress."""
        if self._ensemble is None:
            return 0, 0
        return self._current.steps_done, self._current.steps_total

    @property
    def active_trajectories(self) -> int:
        return 0 if self._ensemble is None else int(self._current.active.size)

    @property
    def round_ensemble(self) -> Any:
        """The :class:`gpuqd.observables.first_passage.FirstPassageEnsemble` of the round in progress (None
        when done); its trajectory_ids / initial_theta / point_index let an executor run it in blocks."""
        return self._ensemble

    # ------------------------------------------------------------------ checkpoints
    def get_state(self) -> dict[str, np.ndarray]:
        """All arrays needed to continue (round, finished records, in-progress ensemble state)."""
        rounds = np.array(self.round_added, dtype=np.int64).reshape(len(self.round_added), self.n_groups)
        out = {
            "round": np.array(self.round),
            "finished": np.array(self.finished),
            "done_group": self.done_group,
            "done_k": self.done_k,
            "done_step": self.done_step,
            "n_done": self.n_done,
            "round_added": rounds,
            "trajectory_steps": np.array(self.trajectory_steps, dtype=np.int64),
            "trajectory_steps_uncompacted": np.array(self.trajectory_steps_uncompacted, dtype=np.int64),
        }
        if self._ensemble is not None:
            out["round_extra"] = self._round_extra
            out.update({f"round.{k}": v for k, v in self._current.get_state().items()})
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
        self._current.set_state({k[len("round.") :]: v for k, v in state.items() if k.startswith("round.")})

    # ------------------------------------------------------------------ results
    def first_passage_matrix(self) -> np.ndarray:
        """(n_groups, max n) first-passage times (1/Γ): inf censored, NaN padding."""
        width = int(self.n_done.max()) if self.n_groups else 0
        out = np.full((self.n_groups, width), np.nan)
        out[self.done_group, self.done_k] = np.where(self.done_step >= 0, self.done_step * self.dt, np.inf)
        return out

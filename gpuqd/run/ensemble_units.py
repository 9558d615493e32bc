"""Ensemble dynamics as work units: blocks of global trajectory ids advanced in time chunks.

An ensemble of ``n_traj`` trajectories (global ids ``0 … n_traj − 1``) is cut into contiguous blocks;
unit (b, c) advances block b by one time chunk of ``chunk_steps`` steps, starting from the engine
state unit (b, c − 1) returned. The noise of trajectory j at step k depends on (seed, j, k) only
(docs/physics.md §11), every per-trajectory observable (switch counters, dwell times, window sums,
θ samples) is updated elementwise, so the merged block states equal, bit for bit, the state of one
runner over the whole ensemble; :func:`run_ensemble_units` then lets that runner compute the result.

Why (block, time-chunk) units rather than full-time-range blocks: the NumPy engine costs a fixed
≈ 0.1 ms per step plus ≈ 0.5 µs per trajectory-step (``benchmarks/scaling.py`` measures both), so a
block must hold a few hundred trajectories to run efficiently; with only one or a few blocks per
worker a full-time-range unit would be hours of work lost to a crash. Time chunks keep the blocks
large and make the crash granularity ``chunk_steps`` (the run's checkpoint interval), at a measured
cost of a few ms per unit (state transfer, runner set-up, atomic write).

Each block runs with a torque table reduced to the grid points its trajectories use (same rows, so
the same interpolated torques), so the table sent to the workers once is the only full copy there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gpuqd.dynamics import ConstantTorque, EnsembleRunner, Macrospin
from gpuqd.dynamics.config import STATE_KEYS
from gpuqd.run.execution import ChainStats, Executor, UnitStore, run_chains
from gpuqd.transport.torque_table import TorqueTable

__all__ = ["MIN_BLOCK_TRAJECTORIES", "EnsembleSpec", "advance_block", "merge_block_states", "plan_blocks",
           "reduce_table", "run_ensemble_units"]

#: smallest block worth a worker (the per-step fixed cost equals ~200 trajectory-steps on NumPy)
MIN_BLOCK_TRAJECTORIES = 64
_PER_TRAJECTORY = tuple(k for k in STATE_KEYS if k not in ("samples", "steps_done"))


@dataclass(frozen=True, eq=False)
class EnsembleSpec:
    """The arguments of one :class:`gpuqd.dynamics.EnsembleRunner` over the whole ensemble (picklable).

    Units: dt, t_end, average_from in 1/Γ; initial_theta in rad. ``sample_trajectories`` are global
    ids (= indices, the ensemble starts at id 0) of the trajectories whose θ(t) is recorded.
    """

    magnet: Macrospin
    torque: ConstantTorque | TorqueTable
    n_traj: int
    dt: float
    t_end: float
    seed: int
    backend: str = "numpy"
    initial_theta: np.ndarray | float = 0.0
    switch_threshold: float = 0.5
    average_from: float | None = None
    point_index: np.ndarray | None = None
    sample_every: int | None = None
    sample_trajectories: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def runner(self) -> EnsembleRunner:
        """The runner of the whole ensemble (validates dt against all points; merges results)."""
        return EnsembleRunner(
            self.magnet, self.torque, self.n_traj, self.dt, self.t_end, self.seed, self.backend,
            initial_theta=self.initial_theta, switch_threshold=self.switch_threshold,
            average_from=self.average_from, point_index=self.point_index, trajectory_offset=0,
            sample_every=self.sample_every, sample_trajectories=np.asarray(self.sample_trajectories, np.int64),
        )

    def block_samples(self, lo: int, hi: int) -> np.ndarray:
        """Block-local indices of the sampled trajectories inside [lo, hi), in the order of the spec."""
        ids = np.asarray(self.sample_trajectories, dtype=np.int64)
        return ids[(ids >= lo) & (ids < hi)] - lo

    def block_runner(self, lo: int, hi: int) -> EnsembleRunner:
        """Runner of trajectories lo … hi−1 (global ids), with the table reduced to their points."""
        full = None if self.point_index is None else np.asarray(self.point_index, dtype=np.int64)[lo:hi]
        torque, point_index = reduce_table(self.torque, full, hi - lo)
        theta = self.initial_theta
        if np.ndim(theta):
            theta = np.asarray(theta, dtype=float)[lo:hi]
        samples = self.block_samples(lo, hi)
        return EnsembleRunner(
            self.magnet, torque, hi - lo, self.dt, self.t_end, self.seed, self.backend, initial_theta=theta,
            switch_threshold=self.switch_threshold, average_from=self.average_from, point_index=point_index,
            trajectory_offset=lo, sample_every=self.sample_every if samples.size else None,
            sample_trajectories=samples if samples.size else None,
        )


def reduce_table(torque: ConstantTorque | TorqueTable, point_index: np.ndarray | None, n_traj: int
                 ) -> tuple[ConstantTorque | TorqueTable, np.ndarray | None]:
    """(torque, point_index) for trajectories at table points ``point_index``: a table of only the points
    used (the same rows, so the same interpolated torques) and the indices into it; constant torques as is."""
    if not isinstance(torque, TorqueTable):
        return torque, None
    full = np.zeros(n_traj, dtype=np.int64) if point_index is None else np.asarray(point_index, dtype=np.int64)
    used = np.unique(full)
    reduced = TorqueTable(field_like=torque.field_like[used], damping_like=torque.damping_like[used],
                          charge_current=torque.charge_current[used], metadata={"rows_of": "block"})
    return reduced, np.searchsorted(used, full)


def plan_blocks(n_traj: int, n_workers: int, min_block: int = MIN_BLOCK_TRAJECTORIES) -> list[tuple[int, int]]:
    """Contiguous [lo, hi) blocks: one per worker, none smaller than ``min_block`` (unless n_traj is)."""
    n_blocks = max(1, min(int(n_workers), n_traj // max(1, min_block)))
    edges = np.linspace(0, n_traj, n_blocks + 1).round().astype(np.int64)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def advance_block(spec: EnsembleSpec, chain: int, link: int, lo: int, hi: int, chunk_steps: int,
                  state: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    """Work unit: block [lo, hi) from ``state`` (None: step 0) advanced by ``chunk_steps`` steps."""
    runner = spec.block_runner(lo, hi)
    if state is not None:
        runner.set_state(state)
    runner.advance(chunk_steps)
    return runner.get_state()


def merge_block_states(spec: EnsembleSpec, blocks: list[tuple[int, int]], states: list[dict[str, np.ndarray]],
                       fingerprint: int) -> dict[str, np.ndarray]:
    """The whole ensemble's engine state from the block states (``fingerprint``: the full runner's)."""
    out = {k: np.concatenate([np.asarray(s[k]) for s in states]) for k in _PER_TRAJECTORY}
    steps = {int(s["steps_done"]) for s in states}
    if len(steps) != 1:
        raise ValueError(f"block states are at different steps {sorted(steps)}")
    ids = np.asarray(spec.sample_trajectories, dtype=np.int64)
    counters = [0] * len(blocks)
    sample_rows = []
    for j in ids:  # the k-th sampled id inside a block is row k of that block's samples
        b = next(i for i, (lo, hi) in enumerate(blocks) if lo <= j < hi)
        sample_rows.append(np.asarray(states[b]["samples"])[counters[b]])
        counters[b] += 1
    n_samples = max((np.shape(s["samples"])[1] for s in states if np.size(s["samples"])), default=0)
    out["samples"] = np.stack(sample_rows) if sample_rows else np.zeros((0, n_samples, 4))
    out["steps_done"] = np.array(steps.pop(), dtype=np.int64)
    out["config_fingerprint"] = np.array(fingerprint, dtype=np.uint64)
    return out


def run_ensemble_units(executor: Executor, spec: EnsembleSpec, chunk_steps: int, store: UnitStore,
                       reporter: Any = None, stage: str = "dynamics", n_blocks: int | None = None
                       ) -> tuple[Any, ChainStats, list[tuple[int, int]]]:
    """Run the ensemble of ``spec`` as (block, chunk) units on ``executor``; returns
    (:class:`gpuqd.dynamics.EnsembleResult` identical to one runner's, stats, blocks).

    ``store`` holds the finished units (resume). ValueError (e.g. dt too large) is raised before any unit.
    """
    full = spec.runner()  # validates the whole ensemble first
    steps_total = full.steps_total
    if n_blocks is None:
        blocks = plan_blocks(spec.n_traj, executor.n_workers)
    else:
        blocks = plan_blocks(spec.n_traj, n_blocks, min_block=1)
    n_links = max(1, math.ceil(steps_total / chunk_steps))
    chunk = int(chunk_steps)

    def start(chain: int) -> tuple:
        lo, hi = blocks[chain]
        return (lo, hi, chunk, None)

    def following(chain: int, link: int, state: dict[str, np.ndarray]) -> tuple | None:
        if int(state["steps_done"]) >= steps_total:
            return None
        lo, hi = blocks[chain]
        return (lo, hi, chunk, state)

    per_unit = spec.n_traj / len(blocks) * min(chunk, steps_total)
    states, stats = run_chains(executor, advance_block, spec, len(blocks), n_links, store, start,
                               following, stage, reporter, work_per_unit=per_unit)
    full.set_state(merge_block_states(spec, blocks, states, full.fingerprint))
    return full.result(), stats, blocks

"""Ensemble dynamics as work units: blocks of global trajectory ids advanced in time chunks.

An ensemble stage's work (:class:`gpuqd.run.execute.executor.EnsembleWork`, trajectories with global ids
``0 … n_items − 1``) is cut into contiguous blocks; unit (b, c) advances block b
(``work.start(ids)``, an :class:`gpuqd.dynamics.EnsembleRunner`) by one chunk of ``work.chunk_steps``
steps from the engine state unit (b, c − 1) returned. The noise of trajectory j at step k depends on
(seed, j, k) only (docs/physics.md §11) and every per-trajectory observable (switch counters, dwell
times, window sums, θ samples) is updated elementwise, so the merged block states equal, bit for bit,
the state of one runner over the whole ensemble; that runner then gives ``work.collect``'s result.

Why (block, time-chunk) units rather than full-time-range blocks: the NumPy engine costs a fixed
0.1–0.6 ms per step (Python overhead of the vectorised step) plus 0.5–0.9 µs per trajectory-step
(measured; ``benchmarks/scaling.py`` reports the loss of halving a batch), so a block must hold
hundreds of trajectories to run efficiently, i.e. there are only about as many blocks as workers; a
full-time-range unit would then be a large fraction of the run lost to a crash, and progress would
move in a few big steps. Time chunks keep the blocks large and make the crash granularity
``chunk_steps`` (the run's checkpoint interval). The cost per unit in the worker (runner set-up and
state copy, quickstart block of 312 trajectories) is ≈ 50 ms, against seconds of work per chunk.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gpuqd.dynamics.engine_config import STATE_KEYS
from gpuqd.run.execute.execution import ChainStats, UnitExecutor, UnitStore, run_chains

__all__ = [
    "MIN_BLOCK_TRAJECTORIES",
    "advance_block",
    "merge_block_states",
    "plan_blocks",
    "run_work_in_blocks",
    "units_store",
]

#: smallest block worth a worker (the per-step fixed cost equals ~200 trajectory-steps on NumPy)
MIN_BLOCK_TRAJECTORIES = 64
_PER_TRAJECTORY = tuple(k for k in STATE_KEYS if k not in ("samples", "steps_done"))
_SAMPLE_IDS = "_sample_ids"


def plan_blocks(n_traj: int, n_workers: int, min_block: int = MIN_BLOCK_TRAJECTORIES) -> list[tuple[int, int]]:
    """Contiguous [lo, hi) blocks: one per worker, none smaller than ``min_block`` (unless n_traj is)."""
    n_blocks = max(1, min(int(n_workers), n_traj // max(1, min_block)))
    edges = np.linspace(0, n_traj, n_blocks + 1).round().astype(np.int64)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def units_store(checkpoint: Any) -> UnitStore:
    """The unit files of a stage: ``<checkpoint dir>/units/<stage hook>/``, tied to the configuration hash."""
    return UnitStore(checkpoint.path.parent / "units" / checkpoint.hook, checkpoint.config_hash)


def advance_block(
    work: Any, chain: int, link: int, lo: int, hi: int, state: dict[str, np.ndarray] | None
) -> dict[str, np.ndarray]:
    """Work unit: trajectories lo … hi−1 of ``work`` from ``state`` (None: step 0), one chunk further.

    Returns the engine state plus the global ids of the block's θ-sampled trajectories (row order)."""
    runner = work.start(np.arange(lo, hi, dtype=np.int64))
    if state is not None:
        runner.set_state({k: v for k, v in state.items() if k != _SAMPLE_IDS})
    runner.advance(work.chunk_steps)
    out = runner.get_state()
    out[_SAMPLE_IDS] = runner.config.global_ids[runner.config.sample_trajectories]
    return out


def merge_block_states(whole: Any, states: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The state of ``whole`` (the runner of all trajectories, ids 0 … n−1) from its blocks' states
    (contiguous blocks in id order; θ sample rows matched by global id)."""
    out = {k: np.concatenate([np.asarray(s[k]) for s in states]) for k in _PER_TRAJECTORY}
    steps = {int(s["steps_done"]) for s in states}
    if len(steps) != 1:
        raise ValueError(f"block states are at different steps {sorted(steps)}")
    rows: dict[int, np.ndarray] = {}
    for s in states:
        for r, j in enumerate(np.asarray(s[_SAMPLE_IDS], dtype=np.int64)):
            rows[int(j)] = np.asarray(s["samples"])[r]
    cfg = whole.config
    wanted = cfg.global_ids[cfg.sample_trajectories]
    reference = whole.get_state()["samples"]
    out["samples"] = np.stack([rows[int(j)] for j in wanted]) if wanted.size else reference
    out["steps_done"] = np.array(steps.pop(), dtype=np.int64)
    out["config_fingerprint"] = np.array(whole.fingerprint, dtype=np.uint64)
    return out


def run_work_in_blocks(
    executor: UnitExecutor, work: Any, whole: Any, checkpoint: Any, reporter: Any, n_blocks: int | None = None
) -> Any:
    """Run ``work`` (whose whole-ensemble runner is ``whole``) as (block, chunk) units; ``work.collect`` of
    the merged state. Finished units are stored next to ``checkpoint`` (resume computes only the rest)."""
    result, _ = run_work_in_blocks_with_stats(executor, work, whole, checkpoint, reporter, n_blocks)
    return result


def run_work_in_blocks_with_stats(
    executor: UnitExecutor, work: Any, whole: Any, checkpoint: Any, reporter: Any, n_blocks: int | None = None
) -> tuple[Any, ChainStats]:
    """:func:`run_work_in_blocks` and its :class:`gpuqd.run.execute.execution.ChainStats`."""
    n_traj, steps_total, chunk = work.n_items, whole.steps_total, int(work.chunk_steps)
    if n_blocks is None:
        blocks = plan_blocks(n_traj, executor.n_workers)
    else:
        blocks = plan_blocks(n_traj, n_blocks, min_block=1)
    store = units_store(checkpoint)
    stage = checkpoint.hook

    def following(chain: int, link: int, state: dict[str, np.ndarray]) -> tuple | None:
        return None if int(state["steps_done"]) >= steps_total else blocks[chain] + (state,)

    per_unit = n_traj / len(blocks) * min(chunk, max(steps_total, 1))
    try:
        states, stats = run_chains(
            executor,
            advance_block,
            work,
            len(blocks),
            max(1, math.ceil(steps_total / chunk)),
            store,
            lambda c: blocks[c] + (None,),
            following,
            stage,
            reporter,
            work_per_unit=per_unit,
        )
    except ValueError as exc:
        from gpuqd.run.errors import RunError

        raise RunError(f"{store.directory}: cannot resume from these units ({exc}); use --force") from None
    if reporter is not None:
        reporter.message(
            f"{stage}: {len(blocks)} block(s) of trajectories × time chunks of {chunk} steps; "
            f"units from the run directory {stats.reused}, computed {stats.computed}"
        )
    if hasattr(work, "merge"):  # the work's own merge of block results (its one source of truth)
        parts = []
        for (lo, hi), state in zip(blocks, states, strict=True):
            runner = work.start(np.arange(lo, hi, dtype=np.int64))
            runner.set_state({k: v for k, v in state.items() if k != _SAMPLE_IDS})
            parts.append(work.collect(runner))
        return work.merge(parts), stats
    whole.set_state(merge_block_states(whole, states))
    return work.collect(whole), stats

"""Switching-time statistics as work units: each adaptive round's first-passage ensemble in blocks.

A round of :class:`gpuqd.switching_times.AdaptiveSwitchingRun` is one compacting first-passage
ensemble (:class:`gpuqd.first_passage.FirstPassageEnsemble`) over explicit global trajectory ids.
Here it is cut into blocks, block b holding every n-th trajectory of the round (interleaved, so that
fast- and slow-switching grid points are spread over all blocks and the workers finish together);
unit (b, c) advances block b by one chunk of ``statistics.chunk_steps`` steps and compacts it, from
the state unit (b, c − 1) returned. A trajectory's noise depends only on (seed, id, step)
(docs/physics.md §11) and compaction happens at the same chunk boundaries in every block, so the
first-passage steps and the integrated trajectory-steps do not depend on the partition; the client
puts them back in round order and lets the adaptive run finish the round (next round, statistics).

Units are stored per round under ``<checkpoint dir>/units/switching_times/round_NNNN/``; the adaptive
run's state is saved at each round boundary (the stage's checkpoint), so ``--resume`` continues with
the missing units of the round in progress.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gpuqd.dynamics import EnsembleSpec
from gpuqd.observables.first_passage import FirstPassageEnsemble, block_spec
from gpuqd.run.execute.ensemble_units import MIN_BLOCK_TRAJECTORIES
from gpuqd.run.execute.execution import ChainStats, UnitExecutor, UnitStore, run_chains

__all__ = [
    "FirstPassageSpec",
    "advance_first_passage_block",
    "is_round_based",
    "run_round_units",
    "run_rounds_in_blocks",
]


@dataclass(frozen=True, eq=False)
class FirstPassageSpec:
    """Model and settings shared by all blocks of a round (picklable; sent once per worker).

    ``ensemble``: the run's :class:`~gpuqd.dynamics.EnsembleSpec` (magnet, torque — the run's TorqueTable or
    ConstantTorque —, dt and t_end in 1/Γ, seed, switch_threshold; each block sets its own trajectories);
    ``threads``: OpenMP threads of the cpu engine (None: its default).
    """

    ensemble: EnsembleSpec
    backend: str
    compaction: bool
    chunk_steps: int
    threads: int | None = None


def _ensemble(
    spec: FirstPassageSpec, ids: np.ndarray, theta: np.ndarray, point_index: np.ndarray | None
) -> FirstPassageEnsemble:
    return FirstPassageEnsemble(
        block_spec(spec.ensemble, ids, theta, point_index),
        backend=spec.backend,
        threads=spec.threads,
        compaction=spec.compaction,
    )


def advance_first_passage_block(
    spec: FirstPassageSpec,
    chain: int,
    link: int,
    ids: np.ndarray,
    theta: np.ndarray,
    point_index: np.ndarray | None,
    state: dict[str, np.ndarray] | None,
) -> dict[str, np.ndarray]:
    """Work unit: the block's ensemble from ``state`` (None: start) advanced by one chunk, then compacted."""
    ens = _ensemble(spec, ids, theta, point_index)
    if state is not None:
        ens.set_state(state)
    ens.advance(spec.chunk_steps)
    out = ens.get_state()
    out["done"] = np.array(ens.done)
    return out


def run_round_units(
    executor: UnitExecutor,
    spec: FirstPassageSpec,
    ensemble: FirstPassageEnsemble,
    store: UnitStore,
    reporter: Any = None,
    label: str = "switching times",
) -> tuple[np.ndarray, int, ChainStats]:
    """(first_switch_step in round order, trajectory-steps, stats) of ``ensemble`` run in blocks."""
    ids = ensemble.trajectory_ids
    n = ids.size
    n_blocks = max(1, min(executor.n_workers, n // MIN_BLOCK_TRAJECTORIES))
    theta = ensemble.initial_theta
    points = ensemble.point_index
    parts = [np.arange(b, n, n_blocks) for b in range(n_blocks)]

    def args(chain: int, state: dict | None) -> tuple:
        sel = parts[chain]
        return (ids[sel], theta[sel], None if points is None else points[sel], state)

    def following(chain: int, link: int, state: dict) -> tuple | None:
        return None if bool(state["done"]) else args(chain, state)

    n_links = max(1, math.ceil(ensemble.steps_total / spec.chunk_steps))
    per_unit = n / n_blocks * spec.chunk_steps
    states, stats = run_chains(
        executor,
        advance_first_passage_block,
        spec,
        n_blocks,
        n_links,
        store,
        lambda c: args(c, None),
        following,
        "switching_times",
        reporter,
        work_per_unit=per_unit,
        label=label,
    )
    first = np.empty(n, dtype=np.int64)
    for sel, state in zip(parts, states, strict=True):
        first[sel] = state["first_switch_step"]
    steps = int(sum(int(s["trajectory_steps"]) for s in states))
    return first, steps, stats


def is_round_based(run: Any) -> bool:
    """True for resumable runs made of first-passage rounds (``round_ensemble`` / ``complete_round``)."""
    return hasattr(run, "round_ensemble") and hasattr(run, "complete_round")


def run_rounds_in_blocks(executor: UnitExecutor, work: Any, run: Any, checkpoint: Any, reporter: Any) -> Any:
    """Run (or resume) the adaptive rounds of ``run`` (from ``work.start(None)``) in blocks; ``work.collect(run)``.

    ``checkpoint`` (:class:`gpuqd.run.execute.checkpoint.Checkpoint`) holds the run's state at round boundaries."""
    if checkpoint.restore(run):
        reporter.message(f"switching times: resuming in round {run.round}")
    spec = FirstPassageSpec(run.spec, run.backend, run.compaction, int(work.chunk_steps), run.threads)
    root = Path(checkpoint.path).parent / "units" / checkpoint.hook
    reused = computed = 0
    while not run.done:
        store = UnitStore(root / f"round_{run.round:04d}", checkpoint.config_hash)
        first, steps, stats = run_round_units(
            executor, spec, run.round_ensemble, store, reporter, label=f"switching times (round {run.round})"
        )
        reused, computed = reused + stats.reused, computed + stats.computed
        run.complete_round(first, steps)
        checkpoint.save(run.get_state())
        store.clear()
    reporter.message(f"switching times: units from the run directory {reused}, computed {computed}")
    return work.collect(run)

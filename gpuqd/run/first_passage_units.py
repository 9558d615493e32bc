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

Units are stored per round under ``<checkpoint>/units/switching_times/round_NNNN/``; the adaptive run's
state is saved at each round boundary (``switching_state.npz``), so ``--resume`` continues with the
missing units of the round in progress.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gpuqd.atomic_io import atomic_savez
from gpuqd.first_passage import FirstPassageEnsemble
from gpuqd.run.ensemble_units import MIN_BLOCK_TRAJECTORIES, reduce_table
from gpuqd.run.execution import ChainStats, Executor, UnitStore, run_chains

__all__ = ["FirstPassageSpec", "advance_first_passage_block", "run_round_units", "switching_times_by_units"]


@dataclass(frozen=True, eq=False)
class FirstPassageSpec:
    """Model and settings shared by all blocks of a round (picklable; sent once per worker).

    Units: dt, t_end in 1/Γ. ``torque``: the run's TorqueTable (or ConstantTorque).
    """

    magnet: Any
    torque: Any
    dt: float
    t_end: float
    seed: int
    switch_threshold: float
    backend: str
    compaction: bool
    chunk_steps: int


def _ensemble(spec: FirstPassageSpec, ids: np.ndarray, theta: np.ndarray, point_index: np.ndarray | None
              ) -> FirstPassageEnsemble:
    torque, points = reduce_table(spec.torque, point_index, ids.size)
    return FirstPassageEnsemble(spec.magnet, torque, spec.dt, spec.t_end, spec.seed, ids, theta,
                                point_index=points, switch_threshold=spec.switch_threshold, backend=spec.backend,
                                compaction=spec.compaction)


def advance_first_passage_block(spec: FirstPassageSpec, chain: int, link: int, ids: np.ndarray, theta: np.ndarray,
                                point_index: np.ndarray | None, state: dict[str, np.ndarray] | None
                                ) -> dict[str, np.ndarray]:
    """Work unit: the block's ensemble from ``state`` (None: start) advanced by one chunk, then compacted."""
    ens = _ensemble(spec, ids, theta, point_index)
    if state is not None:
        ens.set_state(state)
    ens.advance(spec.chunk_steps)
    out = ens.get_state()
    out["done"] = np.array(ens.done)
    return out


def run_round_units(executor: Executor, spec: FirstPassageSpec, ensemble: FirstPassageEnsemble, store: UnitStore,
                    reporter: Any = None, label: str = "switching times") -> tuple[np.ndarray, int, ChainStats]:
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
    states, stats = run_chains(executor, advance_first_passage_block, spec, n_blocks, n_links, store,
                               lambda c: args(c, None), following, "switching_times", reporter,
                               work_per_unit=per_unit, label=label)
    first = np.empty(n, dtype=np.int64)
    for sel, state in zip(parts, states, strict=True):
        first[sel] = state["first_switch_step"]
    steps = int(sum(int(s["trajectory_steps"]) for s in states))
    return first, steps, stats


def switching_times_by_units(cfg: Any, backend: str, table: Any, axes: dict, checkpoint_dir: Path, reporter: Any,
                             config_hash: str, executor: Executor) -> tuple[dict, list[str], dict[str, float]]:
    """The switching_times stage on ``executor``: (result arrays, notes, throughput), as the in-process stage."""
    from gpuqd.pipeline import RunError
    from gpuqd.switching_times import STATE_FILE, make_adaptive_run, result_arrays

    data = cfg.data
    n_points = axes["eps_tilde"].size * axes["V"].size
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
        run.set_state(state)
        reporter.message(f"switching times: resuming in round {run.round}")
    spec = FirstPassageSpec(run.magnet, run.torque, run.dt, run.t_end, run.seed, run.switch_threshold, backend,
                            run.compaction, int(data["statistics"]["chunk_steps"]))
    units_root = Path(checkpoint_dir) / "units" / "switching_times"
    t0, steps0, reused, computed = time.perf_counter(), run.trajectory_steps, 0, 0
    while not run.done:
        store = UnitStore(units_root / f"round_{run.round:04d}", config_hash)
        first, steps, stats = run_round_units(executor, spec, run.round_ensemble, store, reporter,
                                              label=f"switching times (round {run.round})")
        reused, computed = reused + stats.reused, computed + stats.computed
        run.complete_round(first, steps)
        atomic_savez(state_path, _config_hash=np.array(config_hash), **run.get_state())
        store.clear()
    reporter.message(f"switching times: units from the run directory {reused}, computed {computed}")
    elapsed = time.perf_counter() - t0
    throughput = {}
    if run.trajectory_steps > steps0:
        throughput["switching_trajectory_steps_per_s"] = (run.trajectory_steps - steps0) / max(elapsed, 1e-9)
    notes = [
        "switching_*: first-passage statistics (docs/physics.md §10) from gpuqd.switching_stats; trajectories of "
        "each protocol start exactly at θ = 0 (P→AP) or θ = π (AP→P) and run until their first switch or t_end.",
        f"switching_* trajectories: {int(run.n_done.sum())} in {run.round} round(s); compaction "
        f"{'on' if run.compaction else 'off'}: {run.trajectory_steps} trajectory-steps "
        f"(without compaction {run.trajectory_steps_uncompacted}); run as work units on {executor.n_workers} "
        f"worker(s).",
    ]
    return result_arrays(run, data, axes), notes, throughput

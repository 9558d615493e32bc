"""Work units of the ensemble dynamics: any partition into blocks and time chunks, any executor, gives
the state of one runner over the whole ensemble bit for bit (noise keyed by (seed, id, step),
docs/physics.md §11); unit files, resume and the missing-extra message. No cluster needed here."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from gpuqd.dynamics import EnsembleRunner, Macrospin
from gpuqd.dynamics.engine_config import STATE_KEYS
from gpuqd.run.execute.checkpoint import Checkpoint
from gpuqd.run.execute.ensemble_units import (
    advance_block,
    merge_block_states,
    plan_blocks,
    run_work_in_blocks_with_stats,
    units_store,
)
from gpuqd.run.execute.execution import ChainStats, SerialUnits, UnitStore
from gpuqd.transport.torque_table import TorqueTable

N_POINTS, TPP = 7, 3


def _table() -> TorqueTable:
    funcs = []
    for j in range(N_POINTS):
        a = 0.004 * (j - 3)

        def f(theta, a=a, j=j):
            return (a * np.cos(theta) + 0.001 * j, 0.003 * np.sin(theta) ** 2 - a, 0.1 + 0.01 * np.cos(theta))

        funcs.append(f)
    return TorqueTable.from_functions(funcs, n_theta=32)


@dataclass(frozen=True)
class _Work:
    """An EnsembleWork (gpuqd.run.execute.executor) over a synthetic table: ids 0 … n−1, θ(t) of a few of them."""

    torque: object
    n_items: int = N_POINTS * TPP
    chunk_steps: int = 170
    dt: float = 0.05
    sample_ids: tuple = (17, 2, 9, 2)

    def start(self, ids=None) -> EnsembleRunner:
        n = self.n_items
        theta = np.linspace(0.0, np.pi, n)
        points = np.repeat(np.arange(N_POINTS), TPP) if isinstance(self.torque, TorqueTable) else None
        samples = np.array(self.sample_ids, dtype=np.int64)
        block = {"trajectory_offset": 0}
        if ids is not None:
            ids = np.asarray(ids, dtype=np.int64)
            theta = theta[ids]
            points = None if points is None else points[ids]
            samples = np.flatnonzero(np.isin(ids, samples))
            block = {"trajectory_ids": ids}
            n = ids.size
        return EnsembleRunner(
            Macrospin(S=1.0, KV=0.05, alpha=0.1, sigma2=0.02),
            self.torque,
            n,
            self.dt,
            30.0,
            11,
            "numpy",
            initial_theta=theta,
            switch_threshold=0.5,
            average_from=10.0,
            point_index=points,
            sample_every=20,
            sample_trajectories=samples,
            **block,
        )

    def collect(self, run):
        return run.result()


def _spec(**kw) -> _Work:
    return _Work(**({"torque": _table()} | kw))


def _assert_states_equal(a: dict, b: dict) -> None:
    for k in STATE_KEYS:
        np.testing.assert_array_equal(np.asarray(a[k]), np.asarray(b[k]), err_msg=k)


def _run_blocks(work, blocks, chunks):
    states = []
    for lo, hi in blocks:
        state = None
        for _ in range(chunks):
            state = advance_block(work, 0, 0, lo, hi, state)
        states.append(state)
    return states


@pytest.mark.parametrize("blocks", [[(0, 21)], [(0, 10), (10, 21)], [(0, 1), (1, 8), (8, 9), (9, 21)]])
def test_any_partition_and_chunking_gives_the_whole_ensemble_state(blocks):
    work = _spec()
    full = work.start(None)
    full.advance(full.steps_total)
    # 600 steps in chunks of 170: three full chunks and a partial one
    merged = merge_block_states(work.start(None), _run_blocks(work, blocks, 4))
    _assert_states_equal(merged, full.get_state())
    # the observables too (first-passage times, dwell times, window means, θ samples)
    other = work.start(None)
    other.set_state(merged)
    r0, r1 = full.result(), other.result()
    for name in (
        "first_passage_time",
        "n_switches",
        "time_in_parallel",
        "time_in_antiparallel",
        "mean_theta",
        "mean_charge_current",
        "final_state",
        "samples",
        "sample_directions",
    ):
        np.testing.assert_array_equal(getattr(r0, name), getattr(r1, name), err_msg=name)
    assert np.isfinite(r0.mean_theta).all() and (r0.n_switches > 0).any()  # the test exercises switching


def test_constant_torque_partition():
    from gpuqd.dynamics import ConstantTorque

    work = _spec(torque=ConstantTorque(0.002, -0.004), chunk_steps=10_000)
    full = work.start(None)
    full.advance(full.steps_total)
    merged = merge_block_states(work.start(None), _run_blocks(work, [(0, 5), (5, 21)], 1))
    _assert_states_equal(merged, full.get_state())


def test_plan_blocks():
    assert plan_blocks(625, 2) == [(0, 312), (312, 625)]
    assert plan_blocks(100, 8, min_block=64) == [(0, 100)]
    assert plan_blocks(10, 1) == [(0, 10)]
    blocks = plan_blocks(1000, 3, min_block=10)
    assert blocks[0][0] == 0 and blocks[-1][1] == 1000 and len(blocks) == 3


class _Counting(SerialUnits):
    def __init__(self):
        self.calls = 0

    def map_dynamic(self, task, shared, jobs, on_result):
        def counted(*args):
            self.calls += 1
            return task(*args)

        super().map_dynamic(counted, shared, jobs, on_result)


def test_units_resume_computes_only_missing(tmp_path):
    work = _spec()
    full = work.start(None)
    full.advance(full.steps_total)
    reference = full.result()

    checkpoint = Checkpoint(tmp_path / "a" / "dynamics_state.npz", "fp", "dynamics")
    res, stats = run_work_in_blocks_with_stats(SerialUnits(), work, work.start(None), checkpoint, None, n_blocks=2)
    assert isinstance(stats, ChainStats) and stats.computed == 2 * 4 and stats.reused == 0
    np.testing.assert_array_equal(res.mean_theta, reference.mean_theta)
    np.testing.assert_array_equal(res.samples, reference.samples)
    store = units_store(checkpoint)
    assert len(store.files()) == 2  # one (the last) unit per block

    # a store holding block 0 after chunk 1 and block 1 after chunk 2: 2 + 1 units missing
    checkpoint2 = Checkpoint(tmp_path / "b" / "dynamics_state.npz", "fp", "dynamics")
    store2 = units_store(checkpoint2)
    for chain, (lo, hi) in enumerate(plan_blocks(work.n_items, 2, min_block=1)):
        state = None
        for link in range(2 + chain):
            state = advance_block(work, chain, link, lo, hi, state)
            store2.save(chain, link, state)
    ex = _Counting()
    res2, stats2 = run_work_in_blocks_with_stats(ex, work, work.start(None), checkpoint2, None, n_blocks=2)
    assert ex.calls == stats2.computed == 3 and stats2.reused == 5
    for name in ("first_passage_time", "mean_theta", "samples", "n_switches"):
        np.testing.assert_array_equal(getattr(res2, name), getattr(reference, name), err_msg=name)
    store.clear()
    assert not store.directory.exists()


def test_unit_from_another_configuration_is_refused(tmp_path):
    from gpuqd.run.errors import RunError

    work = _spec()
    stored = Checkpoint(tmp_path / "dynamics_state.npz", "a", "dynamics")
    units_store(stored).save(0, 0, advance_block(work, 0, 0, 0, 21, None))
    other = Checkpoint(tmp_path / "dynamics_state.npz", "b", "dynamics")
    with pytest.raises(RunError, match="different configuration"):
        run_work_in_blocks_with_stats(SerialUnits(), work, work.start(None), other, None, n_blocks=1)


def test_unit_store_keeps_last_link_only(tmp_path):
    store = UnitStore(tmp_path, "x")
    for link in range(3):
        store.save(4, link, {"a": np.arange(link + 1)})
    assert store.latest() == {4: 2} and len(store.files()) == 1
    np.testing.assert_array_equal(store.load(4, 2)["a"], np.arange(3))


class _ThreeWorkers(SerialUnits):
    n_workers = 3


@dataclass(frozen=True)
class _RoundsWork:
    chunk_steps: int = 400

    def collect(self, run):
        return run


def test_first_passage_rounds_in_blocks_equal_one_batch(tmp_path):
    """The adaptive switching-time rounds run as interleaved blocks of work units (the Dask path of
    gpuqd.run.execute.first_passage_units, here in process) give the first passages of one batch."""
    from gpuqd.dynamics import ConstantTorque
    from gpuqd.observables.adaptive_switching import AdaptiveSwitchingRun
    from gpuqd.run.execute.first_passage_units import run_rounds_in_blocks
    from gpuqd.run.execute.progress import Reporter

    args = (Macrospin(S=1.0, alpha=0.2, KV=0.1, sigma2=0.008), ConstantTorque(0.03, 0.025), 3, ["P_to_AP", "AP_to_P"])
    kw = {"adaptive": True, "target_width": 0.05, "max_per_point": 48, "max_rounds": 2}
    whole = AdaptiveSwitchingRun(*args, 0.1, 300.0, 21, 32, **kw)
    while not whole.done:
        whole.advance(400)
    blocks = AdaptiveSwitchingRun(*args, 0.1, 300.0, 21, 32, **kw)
    checkpoint = Checkpoint(tmp_path / "switching_state.npz", "fp", "switching_times")
    run_rounds_in_blocks(_ThreeWorkers(), _RoundsWork(), blocks, checkpoint, Reporter())
    assert whole.round == 2 and blocks.done
    np.testing.assert_array_equal(blocks.first_passage_matrix(), whole.first_passage_matrix())
    assert blocks.trajectory_steps == whole.trajectory_steps

"""Work units of the ensemble dynamics: any partition into blocks and time chunks, any executor, gives
the state of one runner over the whole ensemble bit for bit (noise keyed by (seed, id, step),
docs/physics.md §11); unit files, resume and the missing-extra message. No cluster needed here."""

from __future__ import annotations

import numpy as np
import pytest

from gpuqd.dynamics import EnsembleRunner, Macrospin
from gpuqd.dynamics.config import STATE_KEYS
from gpuqd.run.ensemble_units import EnsembleSpec, advance_block, merge_block_states, plan_blocks, run_ensemble_units
from gpuqd.run.execution import ChainStats, LocalExecutor, UnitStore
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


def _spec(**kw) -> EnsembleSpec:
    n = N_POINTS * TPP
    base = dict(
        magnet=Macrospin(S=1.0, KV=0.05, alpha=0.1, sigma2=0.02), torque=_table(), n_traj=n, dt=0.05, t_end=30.0,
        seed=11, initial_theta=np.linspace(0.0, np.pi, n), switch_threshold=0.5, average_from=10.0,
        point_index=np.repeat(np.arange(N_POINTS), TPP), sample_every=20, sample_trajectories=np.array([17, 2, 9, 2]),
    )
    return EnsembleSpec(**(base | kw))


def _assert_states_equal(a: dict, b: dict) -> None:
    for k in STATE_KEYS:
        np.testing.assert_array_equal(np.asarray(a[k]), np.asarray(b[k]), err_msg=k)


@pytest.mark.parametrize("blocks", [[(0, 21)], [(0, 10), (10, 21)], [(0, 1), (1, 8), (8, 9), (9, 21)]])
def test_any_partition_and_chunking_gives_the_whole_ensemble_state(blocks):
    spec = _spec()
    full = spec.runner()
    full.advance(full.steps_total)
    states = []
    for lo, hi in blocks:
        state = None
        for _ in range(4):  # 600 steps in chunks of 170: three full chunks and a partial one
            state = advance_block(spec, 0, 0, lo, hi, 170, state)
        states.append(state)
    merged = merge_block_states(spec, blocks, states, full.fingerprint)
    _assert_states_equal(merged, full.get_state())
    # the observables too (first-passage times, dwell times, window means, θ samples)
    other = spec.runner()
    other.set_state(merged)
    r0, r1 = full.result(), other.result()
    for name in ("first_passage_time", "n_switches", "time_in_parallel", "time_in_antiparallel", "mean_theta",
                 "mean_charge_current", "final_state", "samples", "sample_directions"):
        np.testing.assert_array_equal(getattr(r0, name), getattr(r1, name), err_msg=name)
    assert np.isfinite(r0.mean_theta).all() and (r0.n_switches > 0).any()  # the test exercises switching


def test_constant_torque_spec_partition():
    from gpuqd.dynamics import ConstantTorque

    spec = _spec(torque=ConstantTorque(0.002, -0.004), point_index=None)
    full = spec.runner()
    full.advance(full.steps_total)
    states = [advance_block(spec, 0, 0, lo, hi, 10_000, None) for lo, hi in [(0, 5), (5, 21)]]
    _assert_states_equal(merge_block_states(spec, [(0, 5), (5, 21)], states, full.fingerprint), full.get_state())


def test_plan_blocks():
    assert plan_blocks(625, 2) == [(0, 312), (312, 625)]
    assert plan_blocks(100, 8, min_block=64) == [(0, 100)]
    assert plan_blocks(10, 1) == [(0, 10)]
    blocks = plan_blocks(1000, 3, min_block=10)
    assert blocks[0][0] == 0 and blocks[-1][1] == 1000 and len(blocks) == 3


class _Counting(LocalExecutor):
    def __init__(self):
        self.calls = 0

    def map_dynamic(self, task, shared, jobs, on_result):
        def counted(*args):
            self.calls += 1
            return task(*args)

        super().map_dynamic(counted, shared, jobs, on_result)


def test_local_units_resume_computes_only_missing(tmp_path):
    spec = _spec()
    full = spec.runner()
    full.advance(full.steps_total)
    reference = full.result()

    store = UnitStore(tmp_path / "units", "fp")
    res, stats, blocks = run_ensemble_units(LocalExecutor(), spec, 170, store, n_blocks=2)
    assert isinstance(stats, ChainStats) and stats.computed == 2 * 4 and stats.reused == 0
    np.testing.assert_array_equal(res.mean_theta, reference.mean_theta)
    np.testing.assert_array_equal(res.samples, reference.samples)
    assert len(store.files()) == 2  # one (the last) unit per block

    # a store holding block 0 after chunk 1 and block 1 after chunk 2: 2 + 1 units missing
    store2 = UnitStore(tmp_path / "partial", "fp")
    for chain, (lo, hi) in enumerate(blocks):
        state = None
        for link in range(2 + chain):
            state = advance_block(spec, chain, link, lo, hi, 170, state)
            store2.save(chain, link, state)
    ex = _Counting()
    res2, stats2, _ = run_ensemble_units(ex, spec, 170, store2, n_blocks=2)
    assert ex.calls == stats2.computed == 3 and stats2.reused == 5
    for name in ("first_passage_time", "mean_theta", "samples", "n_switches"):
        np.testing.assert_array_equal(getattr(res2, name), getattr(reference, name), err_msg=name)
    store.clear()
    assert not (tmp_path / "units").exists()


def test_unit_from_another_configuration_is_refused(tmp_path):
    spec = _spec()
    UnitStore(tmp_path, "a").save(0, 0, advance_block(spec, 0, 0, 0, 21, 170, None))
    with pytest.raises(ValueError, match="different configuration"):
        run_ensemble_units(LocalExecutor(), spec, 170, UnitStore(tmp_path, "b"), n_blocks=1)


def test_block_runner_validates_like_the_whole_ensemble():
    spec = _spec(dt=50.0, t_end=100.0, average_from=None)
    with pytest.raises(ValueError, match="dt"):
        run_ensemble_units(LocalExecutor(), spec, 1, UnitStore("/nonexistent-never-written"), n_blocks=2)


def test_runner_of_block_uses_same_noise_ids():
    spec = _spec()
    r = spec.block_runner(5, 12)
    assert isinstance(r, EnsembleRunner)
    np.testing.assert_array_equal(r.config.global_ids, np.arange(5, 12))

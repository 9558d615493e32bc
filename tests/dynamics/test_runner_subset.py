"""EnsembleRunner.subset (compaction): the kept trajectories continue exactly as in the full run, the
torque table is shared (never rebuilt or uploaded again), and the fingerprint equals that of a runner
built from scratch with the same ids and rows (so checkpoints of compacted runs restore)."""

from __future__ import annotations

import numpy as np
import pytest
from ensemble_checks import synthetic_table

from gpuqd.dynamics import EnsembleRunner, Macrospin
from gpuqd.transport import TorqueTable

MAGNET = Macrospin(S=1.0, KV=0.1, alpha=0.2, sigma2=0.01)
BACKENDS = ["numpy", "cpu", pytest.param("cupy", marks=pytest.mark.gpu)]


def _table() -> TorqueTable:
    return synthetic_table(64, with_source=False)


def _runner(backend: str, n: int = 40, **kwargs) -> EnsembleRunner:
    args = dict(
        initial_theta=np.linspace(0.0, 3.0, n),
        point_index=np.arange(n) % 2,
        switch_threshold=0.2,
        average_from=2.0,
        trajectory_offset=100,
    )
    args.update(kwargs)
    return EnsembleRunner(MAGNET, _table(), n, 0.02, 10.0, seed=7, backend=backend, **args)


@pytest.mark.parametrize("backend", BACKENDS)
def test_subset_continues_the_kept_trajectories_exactly(backend: str) -> None:
    full, part = _runner(backend), _runner(backend)
    full.advance(150)
    part.advance(150)
    keep = np.arange(40) % 3 != 1
    sub = part.subset(keep)
    assert (
        sub._engine.table is part._engine.table
        if backend != "numpy"
        else sub._engine.table_rows is part._engine.table_rows
    )
    full.advance(10_000)
    sub.advance(10_000)
    a, b = full.get_state(), sub.get_state()
    for key in ("n", "sum_theta", "sum_charge_current", "first_switch_step", "n_switches", "steps_in_parallel"):
        np.testing.assert_array_equal(a[key][keep], b[key], err_msg=key)
    np.testing.assert_array_equal(sub.result().trajectory_ids, full.result().trajectory_ids[keep])


def test_subset_fingerprint_matches_a_runner_built_with_the_same_rows() -> None:
    runner = _runner("numpy", trajectory_offset=0, trajectory_ids=np.arange(40) * 5 + 3)
    runner.advance(20)
    keep = np.flatnonzero(np.arange(40) % 4 == 0)
    sub = runner.subset(keep)
    rebuilt = EnsembleRunner(
        MAGNET,
        _table(),
        keep.size,
        0.02,
        10.0,
        seed=7,
        backend="numpy",
        initial_theta=np.linspace(0.0, 3.0, 40)[keep],
        point_index=(np.arange(40) % 2)[keep],
        switch_threshold=0.2,
        average_from=2.0,
        trajectory_ids=(np.arange(40) * 5 + 3)[keep],
    )
    assert sub.fingerprint == rebuilt.fingerprint
    rebuilt.set_state(sub.get_state())  # a compacted checkpoint restores into a fresh runner
    assert rebuilt.steps_done == 20


@pytest.mark.parametrize("keep", [np.array([], dtype=int), np.array([3, 1]), np.array([0, 40]), np.ones(3, bool)])
def test_subset_rejects_bad_selections(keep: np.ndarray) -> None:
    with pytest.raises(ValueError, match="keep"):
        _runner("numpy").subset(keep)


def test_subset_refuses_runs_with_samples() -> None:
    runner = _runner("numpy", sample_every=10, sample_trajectories=[0, 1])
    with pytest.raises(ValueError, match="samples"):
        runner.subset(np.array([0, 2]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_snapshot_is_the_state_at_the_time_it_was_taken(backend: str) -> None:
    runner, twin = _runner(backend), _runner(backend)
    runner.advance(120)
    twin.advance(120)
    pending = runner.snapshot()
    runner.advance(200)  # queued while the copy is in flight
    taken = pending.result()
    expected = twin.get_state()
    assert set(taken) == set(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(taken[key], value, err_msg=key)
    fresh = _runner(backend)
    fresh.set_state(taken)
    fresh.advance(200)
    np.testing.assert_array_equal(fresh.get_state()["n"], runner.get_state()["n"])


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # NaN through the table map
@pytest.mark.parametrize("backend", BACKENDS)
def test_failed_integration_is_reported(backend: str) -> None:
    """A NaN state is reported by the (possibly deferred) health check at the latest when the state is read."""
    runner = _runner(backend)
    state = runner.get_state()
    state["n"][5] = np.nan
    runner.set_state(state)
    with pytest.raises(RuntimeError, match=r"trajectory ids \[105\]"):
        runner.advance(10)
        runner.advance(10)
        runner.get_state()

"""Bit-identical reruns on every CPU engine (NumPy reference and the host build of the kernel):
ensemble splits, chunk sizes, checkpoint/resume, thread counts; table ≡ constant."""

from __future__ import annotations

import numpy as np
import pytest

from gpuqd.dynamics import ConstantTorque, EnsembleRunner, Macrospin, run_ensemble
from gpuqd.transport import TorqueTable

MAGNET = Macrospin(S=1.0, KV=0.05, alpha=0.2, sigma2=0.01)
TORQUE = ConstantTorque(field_like=-0.02, damping_like=0.03, charge_current=0.7)
RUN = dict(dt=0.05, t_end=40.0, seed=2024, backend="numpy", average_from=10.0, switch_threshold=0.3)
# Engines that run on any machine; the cpu engine fails (never skips) when its C++ build fails.
ENGINES = ("numpy", "cpu")
FIELDS = (
    "first_passage_time",
    "n_switches",
    "time_in_parallel",
    "time_in_antiparallel",
    "mean_theta",
    "mean_charge_current",
    "final_direction",
    "final_state",
)


def _assert_identical(a, b, rows=slice(None)) -> None:
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name)[rows], getattr(b, name), err_msg=name)


@pytest.mark.parametrize("engine", ENGINES)
def test_split_ensemble_and_chunking_are_bit_identical(engine: str) -> None:
    run = {**RUN, "backend": engine}
    whole = run_ensemble(MAGNET, TORQUE, n_traj=300, chunk_steps=800, **run)
    assert whole.n_switches.sum() > 0  # the test exercises the switching bookkeeping
    first = run_ensemble(MAGNET, TORQUE, n_traj=117, chunk_steps=37, **run)
    second = run_ensemble(MAGNET, TORQUE, n_traj=183, trajectory_offset=117, chunk_steps=251, **run)
    _assert_identical(whole, first, slice(0, 117))
    _assert_identical(whole, second, slice(117, 300))
    np.testing.assert_array_equal(second.trajectory_ids, np.arange(117, 300))


@pytest.mark.parametrize("engine", ENGINES)
def test_resume_from_saved_state_is_bit_identical(tmp_path, engine: str) -> None:
    run = {**RUN, "backend": engine}
    reference = run_ensemble(MAGNET, TORQUE, n_traj=64, **run, sample_every=20, sample_trajectories=[3, 5])
    runner = EnsembleRunner(MAGNET, TORQUE, n_traj=64, **run, sample_every=20, sample_trajectories=[3, 5])
    runner.advance(333)
    path = tmp_path / "state.npz"
    np.savez(path, **runner.get_state())
    del runner
    resumed = EnsembleRunner(MAGNET, TORQUE, n_traj=64, **run, sample_every=20, sample_trajectories=[3, 5])
    with np.load(path) as saved:
        resumed.set_state(dict(saved))
    assert resumed.steps_done == 333
    while not resumed.done:
        resumed.advance(100)
    result = resumed.result()
    _assert_identical(reference, result)
    np.testing.assert_array_equal(reference.samples, result.samples)
    np.testing.assert_array_equal(reference.sample_directions, result.sample_directions)


@pytest.mark.parametrize("engine", ENGINES)
def test_constant_table_equals_constant_torque(engine: str) -> None:
    run = {**RUN, "backend": engine}
    table = TorqueTable.from_functions(
        [
            lambda th: (
                np.full_like(th, TORQUE.field_like),
                np.full_like(th, TORQUE.damping_like),
                np.full_like(th, TORQUE.charge_current),
            )
        ]
        * 3,
        n_theta=48,
    )
    by_table = run_ensemble(MAGNET, table, n_traj=90, point_index=np.arange(90) % 3, **run)
    by_constant = run_ensemble(MAGNET, TORQUE, n_traj=90, **run)
    for name in ("mean_theta", "mean_charge_current", "final_direction"):
        np.testing.assert_allclose(getattr(by_table, name), getattr(by_constant, name), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(by_table.n_switches, by_constant.n_switches)


def test_table_interpolation_matches_torque_table_evaluate() -> None:
    """The engine's inline interpolation reproduces TorqueTable.evaluate (same stencil and weights)."""
    from gpuqd.dynamics.engine_config import build_config
    from gpuqd.dynamics.engines.numpy_engine import NumpyEngine

    table = TorqueTable.from_functions(
        [lambda th, a=a: (np.sin(th) * a - 0.1, np.cos(3 * th) * 0.02, 1.0 + th**2) for a in (0.1, -0.3)],
        n_theta=40,
    )
    cfg = build_config(MAGNET, table, 500, 0.05, 1.0, 0, 0.0, 0.5, None, np.arange(500) % 2, 0, None, None)
    engine = NumpyEngine(cfg)
    cos_theta = np.cos(np.linspace(0.0, np.pi, 500))
    fl, dl, ic, theta = engine._coefficients(cos_theta, True)
    ref = table.evaluate(cfg.point_index, cos_theta)
    for mine, expected in zip((fl, dl, ic), ref, strict=True):
        np.testing.assert_array_equal(mine, expected)
    np.testing.assert_array_equal(theta, np.arccos(cos_theta))


@pytest.mark.parametrize("engine", ENGINES)
def test_observables_bookkeeping(engine: str) -> None:
    run = {**RUN, "backend": engine}
    res = run_ensemble(MAGNET, TORQUE, n_traj=200, **run)
    np.testing.assert_allclose(res.time_in_parallel + res.time_in_antiparallel, run["t_end"], rtol=1e-12)
    switched = res.n_switches > 0
    assert np.all(np.isinf(res.first_passage_time[~switched]))
    assert np.all(res.first_passage_time[switched] <= run["t_end"])
    assert np.all(res.final_state[res.n_switches % 2 == 0] == 1)
    assert np.all(res.final_state[res.n_switches % 2 == 1] == -1)
    np.testing.assert_allclose(res.mean_charge_current, 0.7, rtol=1e-12)
    assert np.all((res.mean_theta >= 0) & (res.mean_theta <= np.pi))
    np.testing.assert_allclose(np.linalg.norm(res.final_direction, axis=1), 1.0, atol=1e-14)
    no_window = run_ensemble(MAGNET, TORQUE, n_traj=5, **{**run, "average_from": None, "t_end": 1.0})
    assert np.all(np.isnan(no_window.mean_theta)) and np.all(np.isnan(no_window.mean_charge_current))


def test_progress_callback_and_chunks() -> None:
    calls = []
    run_ensemble(
        MAGNET,
        TORQUE,
        n_traj=4,
        **{**RUN, "t_end": 1.0, "average_from": 0.5},
        chunk_steps=7,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls[-1] == (20, 20) and [c[0] for c in calls] == [7, 14, 20]


@pytest.mark.parametrize("engine", ENGINES)
def test_both_free_runs_and_reduces_to_fixed_source_without_source_dynamics(engine: str) -> None:
    """free="both": both magnets move; with the source pinned far from switching the drain sees n·m."""
    run = {**RUN, "backend": engine}
    magnet = Macrospin(S=1.0, KV=0.05, alpha=0.2, sigma2=0.01, free="both")
    torque = ConstantTorque(-0.02, 0.03, 0.7, source_field_like=0.01, source_damping_like=-0.025)
    res = run_ensemble(magnet, torque, n_traj=50, **run)
    np.testing.assert_allclose(np.linalg.norm(res.final_source_direction, axis=1), 1.0, atol=1e-14)
    assert np.all(res.final_source_direction[:, 2] < 1.0)
    split = run_ensemble(magnet, torque, n_traj=20, trajectory_offset=30, **run)
    np.testing.assert_array_equal(res.final_source_direction[30:], split.final_source_direction)
    np.testing.assert_array_equal(res.final_direction[30:], split.final_direction)


def test_thread_count_does_not_change_results() -> None:
    """cpu engine: 1 and 2 OpenMP threads (and uneven chunks) give bit-identical states, table and constant."""
    table = TorqueTable.from_functions(
        [lambda th, a=a: (0.03 * np.cos(th) + a, 0.02 * np.sin(th) ** 2 + 0.01, 1.0 + a * th) for a in (0.0, -0.03)],
        n_theta=64,
    )
    for torque, point_index in ((TORQUE, None), (table, np.arange(257) % 2)):
        states = []
        for threads, chunk in ((1, 800), (2, 37), (2, 800)):
            runner = EnsembleRunner(
                MAGNET,
                torque,
                n_traj=257,
                **{**RUN, "backend": "cpu"},
                threads=threads,
                point_index=point_index,
                sample_every=40,
                sample_trajectories=[0, 256],
            )
            while not runner.done:
                runner.advance(chunk)
            states.append(runner.get_state())
        assert states[0]["n_switches"].sum() > 0
        for other in states[1:]:
            for key, value in states[0].items():
                np.testing.assert_array_equal(value, other[key], err_msg=key)


def test_cpu_engine_resume_across_engines_matches_numpy_counters() -> None:
    """A numpy checkpoint resumed on the cpu engine (same layout) keeps the switching counters of numpy."""
    reference = run_ensemble(MAGNET, TORQUE, n_traj=64, **RUN)
    runner = EnsembleRunner(MAGNET, TORQUE, n_traj=64, **RUN)
    runner.advance(300)
    resumed = EnsembleRunner(MAGNET, TORQUE, n_traj=64, **{**RUN, "backend": "cpu"})
    resumed.set_state(runner.get_state())
    while not resumed.done:
        resumed.advance(250)
    result = resumed.result()
    np.testing.assert_array_equal(result.n_switches, reference.n_switches)
    np.testing.assert_array_equal(result.first_passage_time, reference.first_passage_time)
    np.testing.assert_allclose(result.final_direction, reference.final_direction, rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(dt=4.0, t_end=8.0), "dt = 4.0 too large"),
        (dict(t_end=1.003), "t_end/dt"),
        (dict(average_from=100.0), "average_from"),
        (dict(n_traj=0), "n_traj"),
        (dict(switch_threshold=1.0), "switch_threshold"),
        (dict(point_index=np.zeros(3, dtype=int)), "point_index"),
        (dict(backend="fortran"), "backend"),
    ],
)
def test_invalid_run_arguments(kwargs: dict, match: str) -> None:
    args = dict(
        magnet=Macrospin(S=1.0, KV=0.5, alpha=0.1, sigma2=1e-3),
        torque=TORQUE,
        n_traj=3,
        dt=0.01,
        t_end=1.0,
        seed=0,
        backend="numpy",
    )
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        run_ensemble(**args)


def test_noise_step_guard() -> None:
    with pytest.raises(ValueError, match="noise"):
        run_ensemble(
            Macrospin(S=1.0, KV=0.0, alpha=1.0, sigma2=10.0),
            TORQUE,
            n_traj=2,
            dt=0.1,
            t_end=1.0,
            seed=0,
            backend="numpy",
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(S=0.0, sigma2=0.0), "S"),
        (dict(KV=-1.0, sigma2=0.0), "KV"),
        (dict(alpha=-0.1, sigma2=0.0), "alpha"),
        (dict(sigma2=1e-4, T_m=1e-3), "exactly one"),
        (dict(), "exactly one"),
        (dict(sigma2=-1.0), "sigma2"),
        (dict(alpha=0.0, sigma2=1e-4), "alpha"),
        (dict(sigma2=0.0, cubic_axes=np.ones((3, 3))), "orthonormal"),
        (dict(sigma2=0.0, field=(0.0, np.nan, 0.0)), "field"),
        (dict(sigma2=0.0, free="source"), "free"),
    ],
)
def test_invalid_magnet(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Macrospin(**kwargs)


@pytest.mark.parametrize("engine", ENGINES)
def test_state_from_other_configuration_is_rejected(engine: str) -> None:
    run = {**RUN, "backend": engine}
    state = EnsembleRunner(MAGNET, TORQUE, n_traj=5, **run).get_state()
    other = EnsembleRunner(MAGNET, TORQUE, n_traj=5, **{**run, "seed": 1})
    with pytest.raises(ValueError, match="config_fingerprint"):
        other.set_state(state)


@pytest.mark.parametrize("engine", ENGINES)
def test_nan_is_reported_with_trajectory_ids(engine: str) -> None:
    runner = EnsembleRunner(MAGNET, TORQUE, n_traj=5, dt=0.05, t_end=1.0, seed=0, backend=engine)
    state = runner.get_state()
    state["n"][3] = np.nan
    runner.set_state(state)
    with pytest.raises(RuntimeError, match=r"\[3\]"):
        runner.advance(2)


def test_auto_backend_falls_back_to_numpy_with_warning(monkeypatch) -> None:
    from gpuqd.dynamics import runner as runner_module
    from gpuqd.dynamics.engines import registry as backends

    for name in ("cupy", "cpu"):
        monkeypatch.setitem(backends.PROBES, name, lambda name=name: backends.Availability(name, False, "absent"))
    backends.availability.cache_clear()
    try:
        with pytest.warns(backends.BackendNotice, match="NumPy"):
            assert runner_module.resolve_backend("auto") == "numpy"
        with pytest.raises(RuntimeError, match="cupy"):
            runner_module.resolve_backend("cupy")
    finally:
        backends.availability.cache_clear()

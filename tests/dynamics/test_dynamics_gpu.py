"""CuPy/GPU versions of the engine checks (marked gpu: skipped without CuPy and a CUDA device)."""

from __future__ import annotations

import numpy as np
import pytest
from angle_cases import cosine_cases, map_params
from ensemble_checks import MFPT_CASES, MFPT_DT_BIAS, equilibrium_nz, first_passage_mean, synthetic_table
from llg_oracles import boltzmann_nz_cdf
from scipy import stats

from gpuqd.dynamics import ConstantTorque, EnsembleRunner, Macrospin, run_ensemble
from gpuqd.dynamics.philox import philox4x32, split_seed
from gpuqd.transport import TorqueTable

pytestmark = pytest.mark.gpu


def test_device_philox_words_equal_numpy() -> None:
    from gpuqd.dynamics.engines.cupy_engine import philox_words_device

    key = split_seed(0x0123456789ABCDEF)
    for step, offset in [(0, 0), (2**32 + 17, 2**32 - 100), (123456, 7)]:
        device = philox_words_device(step, offset, 1000, key)
        ids = np.arange(offset, offset + 1000, dtype=np.uint64)
        host = philox4x32((step & 0xFFFFFFFF, step >> 32, ids & np.uint64(0xFFFFFFFF), ids >> np.uint64(32)), key)
        np.testing.assert_array_equal(device, np.stack(host, axis=1).astype(np.uint32))


@pytest.mark.device_numerics
def test_device_normal_parts_bit_identical_to_numpy() -> None:
    """The float32 normals on the GPU equal NumPy's for all 2²³ generator inputs (same check as the host
    build in tests/dynamics/test_normals_f32.py)."""
    from gpuqd.dynamics.engines.cupy_engine import normal_parts_device
    from gpuqd.dynamics.philox import minus_two_log_f32, sincos_2pi_f32, uniform_f32

    words = (np.arange(2**23, dtype=np.uint64) << np.uint64(9)).astype(np.uint32)
    minus_two_log, sincos = normal_parts_device(words)
    np.testing.assert_array_equal(minus_two_log, minus_two_log_f32(uniform_f32(words)))
    s, c = sincos_2pi_f32(words)
    np.testing.assert_array_equal(sincos[:, 0], s)
    np.testing.assert_array_equal(sincos[:, 1], c)


@pytest.mark.device_numerics
def test_device_angle_functions_match_numpy() -> None:
    """GPU acos and table coordinate (hardware reciprocal and 1/√ estimates + Newton steps) against NumPy,
    with the tolerances of tests/dynamics/test_angle_functions.py."""
    from gpuqd.dynamics.engines.cupy_engine import angle_functions_device
    from gpuqd.transport.torque_table import s_of_theta

    c = cosine_cases()
    theta, s = angle_functions_device(c, map_params())
    assert np.max(np.abs(theta - np.arccos(np.clip(c, -1.0, 1.0)))) < 1.5e-15
    assert np.max(np.abs(s - s_of_theta(theta))) < 2e-15


def _table() -> TorqueTable:
    return synthetic_table(96)


@pytest.mark.device_numerics  # FMA contraction on the device; the stand-in's host build has none
@pytest.mark.parametrize("free", ["drain", "both"])
@pytest.mark.parametrize("use_table", [False, True])
def test_cupy_trajectories_match_numpy_after_1000_steps(use_table: bool, free: str) -> None:
    magnet = Macrospin(S=1.0, KV=0.1, alpha=0.2, sigma2=0.01, free=free, K_cubic=0.02, ac_field=(0.01, 0.3))
    torque = (
        _table() if use_table else ConstantTorque(0.02, 0.015, 0.4, source_field_like=-0.01, source_damping_like=-0.02)
    )
    n_traj = 2000
    args = dict(
        n_traj=n_traj,
        dt=0.02,
        t_end=20.0,
        seed=42,
        initial_theta=np.linspace(0.0, 3.0, n_traj),
        average_from=5.0,
        switch_threshold=0.2,
        trajectory_offset=5,
        sample_every=100,
        sample_trajectories=[0, 10],
        point_index=(np.arange(n_traj) % 2) if use_table else None,
    )
    gpu = run_ensemble(magnet, torque, backend="cupy", **args)
    cpu = run_ensemble(magnet, torque, backend="numpy", **args)
    for name in ("final_direction", "final_source_direction", "mean_theta", "mean_charge_current", "samples"):
        # The float32 normals are bit-identical in every engine (gpuqd.dynamics.philox), so the engines
        # differ only by FP64 rounding (and FMA contraction on the GPU) in the state update: ~1e-16 per
        # operation, ≲ 1e-12 after 1000 contracting steps (1e-15 measured NumPy vs host build); 1e-9 is margin.
        np.testing.assert_allclose(getattr(gpu, name), getattr(cpu, name), rtol=0, atol=1e-9, err_msg=name)
    # switching decisions can only differ where n_z passed within rounding of a threshold
    assert np.mean(gpu.n_switches == cpu.n_switches) > 0.999


def test_cupy_split_chunk_and_resume_bit_identical() -> None:
    magnet, torque = Macrospin(S=1.0, KV=0.05, alpha=0.2, sigma2=0.01), ConstantTorque(-0.02, 0.03, 0.7)
    run = dict(dt=0.05, t_end=40.0, seed=7, backend="cupy", average_from=10.0)
    whole = run_ensemble(magnet, torque, n_traj=1000, chunk_steps=800, **run)
    part = run_ensemble(magnet, torque, n_traj=400, trajectory_offset=600, chunk_steps=33, **run)
    np.testing.assert_array_equal(whole.final_direction[600:], part.final_direction)
    runner = EnsembleRunner(magnet, torque, n_traj=1000, **run)
    runner.advance(123)
    state = runner.get_state()
    resumed = EnsembleRunner(magnet, torque, n_traj=1000, **run)
    resumed.set_state(state)
    while not resumed.done:
        resumed.advance(500)
    np.testing.assert_array_equal(whole.final_direction, resumed.result().final_direction)
    np.testing.assert_array_equal(whole.mean_theta, resumed.result().mean_theta)


@pytest.mark.parametrize("field_like", [0.0, 0.3])
def test_cupy_boltzmann(field_like: float) -> None:
    u = equilibrium_nz(field_like, backend="cupy", n_traj=20000)
    assert stats.kstest(u, lambda x: boltzmann_nz_cdf(x, KV=1.0, T_m=0.5, fl=field_like)).pvalue > 1e-3


@pytest.mark.parametrize(("case", "dt"), [("antidamping", 0.05), ("fieldlike", 0.1)])
def test_cupy_mean_first_passage_time(case: str, dt: float) -> None:
    tau, mean, sem = first_passage_mean(MFPT_CASES[case], dt=dt, n_traj=20000, seed=8, backend="cupy")
    assert abs(mean - tau) < 3.0 * sem + MFPT_DT_BIAS * tau, (tau, mean, sem)

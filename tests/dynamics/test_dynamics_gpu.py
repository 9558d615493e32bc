"""CuPy/GPU versions of the engine checks (marked gpu: skipped without CuPy and a CUDA device)."""

from __future__ import annotations

import numpy as np
import pytest
from ensemble_checks import MFPT_CASES, MFPT_DT_BIAS, equilibrium_nz, first_passage_mean, synthetic_table
from llg_oracles import boltzmann_nz_cdf
from scipy import stats

from gpuqd.dynamics import ConstantTorque, EnsembleRunner, Macrospin, run_ensemble
from gpuqd.dynamics.philox import philox4x32, split_seed
from gpuqd.transport import TorqueTable

pytestmark = pytest.mark.gpu


def test_device_philox_words_equal_numpy() -> None:
    from gpuqd.dynamics.cupy_backend import philox_words_device

    key = split_seed(0x0123456789ABCDEF)
    for step, offset in [(0, 0), (2**32 + 17, 2**32 - 100), (123456, 7)]:
        device = philox_words_device(step, offset, 1000, key)
        ids = np.arange(offset, offset + 1000, dtype=np.uint64)
        host = philox4x32(
            (step & 0xFFFFFFFF, step >> 32, ids & np.uint64(0xFFFFFFFF), ids >> np.uint64(32)), key
        )
        np.testing.assert_array_equal(device, np.stack(host, axis=1).astype(np.uint32))


def _table() -> TorqueTable:
    return synthetic_table(96)


@pytest.mark.parametrize("free", ["drain", "both"])
@pytest.mark.parametrize("use_table", [False, True])
def test_cupy_trajectories_match_numpy_after_1000_steps(use_table: bool, free: str) -> None:
    magnet = Macrospin(S=1.0, KV=0.1, alpha=0.2, sigma2=0.01, free=free, K_cubic=0.02, ac_field=(0.01, 0.3))
    torque = _table() if use_table else ConstantTorque(0.02, 0.015, 0.4, source_field_like=-0.01,
                                                       source_damping_like=-0.02)
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

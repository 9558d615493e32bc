"""Defect: two inset points on one grid pixel ask for θ(t) samples of the same trajectory twice; the kernel
engines (cpu, cupy) filled only one of the two rows (the other stayed NaN) while NumPy and Dask filled both.
Oracle: every engine's rows equal the NumPy engine's, and a repeated trajectory's rows are identical."""

from __future__ import annotations

import numpy as np
import pytest

from gpuqd.dynamics import ConstantTorque, EnsembleRunner, Macrospin

BACKENDS = ["numpy", "cpu", pytest.param("cupy", marks=pytest.mark.gpu)]
MAGNET = Macrospin(S=1.0, KV=0.05, alpha=0.2, sigma2=0.01)
TORQUE = ConstantTorque(-0.02, 0.03, 0.7)
RUN = dict(n_traj=8, dt=0.05, t_end=5.0, seed=11, sample_every=10, sample_trajectories=[3, 3, 5, 3])


def _samples(backend: str, resume_at: int | None = None) -> np.ndarray:
    runner = EnsembleRunner(MAGNET, TORQUE, backend=backend, **RUN)
    if resume_at is not None:
        runner.advance(resume_at)
        state = runner.get_state()
        runner = EnsembleRunner(MAGNET, TORQUE, backend=backend, **RUN)
        runner.set_state(state)
    while not runner.done:
        runner.advance(25)
    return runner.result().samples


@pytest.mark.parametrize("backend", BACKENDS)
def test_repeated_sample_trajectory_fills_every_row(backend: str) -> None:
    samples = _samples(backend)
    assert np.all(np.isfinite(samples))
    np.testing.assert_array_equal(samples[0], samples[1])
    np.testing.assert_array_equal(samples[0], samples[3])
    reference = _samples("numpy")
    # numpy vs the fused kernel: rounding only (≲ 1e-12 after 100 contracting steps; 1e-9 is margin)
    np.testing.assert_allclose(samples, reference, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(_samples(backend, resume_at=37), samples)  # through a checkpoint too

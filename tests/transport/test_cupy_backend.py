"""CuPy transport backend against NumPy (needs a CUDA device and CuPy; skipped otherwise): the digamma
kernel against SciPy, kernels, solves (including θ = 0, π) and TorqueTable.build to 1e-10 relative."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import psi

from gpuqd.transport import SpinValve, TorqueTable, drain_direction

pytestmark = pytest.mark.gpu

PAPER = dict(U=1000.0, T=10.0, gamma_S=2 / 3, gamma_D=4 / 3, p_S=0.99, p_D=0.99)
NAMES = (
    "charge_current",
    "torque_field_like",
    "torque_damping_like",
    "source_field_like",
    "source_damping_like",
    "occupations",
    "dot_spin",
    "spin_current_drain",
    "spin_current_source",
)


def _close(a: np.ndarray, b: np.ndarray, rtol: float = 1e-10) -> None:
    np.testing.assert_allclose(a, b, rtol=0, atol=rtol * max(np.abs(b).max(), 1e-300))


@pytest.mark.device_numerics
def test_cupy_digamma_matches_scipy() -> None:
    import cupy

    from gpuqd.transport.arrays import digamma

    y = np.concatenate([-np.logspace(-6, 4.5, 300), [0.0], np.logspace(-6, 4.5, 300)])
    z = (np.array([0.5, 1.0, 3.7, 25.0])[:, None] + 1j * y[None, :]).ravel()
    ours = cupy.asnumpy(digamma(cupy.asarray(z), cupy))
    err = np.abs(ours - psi(z)) / np.maximum(1.0, np.abs(psi(z)))
    assert err.max() <= 1e-13


def test_kernel_coefficients_agree() -> None:
    import cupy

    cpu, gpu = SpinValve(**PAPER), SpinValve(**PAPER, backend="cupy")
    eps, bias = np.array([-300.0, 200.0, 450.0]), np.array([50.0, 100.0, -20.0])
    _close(cupy.asnumpy(gpu.kernel_coefficients(eps, bias)), cpu.kernel_coefficients(eps, bias))
    _close(cupy.asnumpy(gpu.angular_coefficients(eps, bias)), cpu.angular_coefficients(eps, bias))


def _condition_numbers(
    valve: SpinValve, eps: np.ndarray, bias: np.ndarray, theta: np.ndarray, order: int
) -> np.ndarray:
    """κ of the normalised stationary system A x = e (docs/physics.md §4.3) at every (ε̃, V, θ), NumPy."""
    e, v, t = (a.ravel() for a in np.broadcast_arrays(eps, bias, theta))
    coefficients = valve.kernel_coefficients(e, v, order)
    generator = valve.generator(coefficients, np.array([0.0, 0.0, 1.0]), drain_direction(t), order)
    a = np.array(generator.sum(axis=-3), dtype=float)  # the leads summed
    a[..., 1, :] = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    return np.linalg.cond(a).reshape(np.broadcast_shapes(eps.shape, bias.shape, theta.shape))


@pytest.mark.parametrize("order", [1, 2])
def test_solve_agrees_including_collinear(order: int) -> None:
    """Both backends finite everywhere (order 1 at ε̃ = 0, V = 0 was NaN on CuPy: an exactly singular system),
    and equal to 1e-10 of the largest value plus what the conditioning allows: the two backends' kernels
    differ by ~1e-16 relative (different digamma implementations, FMA), and a solve turns an input error δ
    into ≤ κ δ. At T ≪ U and V = 0 the spin block's decay rate is ~Γ e^{−|ε|/T}, so κ reaches 1e7 … 1e16 there
    (the spin there is rounding noise in either backend)."""
    cpu, gpu = SpinValve(**PAPER), SpinValve(**PAPER, backend="cupy")
    eps = np.linspace(-0.5, 0.5, 7)[:, None, None] * 1000.0
    bias = np.linspace(-0.5, 0.5, 5)[None, :, None] * 1000.0
    theta = np.array([0.0, 0.01 * np.pi, 0.5, 1.5, 2.5, 0.99 * np.pi, np.pi])[None, None, :]
    a, b = gpu.solve(eps, bias, theta, order=order), cpu.solve(eps, bias, theta, order=order)
    kappa = _condition_numbers(cpu, eps, bias, theta, order)
    for name in NAMES:
        ours, reference = getattr(a, name), getattr(b, name)
        assert np.all(np.isfinite(ours)) and np.all(np.isfinite(reference)), name
        scale = np.abs(reference).max()
        allowed = 1e-10 * scale + 1e-15 * kappa * scale
        allowed = allowed.reshape(allowed.shape + (1,) * (ours.ndim - allowed.ndim))
        assert np.all(np.abs(ours - reference) <= allowed), (name, np.max(np.abs(ours - reference) / allowed))


def test_solve_vectors_agree() -> None:
    cpu, gpu = SpinValve(**PAPER), SpinValve(**PAPER, backend="cupy")
    rng = np.random.default_rng(3)
    n_s = rng.normal(size=(50, 3))
    n_s /= np.linalg.norm(n_s, axis=-1, keepdims=True)
    n_d = drain_direction(rng.uniform(0.1, 3.0, 50))
    a, b = gpu.solve_vectors(200.0, 100.0, n_s, n_d), cpu.solve_vectors(200.0, 100.0, n_s, n_d)
    for name in NAMES:
        _close(getattr(a, name), getattr(b, name))


def test_torque_table_build_agrees() -> None:
    cpu, gpu = SpinValve(**PAPER), SpinValve(**PAPER, backend="cupy")
    eps, bias = np.array([-250.0, 50.0, 250.0]), np.array([-150.0, 100.0])
    a = TorqueTable.build(gpu, eps, bias, extra_theta=[0.01 * np.pi, 0.99 * np.pi])
    b = TorqueTable.build(cpu, eps, bias, extra_theta=[0.01 * np.pi, 0.99 * np.pi])
    for name in ("field_like", "damping_like", "charge_current", "source_field_like", "source_damping_like"):
        _close(getattr(a, name), getattr(b, name))
        _close(a.extra[name], b.extra[name])
    assert a.metadata["backend"] == "cupy"

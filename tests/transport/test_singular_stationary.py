"""Defect: order 1 at ε̃ = 0, V = 0 (T ≪ U) gave NaN on CuPy. There the spin decay rate of the singly occupied
dot, ~Γ e^{−U/2T}, rounds to ±1e-16 or to exactly 0, so the stationary system is singular in floating point;
NumPy raised LinAlgError (least-squares fallback), CuPy's batched solve returns NaN silently. Oracles: the
exact stationary state of a hand-made singular generator, and particle-hole symmetry at ε̃ = 0, V = 0
(P0 = P2, no current, no spin accumulation)."""

from __future__ import annotations

import types

import numpy as np

from gpuqd.transport import SpinValve
from gpuqd.transport.stationary import stationary_state

PAPER = dict(U=1000.0, T=10.0, gamma_S=2 / 3, gamma_D=4 / 3, p_S=0.99, p_D=0.99)


def _singular_generator() -> np.ndarray:
    """Order-1 generator at ε̃ = 0, V = 0 with the spin decay rate exactly 0: empty and doubly occupied states
    decay into the singly occupied one at rate 4 (and feed the spin), nothing leaves it."""
    w = np.zeros((6, 6))
    w[0, 0], w[2, 2] = -4.0, -4.0
    w[1, 0], w[1, 2] = 4.0, 4.0
    w[3, 0], w[3, 2] = 0.63, -0.63
    w[5, 0], w[5, 2] = 1.8, -1.8
    return w


def _cupy_like_numpy() -> types.SimpleNamespace:
    """NumPy with CuPy's solve semantics (no error on a singular system: NaN), the functions _solve uses."""

    def solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = np.empty(b.shape)
        for k in np.ndindex(a.shape[:-2]):
            singular = np.linalg.matrix_rank(a[k]) < a.shape[-1]
            out[k] = np.nan if singular else np.linalg.solve(a[k], b[k])
        return out

    return types.SimpleNamespace(
        linalg=types.SimpleNamespace(solve=solve),
        **{name: getattr(np, name) for name in ("all", "isfinite", "flatnonzero", "asarray", "array", "zeros")},
        asnumpy=np.asarray,
    )


def test_singular_system_gets_the_exact_state_on_both_backends() -> None:
    batch = np.stack([_singular_generator(), np.diag([-1.0, 0.0, -1.0, -1.0, -1.0, -1.0]) + np.eye(6, k=-1)])
    batch[1, 1, 0] = 1.0
    exact = np.array([0.0, 1.0, 0.0, 0.0, 0.0, 0.0])  # P1 = 1; spin source 0.63 P0 − 0.63 P2 = 0
    for xp in (np, _cupy_like_numpy()):
        x = stationary_state(batch, xp)
        assert np.all(np.isfinite(x))
        np.testing.assert_allclose(x[0], exact, atol=1e-15)
        # the regular system of the batch is solved exactly as alone (no batch-wide fallback)
        np.testing.assert_array_equal(x[1], stationary_state(batch[1:], np)[0])


def test_order1_zero_detuning_zero_bias_with_the_kernel_digamma(monkeypatch) -> None:
    """Order 1 at exactly ε̃ = 0, V = 0 with ψ from the host build of the CuPy kernel (digamma.cuh) and CuPy's
    solve semantics: finite, particle-hole symmetric, no current."""
    from gpuqd.transport import frequency_integrals, stationary

    host = _host_digamma()
    monkeypatch.setattr(frequency_integrals, "digamma", lambda z, xp: host(np.asarray(z)))
    valve = SpinValve(**PAPER)
    cupy_like = _cupy_like_numpy()
    monkeypatch.setattr(stationary, "_solve", _with_xp(stationary._solve, cupy_like))
    result = valve.solve(np.array([0.0]), np.array([0.0]), np.array([0.0, 0.5, np.pi / 2, np.pi]), order=1)
    for name in ("charge_current", "occupations", "dot_spin", "torque_field_like", "torque_damping_like"):
        assert np.all(np.isfinite(getattr(result, name))), name
    # exact: P0 = P2 ≈ e^{−U/2T} = 2e-22 (symmetric), P1 = 1; computed from O(1) rates: rounding, a few 1e-16
    np.testing.assert_allclose(result.occupations[..., [0, 2]], 0.0, atol=1e-14)
    np.testing.assert_allclose(result.occupations[..., 1], 1.0, atol=1e-14)
    assert np.abs(result.charge_current).max() < 1e-14
    assert np.abs(result.dot_spin).max() < 1e-14


def _with_xp(solve, xp):  # noqa: ANN001, ANN202
    return lambda a, rhs, _xp: solve(a, rhs, xp)


def _host_digamma():  # noqa: ANN202
    """ψ of gpuqd/transport/digamma.cuh built for the host (as tests/transport/test_digamma_kernel.py)."""
    import ctypes
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    import pytest

    from gpuqd.transport.arrays import DIGAMMA_SOURCE

    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("g++ not available")
    work = Path(tempfile.mkdtemp(prefix="gpuqd-digamma-"))
    (work / "h.cpp").write_text(
        f'#include "{DIGAMMA_SOURCE.resolve()}"\n'
        'extern "C" void f(const double* x, const double* y, double* re, double* im, long n) {\n'
        "    for (long k = 0; k < n; ++k) gpuqd_digamma(x[k], y[k], &re[k], &im[k]);\n}\n"
    )
    subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(work / "h.so"), str(work / "h.cpp")], check=True)
    function = ctypes.CDLL(str(work / "h.so")).f
    pointer = np.ctypeslib.ndpointer(dtype=np.float64, flags="C_CONTIGUOUS")
    function.argtypes = [pointer] * 4 + [ctypes.c_long]

    def evaluate(z: np.ndarray) -> np.ndarray:
        flat = np.asarray(z, dtype=complex).ravel()
        x, y = np.ascontiguousarray(flat.real), np.ascontiguousarray(flat.imag)
        re, im = np.empty_like(x), np.empty_like(x)
        function(x, y, re, im, x.size)
        return (re + 1j * im).reshape(np.shape(z))

    return evaluate

"""The float32 Box–Muller pieces of gpuqd.dynamics.philox against float64 NumPy (an independent
implementation): over every one of the 2²³ uniforms the generator can produce, ln u to 2e-7 relative
(the atanh series is truncated at 3e-10, the rest is float32 rounding) and sin, cos of 2πu to 2e-7
absolute; the uniforms are exact and inside (0, 1)."""

from __future__ import annotations

import numpy as np

from gpuqd.dynamics.philox import log_f32, sincospi_f32, uniform_f32


def _all_uniforms() -> np.ndarray:
    return uniform_f32(np.arange(2**23, dtype=np.uint64) << np.uint64(9))


def test_uniforms_are_exact_and_open() -> None:
    u = _all_uniforms()
    assert u.dtype == np.float32 and u.min() > 0.0 and u.max() < 1.0
    np.testing.assert_array_equal(u.astype(np.float64), (np.arange(2**23) + 0.5) * 2.0**-23)


def test_log_f32_accuracy() -> None:
    u = _all_uniforms()
    exact = np.log(u.astype(np.float64))
    assert np.max(np.abs(log_f32(u) - exact) / np.abs(exact)) < 2e-7


def test_sincospi_f32_accuracy() -> None:
    u = _all_uniforms()
    s, c = sincospi_f32(u + u)
    angle = 2.0 * np.pi * u.astype(np.float64)
    assert np.max(np.abs(s - np.sin(angle))) < 2e-7
    assert np.max(np.abs(c - np.cos(angle))) < 2e-7

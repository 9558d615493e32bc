"""The float32 Box–Muller pieces of gpuqd.dynamics.philox.

* against float64/long-double NumPy (an independent implementation), over every one of the 2²³ uniforms
  the generator can produce: −2 ln u to 1.5e-7 relative (interpolation error 7e-8 plus float32
  rounding), sin and cos of 2πu to 1.5e-7 absolute; the uniforms are exact and inside (0, 1);
* the exact float32 fused multiply-add emulation against exactly rounded references;
* bit-identity with the host build of kernel/philox.cuh (C fmaf) for all 2²³ inputs: the engines draw
  the same normals.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from gpuqd.dynamics.engines.cpu_engine import normal_parts_host
from gpuqd.dynamics.philox import fma_f32, minus_two_log_f32, sincos_2pi_f32, uniform_f32

ALL_WORDS = (np.arange(2**23, dtype=np.uint64) << np.uint64(9)).astype(np.uint32)


def test_uniforms_are_exact_and_open() -> None:
    u = uniform_f32(ALL_WORDS)
    assert u.dtype == np.float32 and u.min() > 0.0 and u.max() < 1.0
    np.testing.assert_array_equal(u.astype(np.float64), (np.arange(2**23) + 0.5) * 2.0**-23)


def test_minus_two_log_accuracy() -> None:
    u = uniform_f32(ALL_WORDS)
    exact = -2.0 * np.log(u.astype(np.longdouble))
    assert float(np.max(np.abs((minus_two_log_f32(u) - exact) / exact))) < 1.5e-7


def test_sincos_2pi_accuracy() -> None:
    s, c = sincos_2pi_f32(ALL_WORDS)
    angle = 2.0 * np.pi * uniform_f32(ALL_WORDS).astype(np.longdouble)
    assert float(np.max(np.abs(s - np.sin(angle)))) < 1.5e-7
    assert float(np.max(np.abs(c - np.cos(angle)))) < 1.5e-7


def test_fma_f32_is_exactly_rounded() -> None:
    """Against an exact oracle (a·b + c in rational arithmetic, the nearest float32, ties to even) and on
    the double-rounding trap where rounding the float64 sum would be wrong."""
    rng = np.random.default_rng(7)
    a = rng.standard_normal(20000).astype(np.float32)
    b = rng.standard_normal(20000).astype(np.float32)
    c = (rng.standard_normal(20000) * 10.0 ** rng.integers(-12, 3, 20000)).astype(np.float32)

    got = fma_f32(a, b, c)
    for i in range(0, 20000, 97):
        exact = Fraction(float(a[i])) * Fraction(float(b[i])) + Fraction(float(c[i]))
        lo = np.float32(float(exact))  # within one ulp of the answer
        candidates = [np.nextafter(lo, np.float32(-np.inf)), lo, np.nextafter(lo, np.float32(np.inf))]
        best = min(candidates, key=lambda x: (abs(Fraction(float(x)) - exact), int(np.array(x).view(np.uint32)) & 1))
        assert got[i] == best, i
    # double-rounding trap: a·b + c = 2⁸ + 2⁻¹⁶ + 2⁻⁴⁶ rounds in float64 to the float32 tie 2⁸ + 2⁻¹⁶, which
    # then rounds to even (2⁸); exactly rounded it is 2⁸ + 2⁻¹⁵
    x, y, z = np.float32(1.0 + 2.0**-15), np.float32(-(2.0**-16) + 2.0**-31), np.float32(2.0**8 + 2.0**-15)
    assert np.float32(float(x) * float(y) + float(z)) == np.float32(2.0**8)  # the naive emulation is wrong
    assert fma_f32(x, y, z) == np.float32(2.0**8 + 2.0**-15)


def test_host_build_draws_bit_identical_normal_parts() -> None:
    minus_two_log, sincos = normal_parts_host(ALL_WORDS)
    np.testing.assert_array_equal(minus_two_log, minus_two_log_f32(uniform_f32(ALL_WORDS)))
    s, c = sincos_2pi_f32(ALL_WORDS)
    np.testing.assert_array_equal(sincos[:, 0], s)
    np.testing.assert_array_equal(sincos[:, 1], c)

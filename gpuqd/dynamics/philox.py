"""Counter-based Philox4x32-10 generator and the Gaussian noise derived from it (docs/physics.md §11).

The generator is stateless: the four 32-bit words for trajectory ``j`` at step ``k`` are a pure
function of ``(seed, k, j)``, with counter ``(k_lo, k_hi, j_lo, j_hi)`` and key ``(seed_lo, seed_hi)``.
Integer arithmetic is done in uint64 so the 32×32→64-bit products are exact. The CUDA kernel
(``kernel/philox.cuh``) produces identical words.

Gaussians (Box–Muller, in float32, the same operations in every engine): a word ``w`` is mapped to
``u = ((w >> 9) + ½) 2⁻²³ ∈ (0, 1)`` (exact in float32). Words 0, 1 give ``r0 = sqrt(−2 ln u0)``,
``z0 = r0 cos(2π u1)``, ``z1 = r0 sin(2π u1)``; words 2, 3 give ``z2 = sqrt(−2 ln u2) cos(2π u3)``;
the matching sine is discarded. One 4-word draw therefore yields the three normals a macrospin needs
per step. −2 ln u, sin and cos are evaluated by :func:`minus_two_log_f32` and :func:`sincos_2pi_f32`
with float32 +, −, ×, sqrt and fused multiply-adds only, each correctly rounded in IEEE arithmetic
(NumPy emulates the fused multiply-add exactly, :func:`fma_f32`), so NumPy, the host build (``fmaf``)
and the GPU (``__fmaf_rn``, ``__fadd_rn``/``__fmul_rn``/``__fsqrt_rn``) produce bit-identical normals
(tests/dynamics/test_normals_f32.py checks every one of the 2²³ inputs against the host build). Their
error (ln u to 1e-7 relative, sin and cos to 6e-8; tails cut at |z| = sqrt(2·24 ln 2) ≈ 5.8,
probability 8e-9) is far below any statistical resolution of the thermal field (docs/physics.md §11);
the FP64 state integration is unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MASK32 = 0xFFFFFFFF
PHILOX_M0 = 0xD2511F53
PHILOX_M1 = 0xCD9E8D57
PHILOX_W0 = 0x9E3779B9
PHILOX_W1 = 0xBB67AE85
N_ROUNDS = 10
TWO_PI = 6.283185307179586
INV_2_32 = 2.0**-32
# Source-magnet noise stream (free="both"): the high bit of j_hi is flipped, so trajectory ids
# must stay below 2**63.
SOURCE_STREAM_BIT = 0x80000000


def split_seed(seed: int) -> tuple[int, int]:
    """Key words (lo, hi) of a 64-bit non-negative seed."""
    if not 0 <= int(seed) < 2**64:
        raise ValueError(f"seed must be an integer in [0, 2**64), got {seed}")
    seed = int(seed)
    return seed & MASK32, (seed >> 32) & MASK32


def round_keys(key: tuple[int, int]) -> list[tuple[int, int]]:
    """The 10 per-round keys of Philox4x32-10 (Weyl sequence bumps, mod 2**32)."""
    k0, k1 = key
    keys = []
    for _ in range(N_ROUNDS):
        keys.append((k0, k1))
        k0 = (k0 + PHILOX_W0) & MASK32
        k1 = (k1 + PHILOX_W1) & MASK32
    return keys


def philox4x32(counter: tuple[Any, Any, Any, Any], key: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """Philox4x32-10 of ``counter`` (four broadcastable arrays of 32-bit values) under ``key``.

    Returns the four output words as uint64 arrays holding values < 2**32.
    """
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint64) for c in counter)
    c0, c1, c2, c3 = np.broadcast_arrays(c0, c1, c2, c3)
    m0, m1 = np.uint64(PHILOX_M0), np.uint64(PHILOX_M1)
    shift, mask = np.uint64(32), np.uint64(MASK32)
    for k0, k1 in round_keys(key):
        p0 = c0 * m0
        p1 = c2 * m1
        c0, c1, c2, c3 = (
            (p1 >> shift) ^ c1 ^ np.uint64(k0),
            p1 & mask,
            (p0 >> shift) ^ c3 ^ np.uint64(k1),
            p0 & mask,
        )
    return c0, c1, c2, c3


F32 = np.float32
# float32 constants of the normal generator (kernel/philox.cuh spells the same values). The polynomials
# are Chebyshev interpolants computed in extended precision (80-bit long double), rounded to float32:
# ln(1 + t) = t + t² P(t) on t ∈ [√½ − 1, √2 − 1] (degree 8), sin z = z + z³ S(z²) (degree 2) and
# cos z = 1 + z² C(z²) (degree 3) on z ∈ [−π/4, π/4]; highest power first.
SQRT2_F32 = F32(1.4142135)
LN2_F32 = F32(0.6931472)
LOG1P_POLY_F32 = tuple(
    F32(c)
    for c in (
        -0.07866668,
        0.12821749,
        -0.13101634,
        0.14189,
        -0.166276,
        0.20001969,
        -0.25000772,
        0.33333322,
        -0.49999997,
    )
)
SIN_POLY_F32 = tuple(F32(c) for c in (-0.0001958795, 0.008332749, -0.16666664))
COS_POLY_F32 = tuple(F32(c) for c in (2.4463838e-05, -0.001388759, 0.04166665, -0.5))
# u = k·2⁻²³ + 2⁻²⁴ and z = π(d + ½)·2⁻²², each by one fused multiply-add
TWO_M23_F32, TWO_M24_F32 = F32(2.0**-23), F32(2.0**-24)
PI_2M22_F32, PI_2M23_F32 = F32(7.490141e-07), F32(3.7450704e-07)


def fma_f32(a: Any, b: Any, c: Any, check_ties: bool = True) -> np.ndarray:
    """a·b + c rounded once to float32 (IEEE fusedMultiplyAdd, as fmaf / __fmaf_rn), for float32 inputs.

    The product of two float32 values is exact in float64, so s = fl64(a·b + c) is within half a float64
    ulp of the exact value, and rounding s to float32 is correct unless s lies exactly on a float32
    midpoint (rounding to float64 never crosses a float32 midpoint, which is itself a float64 number).
    Only those rare elements (and any below the float32 normal range) are redone exactly: the float64
    sum is made round-to-odd with its two-sum error, and a round-to-odd float64 (53 ≥ 24 + 2 bits)
    rounds correctly to float32 (Boldo & Melquiond, IEEE Trans. Comput. 57 (2008) 462).
    ``check_ties=False`` skips that check: only for inputs known not to produce midpoints (the noise
    functions below, whose 2²³ possible inputs tests/dynamics/test_normals_f32.py checks exhaustively
    against C's fmaf).
    """
    product = np.asarray(a, dtype=F32).astype(np.float64) * np.asarray(b, dtype=F32).astype(np.float64)
    addend = np.asarray(c, dtype=F32).astype(np.float64)
    total = product + addend
    out = np.asarray(total.astype(F32))
    if not check_ties:
        return out
    low_bits = total.view(np.uint64) & np.uint64(_F32_TIE_MASK)
    redo = (low_bits == np.uint64(_F32_TIE_BITS)) | (np.abs(total) < _F32_NORMAL_MIN)
    if np.any(redo):
        p, q = np.broadcast_arrays(product, addend)
        p, q, t = p[redo], q[redo], total[redo]
        back = t - p
        error = (p - (t - back)) + (q - back)
        even = (t.view(np.uint64) & np.uint64(1)) == 0
        t = np.where((error != 0) & even, np.nextafter(t, np.where(error > 0, np.inf, -np.inf)), t)
        out = np.array(out, copy=True)
        out[redo] = t.astype(F32)
    return out


# float64 bits below a float32 mantissa (53 − 24 = 29) and the pattern of an exact float32 midpoint
_F32_TIE_MASK, _F32_TIE_BITS = (1 << 29) - 1, 1 << 28
_F32_NORMAL_MIN = 2.0**-125


def _horner_f32(coefficients: tuple[np.float32, ...], x: np.ndarray) -> np.ndarray:
    """Σ c_i x^i by fused multiply-adds, highest power first; float64 arrays carry the float32 values
    between the steps (each step: exact product, one float64 sum, one rounding to float32: fma_f32
    without the midpoint check, see there)."""
    x64 = np.asarray(x, dtype=F32).astype(np.float64)
    out = np.full(np.shape(x), coefficients[0], dtype=np.float64)
    for c in coefficients[1:]:
        out = (out * x64 + np.float64(c)).astype(F32).astype(np.float64)
    return out.astype(F32)


def uniform_f32(words: np.ndarray) -> np.ndarray:
    """u = ((w >> 9) + ½)·2⁻²³ ∈ [2⁻²⁴, 1 − 2⁻²⁴] in float32 (exact: at most 24 significant bits)."""
    k = (np.asarray(words, dtype=np.uint64) >> np.uint64(9)).astype(F32)
    return fma_f32(k, TWO_M23_F32, TWO_M24_F32, check_ties=False)  # exact: at most 24 significant bits


def minus_two_log_f32(u: np.ndarray) -> np.ndarray:
    """−2 ln u for normal positive float32 u, float32 operations in the kernel's order."""
    bits = np.asarray(u, dtype=F32).view(np.uint32)  # u = m·2^e, m ∈ [1, 2), from the bits
    m = ((bits & np.uint32(0x007FFFFF)) | np.uint32(0x3F800000)).view(F32)
    e = ((bits >> np.uint32(23)).astype(np.int32) - 127).astype(F32)
    big = m > SQRT2_F32
    m = np.where(big, m * F32(0.5), m).astype(F32)
    e = np.where(big, e + F32(1.0), e).astype(F32)
    t = m - F32(1.0)  # exact
    log_m = fma_f32(t * t, _horner_f32(LOG1P_POLY_F32, t), t, check_ties=False)
    return F32(-2.0) * fma_f32(e, LN2_F32, log_m, check_ties=False)


def sincos_2pi_f32(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sin 2πu, cos 2πu) in float32 for u = uniform_f32(words): k = w >> 9 = q·2²¹ + d exactly,
    2πu = q·π/2 + z with z = π(d + ½)·2⁻²² ∈ (−π/4, π/4); the kernel's operations and order."""
    k = (np.asarray(words, dtype=np.uint64) >> np.uint64(9)).astype(np.int32)  # 23 bits
    q = (k + np.int32(1 << 20)) >> 21  # quadrant 0 … 4 (k + 2²⁰ < 2²⁴: no overflow)
    z = fma_f32((k - (q << 21)).astype(F32), PI_2M22_F32, PI_2M23_F32, check_ties=False)
    z2 = z * z
    cos_z = fma_f32(z2, _horner_f32(COS_POLY_F32, z2), F32(1.0), check_ties=False)
    sin_z = fma_f32(z * z2, _horner_f32(SIN_POLY_F32, z2), z, check_ties=False)
    swap = (q & 1).astype(bool)
    sin_x = np.where(swap, cos_z, sin_z)
    cos_x = np.where(swap, sin_z, cos_z)
    np.negative(sin_x, out=sin_x, where=(q & 2).astype(bool))
    np.negative(cos_x, out=cos_x, where=((q + 1) & 2).astype(bool))
    return sin_x, cos_x


def normals_from_words(words: tuple[np.ndarray, ...], scale: float = 1.0) -> np.ndarray:
    """Three scaled standard normals per 4-word draw (see module docstring); shape (3, *words[0].shape),
    float64 (the float32 normals times ``scale``)."""
    with np.errstate(invalid="ignore"):  # both radii (words 0, 2) and both angles (words 1, 3) at once
        r01, r2 = np.sqrt(minus_two_log_f32(uniform_f32(np.stack([words[0], words[2]]))))
    (s01, _), (c01, c23) = sincos_2pi_f32(np.stack([words[1], words[3]]))
    out = np.empty((3, *np.shape(words[0])))
    out[0] = (r01 * c01).astype(np.float64)
    out[1] = (r01 * s01).astype(np.float64)
    out[2] = (r2 * c23).astype(np.float64)
    if scale != 1.0:
        out *= scale
    return out


def noise_block(
    key: tuple[int, int],
    step_start: int,
    n_steps: int,
    traj_start: int,
    n_traj: int,
    scale: float,
    stream_bit: int = 0,
) -> np.ndarray:
    """Scaled normals for steps ``step_start …`` and trajectory ids ``traj_start …``.

    Returns shape (3, n_steps, n_traj).

    ``stream_bit`` is XOR-ed into j_hi (0 for the drain, :data:`SOURCE_STREAM_BIT` for the source).
    """
    ids = np.arange(traj_start, traj_start + n_traj, dtype=np.uint64)
    return noise_block_for_ids(key, step_start, n_steps, ids, scale, stream_bit)


def noise_block_for_ids(
    key: tuple[int, int],
    step_start: int,
    n_steps: int,
    trajectory_ids: np.ndarray,
    scale: float,
    stream_bit: int = 0,
) -> np.ndarray:
    """As :func:`noise_block` for an arbitrary array of global trajectory ids; shape (3, n_steps, n_ids)."""
    steps = np.arange(step_start, step_start + n_steps, dtype=np.uint64)[:, None]
    ids = np.asarray(trajectory_ids).astype(np.uint64)[None, :]
    mask, shift = np.uint64(MASK32), np.uint64(32)
    counter = (steps & mask, steps >> shift, ids & mask, (ids >> shift) ^ np.uint64(stream_bit))
    return normals_from_words(philox4x32(counter, key), scale)

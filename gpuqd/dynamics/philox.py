"""Counter-based Philox4x32-10 generator and the Gaussian noise derived from it (docs/physics.md §11).

The generator is stateless: the four 32-bit words for trajectory ``j`` at step ``k`` are a pure
function of ``(seed, k, j)``, with counter ``(k_lo, k_hi, j_lo, j_hi)`` and key ``(seed_lo, seed_hi)``.
Integer arithmetic is done in uint64 so the 32×32→64-bit products are exact. The CUDA kernel
(``kernel/philox.cuh``) produces identical words.

Gaussians (Box–Muller, in float32, the same operations in every engine): a word ``w`` is mapped to
``u = ((w >> 9) + ½) 2⁻²³ ∈ (0, 1)`` (exact in float32). Words 0, 1 give ``r0 = sqrt(−2 ln u0)``,
``z0 = r0 cos(2π u1)``, ``z1 = r0 sin(2π u1)``; words 2, 3 give ``z2 = sqrt(−2 ln u2) cos(2π u3)``;
the matching sine is discarded. One 4-word draw therefore yields the three normals a macrospin needs
per step. ln, sin and cos are evaluated by :func:`log_f32` and :func:`sincospi_f32` with float32
additions, multiplications, one division and sqrt only, each correctly rounded in IEEE arithmetic,
so NumPy, the host build and the GPU (``__fadd_rn``/``__fmul_rn``/``__fdiv_rn``/``__fsqrt_rn``, no
fused multiply-add) produce bit-identical normals. Their error (< 2e-7 relative, tails cut at
|z| = sqrt(2·24 ln 2) ≈ 5.8, probability 8e-9) is far below any statistical resolution of the
thermal field (docs/physics.md §11); the FP64 state integration is unchanged.
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
# float32 constants of the normal generator (shared with kernel/philox.cuh, which spells them in hex)
SQRT2_F32 = F32(1.41421356237)
LN2_HI_F32 = F32(0.693145752)  # 0x3f317200: ln 2 rounded to 16 significant bits, so e·LN2_HI is exact
LN2_LO_F32 = F32(1.42860677e-06)  # 0x35bfbe8e: ln 2 − LN2_HI
# atanh series ln m = 2 (f + f³/3 + f⁵/5 + f⁷/7 + f⁹/9), f = (m − 1)/(m + 1), |f| ≤ 0.1716
ATANH_F32 = tuple(F32(c) for c in (1.0 / 3.0, 1.0 / 5.0, 1.0 / 7.0, 1.0 / 9.0))
PI_F32_HI = F32(3.14159274)  # float32(π); the product π·y is formed in float32
SIN_F32 = tuple(F32(c) for c in (-1.0 / 6.0, 1.0 / 120.0, -1.0 / 5040.0, 1.0 / 362880.0))
COS_F32 = tuple(F32(c) for c in (-0.5, 1.0 / 24.0, -1.0 / 720.0, 1.0 / 40320.0, -1.0 / 3628800.0))


def uniform_f32(words: np.ndarray) -> np.ndarray:
    """u = ((w >> 9) + ½)·2⁻²³ ∈ [2⁻²⁴, 1 − 2⁻²⁴] in float32 (exact: at most 24 significant bits)."""
    return ((np.asarray(words, dtype=np.uint64) >> np.uint64(9)).astype(F32) + F32(0.5)) * F32(2.0**-23)


def log_f32(u: np.ndarray) -> np.ndarray:
    """ln u for normal positive float32 u, float32 operations in the kernel's order."""
    bits = np.asarray(u, dtype=F32).view(np.uint32)  # u = m·2^e, m ∈ [1, 2), from the bits
    m = ((bits & np.uint32(0x007FFFFF)) | np.uint32(0x3F800000)).view(F32)
    e = ((bits >> np.uint32(23)).astype(np.int32) - 127).astype(F32)
    big = m > SQRT2_F32
    m = np.where(big, m * F32(0.5), m).astype(F32)
    e = np.where(big, e + F32(1.0), e).astype(F32)
    f = (m - F32(1.0)) / (m + F32(1.0))
    f2 = f * f
    poly = ATANH_F32[3]
    for c in ATANH_F32[2::-1]:
        poly = poly * f2 + c
    poly = poly * f2
    two_f = f + f
    return e * LN2_HI_F32 + (e * LN2_LO_F32 + (two_f + two_f * poly))


def sincospi_f32(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sin πx, cos πx) for float32 x ∈ [0, 2], float32 operations in the kernel's order."""
    q = np.rint(x + x)  # quadrant, exact; 2x is never a half-integer for the uniforms above
    y = x - q * F32(0.5)  # |y| ≤ ¼, exact
    z = y * PI_F32_HI
    z2 = z * z
    ps = SIN_F32[3]
    for c in SIN_F32[2::-1]:
        ps = ps * z2 + c
    sin_z = z + z * (z2 * ps)
    pc = COS_F32[4]
    for c in COS_F32[3::-1]:
        pc = pc * z2 + c
    cos_z = F32(1.0) + z2 * pc
    quadrant = q.astype(np.int64) & 3
    sin_x = np.select([quadrant == 0, quadrant == 1, quadrant == 2], [sin_z, cos_z, -sin_z], -cos_z)
    cos_x = np.select([quadrant == 0, quadrant == 1, quadrant == 2], [cos_z, -sin_z, -cos_z], sin_z)
    return sin_x.astype(F32), cos_x.astype(F32)


def normals_from_words(words: tuple[np.ndarray, ...], scale: float = 1.0) -> np.ndarray:
    """Three scaled standard normals per 4-word draw (see module docstring); shape (3, *words[0].shape),
    float64 (the float32 normals times ``scale``)."""
    u0, u1, u2, u3 = (uniform_f32(w) for w in words)
    with np.errstate(invalid="ignore"):
        r01 = np.sqrt(F32(-2.0) * log_f32(u0))
        r2 = np.sqrt(F32(-2.0) * log_f32(u2))
    s01, c01 = sincospi_f32(u1 + u1)
    _, c23 = sincospi_f32(u3 + u3)
    out = np.empty((3, *u0.shape))
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

"""Counter-based Philox4x32-10 generator and the Gaussian noise derived from it (spec §11).

The generator is stateless: the four 32-bit words for trajectory ``j`` at step ``k`` are a pure
function of ``(seed, k, j)``, with counter ``(k_lo, k_hi, j_lo, j_hi)`` and key ``(seed_lo, seed_hi)``.
Integer arithmetic is done in uint64 so the 32×32→64-bit products are exact. The CUDA kernel
(``kernel/philox.cuh``) produces identical words.

Gaussians (Box–Muller): a word ``w`` is mapped to ``u = (w + 1) / 2**32 ∈ (0, 1]`` (exact in
float64, so ``log u`` is finite). Words 0, 1 give ``r0 = sqrt(−2 log u0)``, ``z0 = r0 cos(2π u1)``,
``z1 = r0 sin(2π u1)``; words 2, 3 give ``z2 = sqrt(−2 log u2) cos(2π u3)``; the matching sine is
discarded. One 4-word draw therefore yields the three normals a macrospin needs per step.
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


def normals_from_words(words: tuple[np.ndarray, ...], scale: float = 1.0) -> np.ndarray:
    """Three scaled standard normals per 4-word draw (see module docstring); shape (3, *words[0].shape)."""
    u0, u1, u2, u3 = ((w.astype(np.float64) + 1.0) * INV_2_32 for w in words)
    r01 = np.sqrt(-2.0 * np.log(u0))
    r2 = np.sqrt(-2.0 * np.log(u2))
    a01 = TWO_PI * u1
    a2 = TWO_PI * u3
    out = np.empty((3, *u0.shape))
    np.multiply(r01, np.cos(a01), out=out[0])
    np.multiply(r01, np.sin(a01), out=out[1])
    np.multiply(r2, np.cos(a2), out=out[2])
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

"""Philox4x32-10 known answers (docs/physics.md §11) and the Gaussian mapping."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from gpuqd.dynamics.philox import noise_block, philox4x32, split_seed

ONES = 0xFFFFFFFF
KNOWN_ANSWERS = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((ONES, ONES, ONES, ONES), (ONES, ONES), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


@pytest.mark.parametrize(("counter", "key", "expected"), KNOWN_ANSWERS)
def test_known_answers(counter, key, expected) -> None:
    assert tuple(int(w) for w in philox4x32(counter, key)) == expected


def test_vectorised_matches_scalar() -> None:
    rng = np.random.default_rng(0)
    counters = rng.integers(0, 2**32, size=(4, 50), dtype=np.uint64)
    key = (0x12345678, 0x9ABCDEF0)
    batch = philox4x32(tuple(counters), key)
    for i in range(50):
        single = philox4x32(tuple(int(c) for c in counters[:, i]), key)
        assert [int(b[i]) for b in batch] == [int(s) for s in single]


def test_seed_split_and_range() -> None:
    assert split_seed(0x0123456789ABCDEF) == (0x89ABCDEF, 0x01234567)
    with pytest.raises(ValueError, match="seed"):
        split_seed(-1)


def test_noise_block_is_pure_function_of_step_and_id() -> None:
    key = split_seed(7)
    whole = noise_block(key, 10, 6, 100, 40, 1.0)
    part = noise_block(key, 13, 2, 120, 5, 1.0)
    np.testing.assert_array_equal(whole[:, 3:5, 20:25], part)


def test_normals_are_standard_normal() -> None:
    z = noise_block(split_seed(1), 0, 20, 0, 5000, 1.0).reshape(3, -1)
    for component in z:  # false-positive rate 1e-3 per component
        assert stats.kstest(component, "norm").pvalue > 1e-3
    corr = np.corrcoef(z)
    assert np.all(np.abs(corr - np.eye(3)) < 0.01)

"""``cupyx`` of the stand-in (tests/cupy_standin/README.md): pinned host arrays are NumPy arrays."""

from __future__ import annotations

from typing import Any

import numpy as _np


def empty_pinned(shape: Any, dtype: Any = float, order: str = "C") -> _np.ndarray:
    return _np.empty(shape, dtype=dtype, order=order)


def zeros_pinned(shape: Any, dtype: Any = float, order: str = "C") -> _np.ndarray:
    return _np.zeros(shape, dtype=dtype, order=order)

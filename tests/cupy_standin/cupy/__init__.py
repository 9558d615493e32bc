"""CuPy stand-in for tests without a GPU (``GPUQD_CUPY_STANDIN=1``; tests/cupy_standin/README.md).

What gpuqd uses of ``cupy`` on top of NumPy: device arrays with CuPy's host/device rules
(:mod:`cupy._array`), the array functions, ``linalg.solve`` with CuPy's behaviour on singular systems,
``RawModule``/``RawKernel``/``ElementwiseKernel`` compiled by the real NVRTC and launched on the host
build of the same source after a check of every argument against the compiled parameter layout
(:mod:`cupy._kernels`), and ``cupy.cuda`` (one device; events and streams complete at once).
Not a user feature: it lives under tests/ and is not installed.
"""

from __future__ import annotations

from typing import Any

import numpy as _np

from cupy import cuda, linalg
from cupy._array import device_function, ndarray, unwrap, wrap
from cupy._kernels import ElementwiseKernel, RawKernel, RawModule

__version__ = "14.0.0+gpuqd-standin"
STANDIN = True

#: Functions that accept NumPy arrays (host → device conversion).
_CONVERTING = {"asarray", "array", "ascontiguousarray", "asfortranarray"}


def asnumpy(a: Any, stream: Any = None, order: str = "C", out: Any = None, blocking: bool = True) -> Any:
    """Device → host copy (a NumPy array or scalar is returned as NumPy)."""
    if isinstance(a, ndarray):
        return a.get(order=order, out=out)
    return _np.asarray(a, order=order)


def get_array_module(*args: Any) -> Any:
    import sys

    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else _np


def __getattr__(name: str) -> Any:
    value = getattr(_np, name)
    if isinstance(value, type) or not callable(value):
        return value  # dtypes, scalar types, constants
    return device_function(value, host_ok=name in _CONVERTING)


__all__ = ["ElementwiseKernel", "RawKernel", "RawModule", "asnumpy", "cuda", "linalg", "ndarray", "unwrap", "wrap"]

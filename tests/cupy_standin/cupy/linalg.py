"""``cupy.linalg`` of the stand-in: ``solve`` as CuPy's (no error on a singular system: with the default
``cupyx.errstate(linalg="ignore")`` cuSOLVER/cuBLAS return non-finite values, here NaN), the rest NumPy's."""

from __future__ import annotations

from typing import Any

import numpy as _np

from cupy._array import device_function, unwrap, wrap


def solve(a: Any, b: Any) -> Any:
    a_host, b_host = unwrap(a), unwrap(b)
    try:
        return wrap(_np.linalg.solve(a_host, b_host))
    except _np.linalg.LinAlgError:
        flat_a = a_host.reshape(-1, *a_host.shape[-2:])
        flat_b = b_host.reshape(-1, *b_host.shape[-2:]) if b_host.ndim == a_host.ndim else b_host.reshape(1, -1)
        out = _np.empty(_np.broadcast_shapes(flat_b.shape, flat_b.shape), dtype=_np.result_type(a_host, b_host))
        for k in range(flat_a.shape[0]):
            try:
                out[k] = _np.linalg.solve(flat_a[k], flat_b[k])
            except _np.linalg.LinAlgError:
                out[k] = _np.nan
        return wrap(out.reshape(b_host.shape))


def __getattr__(name: str) -> Any:
    return device_function(getattr(_np.linalg, name))

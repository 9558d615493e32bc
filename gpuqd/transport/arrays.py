"""Array backends of the transport: NumPy (CPU) or CuPy (GPU), one code path through a module ``xp``.

The only special function the transport needs is the complex digamma ψ(z) at Re z ≥ ½
(docs/physics.md §3.2, §4.5): SciPy's on NumPy, the elementwise kernel of ``digamma.cuh`` on CuPy
(CuPy has no complex digamma).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

BACKENDS = ("numpy", "cupy")
DIGAMMA_SOURCE = Path(__file__).with_name("digamma.cuh")


def array_module(backend: str) -> ModuleType:
    """The array module of ``backend`` ("numpy" or "cupy")."""
    if backend == "numpy":
        return np
    if backend == "cupy":
        try:
            import cupy
        except ImportError as exc:  # pragma: no cover - depends on the machine
            raise ValueError("backend 'cupy' needs CuPy (pip install gpuqd[gpu]); allowed: numpy, cupy") from exc
        return cupy
    raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")


def to_numpy(a: Any) -> np.ndarray:
    """Host copy of an array of either backend."""
    return a.get() if hasattr(a, "get") else np.asarray(a)


@cache
def _cupy_digamma_kernel() -> Any:  # pragma: no cover - needs a GPU
    import cupy

    return cupy.ElementwiseKernel(
        "complex128 z",
        "complex128 out",
        "double re, im; gpuqd_digamma(z.real(), z.imag(), &re, &im); out = complex<double>(re, im);",
        "gpuqd_complex_digamma",
        preamble=DIGAMMA_SOURCE.read_text(),
    )


def digamma(z: Any, xp: ModuleType = np) -> Any:
    """Complex digamma ψ(z) elementwise (Re z > 0), on the backend of ``xp``."""
    if xp is np:
        from scipy.special import psi

        return psi(np.asarray(z, dtype=complex))
    return _cupy_digamma_kernel()(xp.asarray(z, dtype=xp.complex128))

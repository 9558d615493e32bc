"""Threads of the BLAS/LAPACK libraries that NumPy and SciPy load (OpenBLAS, MKL, BLIS).

The Legendre–Galerkin Fokker–Planck solver (:mod:`gpuqd.observables.fp_legendre`) works on dense matrices
of a few hundred rows; for those a BLAS call is too short to share among threads: measured on the 2-core
development VM (2026-12-05, quiet), the matrix exponential of size 192 took 4–5 ms on one BLAS thread and
9–82 ms on two, a 5 × 5 write-error map 6.1 s against 10.9 s. The work that has many such solves runs them
side by side on threads of its own, each with one BLAS thread.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

__all__ = ["one_blas_thread"]


def one_blas_thread() -> AbstractContextManager[object]:
    """A context in which the BLAS libraries of this process use one thread (process-wide: hold it around
    the whole of a threaded computation, not inside each thread), restored on exit. Uses ``threadpoolctl``;
    without it, a context that changes nothing."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a core dependency; missing only in hand-made environments
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")

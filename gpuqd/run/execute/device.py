"""The run layer's one door to the compute backends: which backend a run uses and what device it is.

Resolution and availability come from the registry :mod:`gpuqd.dynamics.engines.registry` (``auto`` = cupy → cpu →
numpy, with a one-line notice naming each skipped backend and why); this module only turns its
errors into :class:`RunError`, adds the device description to a run's metadata and resolves the
threads of the cpu engine (:func:`engine_threads`).
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from typing import Any

import numpy as np

from gpuqd.dynamics.engines import registry as backends
from gpuqd.run.config.execution_settings import ExecutionSettings
from gpuqd.run.errors import RunError
from gpuqd.transport.torque_table import usable_cores

__all__ = [
    "available_backends",
    "resolve_backend",
    "device_info",
    "engine_threads",
    "transport_backend",
    "transport_workers",
]


def resolve_backend(requested: str, notify: Callable[[str], None] | None = None) -> str:
    """'auto' | 'numpy' | 'cpu' | 'cupy' → the backend to use (RunError if an explicit one is unusable)."""
    try:
        return backends.resolve_backend(requested, notify=notify)
    except (backends.BackendUnavailable, ValueError) as exc:
        raise RunError(f"backend: {exc}") from None


def available_backends() -> list[str]:
    """Backends usable on this machine (registry order numpy, cpu, cupy)."""
    return backends.available_backends()


def transport_backend(backend: str) -> str:
    """Array backend of the transport stage for a run on ``backend``: the GPU when the run uses it, else NumPy
    (:data:`gpuqd.dynamics.engines.ENGINES`)."""
    from gpuqd.dynamics.engines.catalog import engine_entry

    return engine_entry(backend).transport_backend


def device_info(backend: str) -> dict:
    """Describe the compute device of ``backend`` (GPU name/memory and CuPy version, or the CPU and compiler)."""
    info: dict[str, Any] = {
        "backend": backend,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
    }
    info["registry"] = backends.describe(backend)
    if backend == "cupy":
        try:
            import cupy

            dev = cupy.cuda.Device()
            props = cupy.cuda.runtime.getDeviceProperties(dev.id)
            name = props.get("name", b"")
            info["gpu"] = name.decode() if isinstance(name, bytes) else str(name)
            info["gpu_memory_GiB"] = round(props.get("totalGlobalMem", 0) / 2**30, 2)
            info["cupy"] = cupy.__version__
        except Exception as exc:  # pragma: no cover - depends on the machine
            info["gpu_error"] = str(exc)
    return info


def transport_workers(threads: int | None = None) -> int:
    """Threads for the torque-table blocks of a local run: ``threads`` (the run's ``execution.threads``)
    if given, else ``GPUQD_TRANSPORT_WORKERS`` (≥ 1), else the usable cores
    (:func:`gpuqd.transport.torque_table.usable_cores`). Results do not depend on it."""
    if threads is not None:
        return max(int(threads), 1)
    raw = os.environ.get("GPUQD_TRANSPORT_WORKERS", "").strip()
    if not raw:
        return usable_cores()
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"GPUQD_TRANSPORT_WORKERS={raw!r}: allowed integers >= 1")
    return int(raw)


def engine_threads(backend: str, settings: ExecutionSettings) -> int | None:
    """OpenMP threads of each engine of a run on ``backend`` with the ``execution:`` ``settings`` (None:
    the backend has none, or the workers of an existing Dask scheduler pick their own default).

    ``execution.threads`` if set; otherwise this process's default (``OMP_NUM_THREADS``, else the usable
    cores: :func:`gpuqd.dynamics.host_build.default_threads`) or, on a local Dask cluster, its workers'
    one thread. Results do not depend on it."""
    if backend != "cpu":
        return None
    if settings.threads is not None:
        return int(settings.threads)
    if settings.engine == "dask":
        return 1 if settings.scheduler is None else None  # local workers run with OMP_NUM_THREADS=1
    from gpuqd.dynamics.host_build import default_threads

    return default_threads()

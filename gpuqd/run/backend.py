"""The run layer's one door to the compute backends: which backend a run uses and what device it is.

Every use of backend resolution in the run layer goes through :func:`resolve_backend`, so a backend
registry can be plugged in here alone.
"""

from __future__ import annotations

import os
import platform
from typing import Any

import numpy as np

from gpuqd.run.errors import RunError

__all__ = ["available_backends", "resolve_backend", "device_info"]


def resolve_backend(requested: str) -> str:
    """'auto' | 'numpy' | 'cupy' → 'numpy' or 'cupy' (RunError if cupy is asked for but unusable)."""
    from gpuqd.dynamics.runner import cupy_usable

    if requested == "numpy":
        return "numpy"
    if cupy_usable():
        return "cupy"
    if requested == "cupy":
        raise RunError("backend: cupy requested but CuPy is not installed or no CUDA device is usable "
                       "(pip install -e '.[gpu]', or use --backend numpy)")
    return "numpy"


def available_backends() -> list[str]:
    """Backends usable on this machine, the one ``auto`` picks last."""
    from gpuqd.dynamics.runner import cupy_usable

    return ["numpy", "cupy"] if cupy_usable() else ["numpy"]


def device_info(backend: str) -> dict:
    """Describe the compute device of ``backend`` (GPU name/memory and CuPy version, or the CPU)."""
    info: dict[str, Any] = {"backend": backend, "cpu": platform.processor() or platform.machine(),
                            "cpu_count": os.cpu_count(), "numpy": np.__version__}
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

"""``cupy.cuda.runtime`` of the stand-in. ``GPUQD_CUPY_STANDIN_DEVICES`` (default 1) sets the device count,
``GPUQD_CUPY_STANDIN_MEMORY`` (bytes, default 80 GiB) the device memory."""

from __future__ import annotations

import os


class CUDARuntimeError(RuntimeError):
    pass


def getDeviceCount() -> int:  # noqa: N802 - CuPy's name
    return int(os.environ.get("GPUQD_CUPY_STANDIN_DEVICES", "1"))


def _memory() -> int:
    return int(os.environ.get("GPUQD_CUPY_STANDIN_MEMORY", str(80 * 2**30)))


def memGetInfo() -> tuple[int, int]:  # noqa: N802
    """(free, total) bytes."""
    return _memory(), _memory()


def getDeviceProperties(device: int) -> dict:  # noqa: N802
    from cupy.cuda import nvrtc

    major, minor = nvrtc.getVersion()
    name = f"CuPy stand-in (host build, NVRTC {major}.{minor} compile checks)"
    return {"name": name.encode(), "totalGlobalMem": _memory(), "multiProcessorCount": 132, "major": 9, "minor": 0}


def deviceSynchronize() -> None:  # noqa: N802
    pass


def runtimeGetVersion() -> int:  # noqa: N802
    return 13000


def driverGetVersion() -> int:  # noqa: N802
    return 13000

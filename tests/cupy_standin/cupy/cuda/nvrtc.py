"""``cupy.cuda.nvrtc`` of the stand-in: the version of the real NVRTC that compiles the kernels."""

from __future__ import annotations


def getVersion() -> tuple[int, int]:  # noqa: N802 - CuPy's name
    from cupy import _nvrtc

    return _nvrtc.version()

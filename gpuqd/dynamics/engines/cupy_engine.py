"""CuPy engine: the fused kernel of ``llg_kernel.cu`` compiled with NVRTC (FP64, one thread per trajectory).

The ensemble state stays on the device between :meth:`CupyEngine.advance` calls; each call is
split into kernel launches of at most ``MAX_STEPS_PER_LAUNCH`` steps. The kernel is specialised at
compile time (table or constant torque, free source, cubic anisotropy, AC drive, noise) and
cached per specialisation. The source is :func:`gpuqd.dynamics.kernel_source.bundled_source`.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from gpuqd.dynamics.engine_config import EngineConfig
from gpuqd.dynamics.engines.kernel_engine import KernelEngine, kernel_defines
from gpuqd.dynamics.kernel_source import bundled_source, variant_flags

KERNEL_NAME = "llg_heun_advance"
THREADS_PER_BLOCK = 128
# NVRTC options besides the variant switches (benchmarks/kernel_sass.py compiles with the same).
NVRTC_OPTIONS = ("--std=c++14", f"-DLLG_THREADS_PER_BLOCK={THREADS_PER_BLOCK}")


@functools.lru_cache(maxsize=32)
def _compiled_kernel(defines: tuple[tuple[str, int], ...], name: str = KERNEL_NAME):  # noqa: ANN202
    import cupy

    options = (*NVRTC_OPTIONS, *variant_flags(dict(defines)))
    module = cupy.RawModule(code=bundled_source(), options=options)
    return module.get_function(name)


class CupyEngine(KernelEngine):
    """Device-resident ensemble state advanced by the fused kernel."""

    def __init__(self, cfg: EngineConfig) -> None:
        import cupy

        self.kernel = _compiled_kernel(tuple(sorted(kernel_defines(cfg).items())))
        super().__init__(cfg, cupy)

    def _launch(self, args: list[Any]) -> None:
        grid = ((self.cfg.n_traj + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK,)
        self.kernel(grid, (THREADS_PER_BLOCK,), tuple(args))


def philox_words_device(step: int, traj_offset: int, n: int, key: tuple[int, int]) -> np.ndarray:
    """(n, 4) uint32 Philox words computed on the GPU (for cross-backend tests)."""
    import cupy

    kernel = _compiled_kernel((), "philox_words")
    out = cupy.zeros(4 * n, dtype=cupy.uint32)
    grid = ((n + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK,)
    kernel(
        grid,
        (THREADS_PER_BLOCK,),
        (out, np.int64(step), np.uint64(traj_offset), np.uint32(key[0]), np.uint32(key[1]), np.int32(n)),
    )
    return cupy.asnumpy(out).reshape(n, 4)


def _device_call(name: str, n: int, *args: Any) -> None:
    kernel = _compiled_kernel((), name)
    kernel(((n + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK,), (THREADS_PER_BLOCK,), args)


def angle_functions_device(cos_theta: np.ndarray, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(θ, s(θ)) of ``kernel/angle.cuh`` computed on the GPU (as cpu_backend.angle_functions_host)."""
    import cupy

    c = cupy.asarray(np.ascontiguousarray(cos_theta, dtype=np.float64).ravel())
    theta, s = cupy.empty_like(c), cupy.empty_like(c)
    _device_call("llg_angle_functions", c.size, c, theta, s, np.int32(c.size), params)
    return cupy.asnumpy(theta), cupy.asnumpy(s)


def normal_parts_device(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(−2 ln u, (sin 2πu, cos 2πu)) of ``kernel/philox.cuh`` computed on the GPU (as normal_parts_host)."""
    import cupy

    w = cupy.asarray(np.ascontiguousarray(words, dtype=np.uint32).ravel())
    log_part, sincos = cupy.empty(w.size, dtype=np.float32), cupy.empty(2 * w.size, dtype=np.float32)
    _device_call("llg_normal_parts", w.size, w, log_part, sincos, np.int32(w.size))
    return cupy.asnumpy(log_part), cupy.asnumpy(sincos).reshape(w.size, 2)

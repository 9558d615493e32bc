"""CPU engine: the fused kernel built for the host (:mod:`gpuqd.dynamics.host_build`), OpenMP over trajectories.

The same per-trajectory step code as the CUDA kernel (``kernel/advance.cuh``) runs on NumPy arrays
in place; the noise is keyed by (seed, trajectory id, step), so results do not depend on the
thread count, the batch or the chunking.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from gpuqd.dynamics import layout
from gpuqd.dynamics.engine_config import EngineConfig
from gpuqd.dynamics.engines.kernel_engine import KernelEngine, kernel_defines
from gpuqd.dynamics.host_build import default_threads, load_library


def _ctypes_value(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.dtype.names is not None:  # the parameter block, by value
        return layout.params_ctypes().from_buffer_copy(value.tobytes())
    return ctypes.c_void_p(value.ctypes.data) if isinstance(value, np.ndarray) else value.item()


class CpuEngine(KernelEngine):
    """Ensemble state as NumPy arrays in kernel layout, advanced by the host build of the kernel.

    ``threads``: OpenMP threads (None: ``OMP_NUM_THREADS`` or the usable CPUs).
    """

    def __init__(self, cfg: EngineConfig, threads: int | None = None) -> None:
        if threads is not None and int(threads) < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        self.threads = default_threads() if threads is None else int(threads)
        self.lib = load_library(kernel_defines(cfg))
        super().__init__(cfg, np)

    def _launch(self, args: list[Any]) -> None:
        self.lib.llg_heun_advance(*(_ctypes_value(a) for a in args), self.threads)


def angle_functions_host(cos_theta: np.ndarray, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(θ, s(θ)) of the kernel's angle functions (``kernel/angle.cuh``) from the host build (for tests);
    ``params``: a parameter block (its angle-map entries are used)."""
    c = np.ascontiguousarray(cos_theta, dtype=np.float64).ravel()
    theta, s = np.empty_like(c), np.empty_like(c)
    load_library({}).llg_angle_functions(c.ctypes.data, theta.ctypes.data, s.ctypes.data, c.size, _ctypes_value(params))
    return theta, s


def normal_parts_host(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For 32-bit words w: (−2 ln u(w), interleaved (sin 2πu(w), cos 2πu(w))) in float32 from the host build
    of ``kernel/philox.cuh`` (for the bit-identity test against gpuqd.dynamics.philox)."""
    w = np.ascontiguousarray(words, dtype=np.uint32).ravel()
    log_part, sincos = np.empty(w.size, dtype=np.float32), np.empty(2 * w.size, dtype=np.float32)
    load_library({}).llg_normal_parts(w.ctypes.data, log_part.ctypes.data, sincos.ctypes.data, w.size)
    return log_part, sincos.reshape(w.size, 2)


def philox_words_host(step: int, traj_offset: int, n: int, key: tuple[int, int]) -> np.ndarray:
    """(n, 4) uint32 Philox words from the host build of the kernel (for cross-checks)."""
    out = np.zeros(4 * n, dtype=np.uint32)
    load_library({}).philox_words(out.ctypes.data, step, traj_offset, key[0], key[1], n)
    return out.reshape(n, 4)

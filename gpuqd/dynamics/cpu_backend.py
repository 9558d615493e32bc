"""CPU engine: the fused kernel built for the host (:mod:`gpuqd.dynamics.host_build`), OpenMP over trajectories.

The same per-trajectory step code as the CUDA kernel (``kernel/advance.cuh``) runs on NumPy arrays
in place; the noise is keyed by (seed, trajectory id, step), so results do not depend on the
thread count, the batch or the chunking.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from gpuqd.dynamics.config import EngineConfig
from gpuqd.dynamics.host_build import default_threads, load_library
from gpuqd.dynamics.kernel_engine import KernelEngine, kernel_defines


def _ctypes_value(value: Any) -> Any:
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


def philox_words_host(step: int, traj_offset: int, n: int, key: tuple[int, int]) -> np.ndarray:
    """(n, 4) uint32 Philox words from the host build of the kernel (for cross-checks)."""
    out = np.zeros(4 * n, dtype=np.uint32)
    load_library({}).philox_words(out.ctypes.data, step, traj_offset, key[0], key[1], n)
    return out.reshape(n, 4)

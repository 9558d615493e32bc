"""CPU engine: the fused kernel built for the host (:mod:`gpuqd.dynamics.host_build`), OpenMP over trajectories.

The same step code as the CUDA kernel (``kernel/advance.cuh``) runs on NumPy arrays in place, in
blocks of ``lanes`` trajectories vectorised across the trajectories (the widest instruction set the
CPU supports: AVX-512, AVX2 + FMA or the x86-64 baseline, chosen at run time); ``lanes=0`` runs the
scalar driver, one trajectory at a time as one CUDA thread. The noise is keyed by (seed, trajectory id,
step) and every driver performs the same IEEE operations per trajectory, so results do not depend on
the thread count, the lanes, the instruction set, the batch or the chunking (bit-identical).
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

import numpy as np

from gpuqd.dynamics import layout
from gpuqd.dynamics.engine_config import EngineConfig
from gpuqd.dynamics.engines.kernel_engine import KernelEngine, kernel_defines
from gpuqd.dynamics.host_build import default_threads, load_library

DEFAULT_LANES = 64
"""Trajectories per block of the vectorised host driver (a multiple of the AVX-512 double width, 8)."""
MAX_LANES = 128
"""Upper bound of ``lanes`` (LLG_HOST_MAX_LANES of kernel/advance.cuh)."""
ISA_NAMES = {0: "scalar", 1: "baseline", 2: "avx2+fma", 3: "avx512"}
"""Instruction sets of the host build (the values of ``isa``; 0: the scalar driver)."""
ISA_BY_NAME = {"auto": 0, "baseline": 1, "avx2": 2, "avx512": 3}
"""Values of the environment variable GPUQD_CPU_ISA (the highest instruction set the cpu engine may use)."""


def default_lanes() -> int:
    """Trajectories per vectorised block: ``GPUQD_CPU_LANES`` (0 … MAX_LANES; 0: scalar driver) or DEFAULT_LANES."""
    raw = os.environ.get("GPUQD_CPU_LANES", "").strip()
    if not raw:
        return DEFAULT_LANES
    if not raw.isdigit() or int(raw) > MAX_LANES:
        raise ValueError(f"GPUQD_CPU_LANES={raw!r}: allowed integers 0 … {MAX_LANES}")
    return int(raw)


def default_isa() -> int:
    """Highest instruction set: ``GPUQD_CPU_ISA`` (auto, baseline, avx2, avx512) or auto (0)."""
    raw = os.environ.get("GPUQD_CPU_ISA", "").strip().lower() or "auto"
    if raw not in ISA_BY_NAME:
        raise ValueError(f"GPUQD_CPU_ISA={raw!r}: allowed {', '.join(ISA_BY_NAME)}")
    return ISA_BY_NAME[raw]


def _ctypes_value(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.dtype.names is not None:  # the parameter block, by value
        return layout.params_ctypes().from_buffer_copy(value.tobytes())
    return ctypes.c_void_p(value.ctypes.data) if isinstance(value, np.ndarray) else value.item()


class CpuEngine(KernelEngine):
    """Ensemble state as NumPy arrays in kernel layout, advanced by the host build of the kernel.

    ``threads``: OpenMP threads (None: ``OMP_NUM_THREADS`` or the usable CPUs); ``lanes``: trajectories
    per vectorised block (1 … MAX_LANES; 0: the scalar driver; None: ``GPUQD_CPU_LANES`` or DEFAULT_LANES);
    ``isa``: highest instruction set to use (1 baseline, 2 AVX2 + FMA, 3 AVX-512; 0: the best the CPU
    supports; None: ``GPUQD_CPU_ISA`` or 0). None of them changes a result.
    After a launch ``isa_used`` names the instruction set that ran (:data:`ISA_NAMES`).
    """

    def __init__(
        self, cfg: EngineConfig, threads: int | None = None, lanes: int | None = None, isa: int | None = None
    ) -> None:
        lanes = default_lanes() if lanes is None else lanes
        isa = default_isa() if isa is None else isa
        if threads is not None and int(threads) < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        if not 0 <= int(lanes) <= MAX_LANES:
            raise ValueError(f"lanes must be in [0, {MAX_LANES}], got {lanes}")
        if int(isa) not in ISA_NAMES:
            raise ValueError(f"isa must be one of {sorted(ISA_NAMES)}, got {isa}")
        self.threads = default_threads() if threads is None else int(threads)
        self.lanes = int(lanes)
        self.isa = int(isa)
        self.isa_used: str | None = None
        self.lib = load_library(kernel_defines(cfg))
        super().__init__(cfg, np)

    def _launch(self, args: list[Any]) -> None:
        lanes = self.lanes
        if lanes:  # small ensembles: narrower blocks, so that every thread gets some (no effect on results)
            per_thread = -(-int(args[-1]) // self.threads)  # args[-1]: n_traj
            lanes = min(lanes, max(16, -(-per_thread // 16) * 16))
        used = self.lib.llg_heun_advance(*(_ctypes_value(a) for a in args), self.threads, lanes, self.isa)
        self.isa_used = ISA_NAMES[int(used)]


def host_isa(requested: int = 0) -> str:
    """Name of the instruction set the host build uses on this CPU (``requested``: the highest allowed)."""
    return ISA_NAMES[int(load_library({}).llg_host_isa(int(requested)))]


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

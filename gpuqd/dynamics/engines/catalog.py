"""The engine front door: backend name → engine class, with the options each engine takes.

:data:`ENGINES` is the one table of the LLG engines (``numpy``, ``cpu``, ``cupy``; availability and
``auto`` resolution live in :mod:`gpuqd.dynamics.engines.registry`). :func:`make_engine` builds the engine of a resolved
backend name for an :class:`~gpuqd.dynamics.engine_config.EngineConfig` with explicit :class:`EngineOptions`
(``threads`` of the cpu engine: an argument, not an environment variable). Each entry also says which
array backend the transport stage of a run on that engine uses (the GPU when the run is on it).
Engine modules are imported on first use, so a run on NumPy never imports the host build or CuPy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gpuqd.dynamics.engine_config import EngineConfig


@dataclass(frozen=True)
class EngineOptions:
    """Options of the engines. ``threads``: OpenMP threads of the cpu engine (None: ``OMP_NUM_THREADS``
    or the usable CPUs); results do not depend on it. The other engines ignore it."""

    threads: int | None = None

    def __post_init__(self) -> None:
        if self.threads is not None and int(self.threads) < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")


@dataclass(frozen=True)
class EngineEntry:
    """One engine: how to build it, and the transport's array backend for runs on it."""

    name: str
    build: Callable[[EngineConfig, EngineOptions], Any]
    transport_backend: str


def _numpy(cfg: EngineConfig, options: EngineOptions) -> Any:
    from gpuqd.dynamics.engines.numpy_engine import NumpyEngine

    return NumpyEngine(cfg)


def _cpu(cfg: EngineConfig, options: EngineOptions) -> Any:
    from gpuqd.dynamics.engines.cpu_engine import CpuEngine

    return CpuEngine(cfg, threads=options.threads)


def _cupy(cfg: EngineConfig, options: EngineOptions) -> Any:
    from gpuqd.dynamics.engines.cupy_engine import CupyEngine

    return CupyEngine(cfg)


ENGINES: dict[str, EngineEntry] = {
    "numpy": EngineEntry("numpy", _numpy, "numpy"),
    "cpu": EngineEntry("cpu", _cpu, "numpy"),
    "cupy": EngineEntry("cupy", _cupy, "cupy"),
}


def engine_entry(backend: str) -> EngineEntry:
    """The entry of a resolved backend name (ValueError naming the choices otherwise; no ``auto`` here)."""
    if backend not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)} (resolve 'auto' first); got {backend!r}")
    return ENGINES[backend]


def make_engine(backend: str, cfg: EngineConfig, options: EngineOptions | None = None) -> Any:
    """The engine of the resolved ``backend`` for ``cfg``."""
    return engine_entry(backend).build(cfg, options or EngineOptions())

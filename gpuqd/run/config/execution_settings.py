"""The ``execution:`` section of a configuration: where the heavy work runs (in process or on Dask).

Settings only (read by :mod:`gpuqd.run.config.typed`, checked by :mod:`gpuqd.run.config.validate`);
the executors that act on them are in :mod:`gpuqd.run.execute`. Results never depend on them.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "ENGINES",
    "DASK_EXTRA_MESSAGE",
    "SCHEDULER_PATTERN",
    "ExecutionSettings",
    "check_execution_config",
    "dask_available",
    "execution_settings",
]

#: ``execution.engine`` values
ENGINES = ("local", "dask")
#: the one message for a missing optional dependency of ``engine: dask``
DASK_EXTRA_MESSAGE = (
    "engine 'dask' needs the optional extra gpuqd[dask] (pip install 'gpuqd[dask]', "
    "which installs dask[distributed]); allowed without it: local"
)
#: scheduler addresses: a protocol URL (tcp://host:8786, tls://host:8786, ...) or host:port
SCHEDULER_PATTERN = r"(tcp|tls|ucx|ws|wss|inproc)://\S+|[A-Za-z0-9_.\-\[\]:]+:\d{1,5}"


def dask_available() -> bool:
    """True if ``dask.distributed`` can be imported (the ``gpuqd[dask]`` extra is installed)."""
    try:
        return importlib.util.find_spec("distributed") is not None and importlib.util.find_spec("dask") is not None
    except (ImportError, ValueError):
        return False


@dataclass(frozen=True)
class ExecutionSettings:
    """The ``execution:`` section: engine 'local' (in process) or 'dask'; ``scheduler`` the address of
    an existing Dask scheduler (None: start a local cluster of ``workers`` processes); ``threads`` the
    OpenMP threads of each cpu-backend engine (None: ``OMP_NUM_THREADS`` if set, else all usable cores,
    :func:`gpuqd.dynamics.host_build.default_threads`) and the threads of a local run's torque-table
    blocks and write-error map (None: :func:`gpuqd.run.execute.device.transport_workers`)."""

    engine: str = "local"
    scheduler: str | None = None
    workers: int = 2
    threads: int | None = None


def execution_settings(data: dict) -> ExecutionSettings:
    """The :class:`ExecutionSettings` of a validated configuration mapping (defaults if absent)."""
    ex = data.get("execution") or {}
    threads = ex.get("threads")
    return ExecutionSettings(
        engine=ex.get("engine", "local"),
        scheduler=ex.get("scheduler"),
        workers=int(ex.get("workers", 2)),
        threads=None if threads is None else int(threads),
    )


def check_execution_config(data: dict, fail: Callable[[str, str], None]) -> None:
    """Cross-key checks of ``execution:`` (``fail(key_path, message)`` raises, one line).

    A scheduler address or engine 'dask' without the dask extra installed fails here, before any work.
    """
    ex = data.get("execution") or {}
    engine, scheduler = ex.get("engine", "local"), ex.get("scheduler")
    if scheduler is not None and not re.fullmatch(SCHEDULER_PATTERN, str(scheduler)):
        fail(
            "execution.scheduler",
            f"invalid address {scheduler!r}; allowed: null or a Dask scheduler address "
            f"such as tcp://host:8786 or tls://host:8786",
        )
    if scheduler is not None and re.fullmatch(SCHEDULER_PATTERN, str(scheduler)):
        port = re.search(r":(\d+)/?$", str(scheduler))
        if port is not None and not 1 <= int(port.group(1)) <= 65535:
            fail(
                "execution.scheduler",
                f"port {port.group(1)} of {str(scheduler)[:80]!r} is out of range; allowed: 1..65535",
            )
    if scheduler is not None and engine != "dask":
        fail(
            "execution.scheduler",
            f"a scheduler ({scheduler}) is only used with execution.engine: dask, got engine: {engine}",
        )
    if engine == "dask" and not dask_available():
        fail("execution.engine", DASK_EXTRA_MESSAGE)

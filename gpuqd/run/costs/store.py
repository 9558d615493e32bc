"""The calibration cache: measured cost coefficients of this machine, one file per user, and the lock
that keeps two gpuqd processes from measuring at once.

The file is ``<user cache dir>/gpuqd/calibration.json`` (``$GPUQD_CACHE_DIR`` or ``$XDG_CACHE_HOME/gpuqd``
or ``~/.cache/gpuqd``, the directory of the host-engine builds; ``$GPUQD_CALIBRATION_FILE`` names the
file directly). Entries are keyed by host, CPU, core count, NumPy and gpuqd versions, the cost-model
version, the backend and (cpu, cupy) the kernel source hash; each entry records when it was measured and
the ratio of process CPU time to wall time of its measurement (entries are only stored from uncontended
measurements, :mod:`gpuqd.run.costs.coefficients`). A corrupt or unreadable file is measured again;
an unwritable one only means measuring again next time.

The lock is ``<file>.lock`` held with ``flock`` (released by the kernel when the process ends, so a
killed gpuqd never leaves a stale lock); it is opened without following symlinks.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from gpuqd.atomic_io import atomic_write_text
from gpuqd.dynamics.host_build import cache_dir  # the one user cache directory of gpuqd
from gpuqd.dynamics.kernel_source import source_hash
from gpuqd.version import __version__

__all__ = [
    "MODEL_VERSION",
    "CalibrationLock",
    "calibration_file",
    "machine_description",
    "machine_key",
    "read_entries",
    "store_entries",
]

#: version of the cost models in the cache keys: entries of other versions are measured again
MODEL_VERSION = 3


def machine_description() -> str:
    """``host (cpu, N cores)`` for messages and the docs' "measured on ..." lines."""
    return f"{socket.gethostname()} ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def machine_key(backend: str) -> str:
    """Cache key: host, CPU, cores, NumPy and gpuqd versions, cost-model version, backend and, for the
    kernel engines, the hash of the kernel source (a changed kernel is measured again)."""
    parts = [
        socket.gethostname(),
        platform.processor() or platform.machine(),
        str(os.cpu_count()),
        np.__version__,
        __version__,
        f"v{MODEL_VERSION}",
        backend,
    ]
    if backend in ("cpu", "cupy"):
        parts.append(source_hash(host=backend == "cpu")[:12])
    return "|".join(parts)


def calibration_file() -> Path:
    """The calibration cache file (see the module docstring)."""
    env = os.environ.get("GPUQD_CALIBRATION_FILE")
    return Path(env) if env else cache_dir() / "calibration.json"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a corrupt calibration cache is just measured again
    return data if isinstance(data, dict) else {}


def read_entries(backend: str) -> dict[str, dict[str, Any]]:
    """The cached entries (name → dict) of this machine and ``backend``."""
    entries = _read(calibration_file()).get(machine_key(backend), {})
    if not isinstance(entries, dict):
        return {}
    return {k: v for k, v in entries.items() if isinstance(v, dict)}


def store_entries(backend: str, entries: Mapping[str, Mapping[str, Any]]) -> None:
    """Add ``entries`` (name → dict, stamped with the time) under this machine and ``backend``."""
    path = calibration_file()
    data = _read(path)
    key = machine_key(backend)
    if not isinstance(data.get(key), dict):
        data[key] = {}
    stamp = {"measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    data[key].update({name: stamp | dict(entry) for name, entry in entries.items()})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(data, indent=1) + "\n")
    except OSError:
        pass  # an unwritable cache only means measuring again next time


class CalibrationLock:
    """Exclusive, non-blocking lock on the calibration file: ``with CalibrationLock() as held:``;
    ``held`` is False when another process holds it (or the lock file cannot be opened): then this
    process does not measure (it uses the static model)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(f"{path or calibration_file()}.lock")
        self._fd: int | None = None

    def acquire(self) -> bool:
        import fcntl

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.release()

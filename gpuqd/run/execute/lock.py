"""An exclusive lock per run directory, so that two processes never write the same run.

The lock is ``fcntl.flock`` on ``<runs_dir>/.<name>.lock`` (next to the run directory, so that the run
directory itself is not created before the checks pass and ``--force`` can delete it freely). The
file records the holder's PID, host, start time and command line (JSON) for the message a second
process gets. The kernel releases a flock when its process dies (also after ``kill -9``), so a lock
file left behind by a dead process is simply taken over: "stale" means "not flock-held", never
"the PID looks dead", which would be wrong across hosts sharing a file system.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import json
import os
import socket
from pathlib import Path
from typing import Any

from gpuqd.atomic_io import file_mode
from gpuqd.run.store.file_errors import RunFileError, make_dirs, oserror_text, remove_created

__all__ = ["RunLock", "RunLockedError", "lock_path"]


class RunLockedError(RunFileError):
    """The run directory is locked by another live process (message names its PID and host)."""


def lock_path(run_dir: str | os.PathLike) -> Path:
    """The lock file of ``run_dir``: ``<parent>/.<name>.lock``."""
    p = Path(run_dir)
    return p.parent / f".{p.name}.lock"


class RunLock:
    """Context manager holding the exclusive lock of ``run_dir`` (raises :class:`RunLockedError`).

    ``previous`` is the record of a stale lock that was taken over (or None).
    """

    def __init__(self, run_dir: str | os.PathLike, argv: list[str] | None = None):
        self.run_dir = Path(run_dir)
        self.path = lock_path(self.run_dir)
        self.argv = argv
        self.previous: dict[str, Any] | None = None
        self._fd: int | None = None
        self._created: list[Path] = []

    def acquire(self) -> RunLock:
        self._created = make_dirs(self.path.parent, "runs directory")
        try:
            while True:
                try:
                    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, file_mode())
                except OSError as exc:
                    raise RunFileError(f"cannot create the lock file {self.path}: {oserror_text(exc)}") from None
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    holder = _read(fd)
                    os.close(fd)
                    raise RunLockedError(_locked_message(self.run_dir, holder)) from None
                # the holder before us may have unlinked the file between our open and flock: retry
                try:
                    same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
                except FileNotFoundError:
                    same = False
                if same:
                    break
                os.close(fd)
            old = _read(fd)
            self.previous = old or None
            record = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                "argv": self.argv,
            }
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
            self._fd = fd
        except BaseException:
            remove_created(self._created)
            raise
        return self

    def release(self, remove_parents: bool = False) -> None:
        """Release the lock (and remove the lock file); ``remove_parents``: also remove the runs
        directory if this lock created it and it is empty (a run that failed before writing).
        """
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # while still holding the lock: see the inode check
        except OSError:
            pass
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None
        if remove_parents:
            remove_created(self._created)

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read(fd: int) -> dict[str, Any]:
    try:
        data = os.pread(fd, 4096, 0).decode("utf-8", "replace")
        rec = json.loads(data) if data.strip() else {}
        return rec if isinstance(rec, dict) else {}
    except (OSError, ValueError):
        return {}


def _locked_message(run_dir: Path, holder: dict[str, Any]) -> str:
    pid, host = holder.get("pid", "?"), holder.get("host", "?")
    since = f" since {holder['since']}" if holder.get("since") else ""
    return (
        f"{run_dir} is in use by another gpuqd process (PID {pid} on host {host}{since}); wait for it to "
        f"finish or stop it, then use --resume"
    )

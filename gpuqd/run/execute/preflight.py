"""Checks of the files and services a run needs, made before the estimate and before any work.

Each raises :class:`~gpuqd.run.store.file_errors.RunFileError` or :class:`~gpuqd.run.errors.RunError` with
one line naming the path or key and what to do (exit status 2 at the command line):

* :func:`check_cache_dir`: ``<runs_dir>/.cache`` is a writable directory (not a file, not read-only,
  not a symlink, nor are its folders);
* :func:`check_checkpoints`: the checkpoints of a resumed run are intact (checksum beside each,
  or readable for files written before checksums existed);
* :func:`check_scheduler`: an ``execution.scheduler`` address resolves and accepts a TCP
  connection within :data:`CONNECT_TIMEOUT_S` seconds.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from urllib.parse import urlsplit

from gpuqd.atomic_io import checksum_ok, checksum_path, open_no_follow, temporary_path
from gpuqd.run.errors import RunError
from gpuqd.run.store.file_errors import REMEDY_FORCE, RunFileError, load_npz, oserror_text
from gpuqd.run.store.rundir import RunDir

__all__ = [
    "CONNECT_TIMEOUT_S",
    "check_cache_dir",
    "check_checkpoints",
    "check_scheduler",
    "preflight",
    "refuse_symlinked_parts",
    "scheduler_host_port",
]

#: seconds allowed for resolving a scheduler's host name and for its TCP connection (each)
CONNECT_TIMEOUT_S = 10.0
_CACHE_FOLDERS = ("tables", "maps", "partial")


def check_cache_dir(root: Path) -> None:
    """``root`` (``<runs_dir>/.cache``) can hold cache entries: a directory or absent, writable."""
    for p in (root, *(root / f for f in _CACHE_FOLDERS)):
        if p.is_symlink():
            raise RunFileError(
                f"{p} is a symbolic link; gpuqd does not write through links in a cache directory "
                f"(remove the link; the cache is rebuilt)"
            )
        if p.exists() and not p.is_dir():
            raise RunFileError(f"{p} is not a directory; remove or rename it (the cache is rebuilt)")
    probe_dir = root if root.is_dir() else root.parent
    probe = temporary_path(probe_dir / "write-probe")
    try:
        os.close(open_no_follow(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        probe.unlink()
    except OSError as exc:
        raise RunFileError(
            f"cannot write the cache directory {root}: {oserror_text(exc)}; make it writable, or remove it "
            f"or choose another --runs-dir"
        ) from None


def check_checkpoints(rd: RunDir) -> None:
    """Every checkpoint of ``rd`` matches its checksum (or, without one, is a readable .npz)."""
    if not rd.checkpoint_dir.is_dir():
        return
    for path in sorted(rd.checkpoint_dir.glob("*.npz")):
        if path.is_symlink():
            raise RunFileError(f"{path} is a symbolic link; remove it, or {REMEDY_FORCE}")
        if checksum_path(path).exists():
            if not checksum_ok(path):
                raise RunFileError(
                    f"checkpoint {path} is damaged (it does not match {checksum_path(path).name}); "
                    f"delete it to redo that stage's work, or {REMEDY_FORCE}"
                )
        else:
            load_npz(path, "checkpoint", REMEDY_FORCE)


def scheduler_host_port(address: str) -> tuple[str, int]:
    """(host, port) of a scheduler address ``proto://host:port`` or ``host:port`` (ValueError if not one)."""
    text = address if "://" in address else f"tcp://{address}"
    parts = urlsplit(text)
    port = parts.port  # ValueError for a port out of 0..65535
    if not parts.hostname or port is None or port < 1:
        raise ValueError("expected proto://host:port with a port in 1..65535")
    return parts.hostname, port


def _resolve(host: str, port: int, timeout: float) -> list:
    """getaddrinfo with a time limit (it has none of its own): run in a daemon thread."""
    box: dict[str, object] = {}

    def work() -> None:
        try:
            box["ok"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            box["error"] = exc

    t = threading.Thread(target=work, daemon=True)
    t.start()
    t.join(timeout)
    if "ok" in box:
        return list(box["ok"])  # type: ignore[call-overload]
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    raise TimeoutError(f"resolving {host} took more than {timeout:g} s")


def check_scheduler(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """RunError (one line) unless ``address`` resolves and accepts a TCP connection within ``timeout`` s."""
    what = f"execution.scheduler: cannot reach the Dask scheduler at {address[:80]}"
    remedy = "check the address and that the scheduler is running (dask scheduler), or drop --scheduler"
    if urlsplit(address).scheme in ("inproc", "ucx"):
        return
    try:
        host, port = scheduler_host_port(address)
        infos = _resolve(host, port, timeout)
    except (ValueError, TimeoutError) as exc:
        raise RunError(f"{what} ({exc}); {remedy}") from None
    except OSError as exc:
        raise RunError(f"{what} (host {host!r} unknown: {oserror_text(exc)}); {remedy}") from None
    last: OSError | None = None
    for family, kind, proto, _, sockaddr in infos:
        try:
            with socket.socket(family, kind, proto) as s:
                s.settimeout(timeout)
                s.connect(sockaddr)
            return
        except OSError as exc:
            last = exc
    cause = oserror_text(last) if last is not None else "no address"
    raise RunError(f"{what} ({cause}); {remedy}")


def preflight(cache_root: Path, rd: RunDir, mode: str, scheduler: str | None) -> None:
    """The pipeline's checks before the estimate: cache directory; for a resume the run's own folders
    and checkpoints; a scheduler address (None: a local cluster or in-process work, nothing to reach)."""
    check_cache_dir(cache_root)
    if mode == "resume":
        refuse_symlinked_parts(rd)
        check_checkpoints(rd)
    if scheduler:
        check_scheduler(scheduler)


def refuse_symlinked_parts(rd: RunDir) -> None:
    """The run directory's own folders (checkpoint, units, figures) are not symlinks."""
    for p in (rd.checkpoint_dir, rd.checkpoint_dir / "units", rd.figures_dir):
        if p.is_symlink():
            raise RunFileError(
                f"{p} is a symbolic link; gpuqd does not write through links; remove it, or {REMEDY_FORCE}"
            )

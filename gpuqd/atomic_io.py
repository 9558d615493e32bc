"""Atomic, symlink-safe file writes: a temporary file in the target directory, fsync, then ``os.replace``.

A reader (or a run resumed after kill -9) sees either the old file or the complete new one.
Files get the permissions of an ordinary ``open(path, "w")``: 0666 minus the process umask (0644
with the usual umask 022), so results and caches in a shared project directory stay readable by
colleagues.

Shared directories: the temporary name carries 128 random bits and is created exclusively
(``O_CREAT | O_EXCL | O_NOFOLLOW``), so nobody can plant a file or symlink there in advance; a
target that is a symlink is refused (:class:`UnsafePathError`, one line naming it) rather than
replaced, and :func:`open_no_follow` opens an existing file (a lock file) without following a
symlink. SIGINT/SIGTERM during a write are held until the file is complete
(:func:`gpuqd.interrupts.deferred`), so no temporary file is left behind.

Checksums: :func:`atomic_savez` with ``checksum=True`` writes ``<file>.sha256`` beside the file;
:func:`checksum_ok` says whether a file still matches it (cache entries carry one, so that damage
from outside is detected and the entry recomputed rather than used).
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

from gpuqd.interrupts import deferred

__all__ = [
    "UnsafePathError",
    "atomic_open",
    "atomic_save_arrays",
    "atomic_savez",
    "atomic_write_bytes",
    "atomic_write_text",
    "checksum_ok",
    "checksum_path",
    "file_mode",
    "open_no_follow",
    "refuse_symlink",
    "temporary_path",
]

#: Test hook: "N" makes every atomic write after the first N in this process fail with ENOSPC, as
#: on a full disk (the fault battery runs whole runs into it; real disks cannot be filled in CI).
FULL_DISK_HOOK_ENV = "GPUQD_TEST_DISK_FULL_AFTER"
_writes = [0]
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class UnsafePathError(OSError):
    """A path gpuqd would write is a symbolic link (the message is one line naming it)."""

    def __str__(self) -> str:
        return str(self.strerror)


def _umask() -> int:
    """The process umask (read by setting and restoring it; there is no read-only query)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """Permission bits a newly created regular file gets: ``0o666 & ~umask``."""
    return 0o666 & ~_umask()


def refuse_symlink(path: str | os.PathLike, what: str = "file") -> None:
    """Raise :class:`UnsafePathError` if ``path`` is a symbolic link (a missing path is fine)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise UnsafePathError(
            errno.ELOOP,
            f"{path} is a symbolic link; gpuqd does not write through links in a run or cache directory "
            f"(remove the link, or choose another --runs-dir)",
        )


def open_no_follow(path: str | os.PathLike, flags: int, mode: int = 0o666) -> int:
    """``os.open`` that refuses a symlink as the last component (:class:`UnsafePathError`)."""
    try:
        return os.open(path, flags | _NO_FOLLOW | _CLOEXEC, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            refuse_symlink(path)
        raise


def temporary_path(path: str | os.PathLike, suffix: str = ".tmp") -> Path:
    """An unpredictable temporary name beside ``path``: ``.<name>.<32 hex digits><suffix>``."""
    p = Path(path)
    return p.parent / f".{p.name}.{secrets.token_hex(16)}{suffix}"


def _create_exclusive(path: Path, suffix: str = ".tmp") -> tuple[int, Path]:
    while True:
        tmp = temporary_path(path, suffix)
        try:
            return open_no_follow(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:  # pragma: no cover - 128 random bits
            continue


def _full_disk_hook(path: Path) -> None:
    limit = os.environ.get(FULL_DISK_HOOK_ENV, "")
    _writes[0] += 1
    if limit.isdigit() and _writes[0] > int(limit):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_open(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[IO[bytes]]:
    """Binary file object whose contents replace ``path`` atomically when the block exits cleanly.

    ``suffix``: of the temporary name (a figure writer passes ``.png``/``.pdf`` so that the format
    is recognised). Refuses a ``path`` that is a symlink.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    refuse_symlink(path)
    with deferred():
        fd, tmp = _create_exclusive(path, suffix)
        try:
            _full_disk_hook(path)
            with os.fdopen(fd, "wb") as f:
                f.raw.name = str(tmp)  # type: ignore[attr-defined]  # (not the descriptor number) for writers and messages
                yield f
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path) as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def checksum_path(path: str | os.PathLike) -> Path:
    """The checksum file beside ``path``: ``<path>.sha256``."""
    p = Path(path)
    return p.with_name(p.name + ".sha256")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    fd = open_no_follow(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def checksum_ok(path: str | os.PathLike) -> bool:
    """True if ``path`` and its ``.sha256`` beside it exist and agree."""
    p = Path(path)
    try:
        expected = checksum_path(p).read_text(encoding="ascii").split()[0]
        return secrets.compare_digest(expected, _sha256(p))
    except (OSError, IndexError, UnicodeDecodeError, ValueError):
        return False


def atomic_savez(path: str | os.PathLike, compressed: bool = False, checksum: bool = False, **arrays: Any) -> Path:
    """``np.savez`` to ``path`` atomically (the file name is used exactly, no ``.npz`` appended).

    ``checksum``: also write ``<path>.sha256`` (before the file appears, so that a file without a
    matching checksum is always one that was damaged or left by an older version)."""
    return atomic_save_arrays(path, arrays, compressed=compressed, checksum=checksum)


def atomic_save_arrays(
    path: str | os.PathLike, arrays: Mapping[str, Any], compressed: bool = False, checksum: bool = False
) -> Path:
    """:func:`atomic_savez` with the arrays as a mapping."""
    path = Path(path)
    with atomic_open(path) as f:
        (np.savez_compressed if compressed else np.savez)(f, **dict(arrays))
        if checksum:
            f.flush()
            with os.fdopen(os.dup(f.fileno()), "rb") as r:
                r.seek(0)
                digest = hashlib.sha256(r.read()).hexdigest()
            atomic_write_text(checksum_path(path), f"{digest}  {path.name}\n")
    return path

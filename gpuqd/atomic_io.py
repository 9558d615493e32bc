"""Atomic file writes: a temporary file in the target directory, fsync, then ``os.replace``.

A reader (or a run resumed after kill -9) sees either the old file or the complete new one.
Files get the permissions of an ordinary ``open(path, "w")``: 0666 minus the process umask (0644
with the usual umask 022), not the 0600 of :func:`tempfile.mkstemp`, so results and caches in a
shared project directory stay readable by colleagues.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

__all__ = ["file_mode", "atomic_open", "atomic_write_bytes", "atomic_write_text", "atomic_savez", "atomic_save_arrays"]


def _umask() -> int:
    """The process umask (read by setting and restoring it; there is no read-only query)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """Permission bits a newly created regular file gets: ``0o666 & ~umask``."""
    return 0o666 & ~_umask()


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
def atomic_open(path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """Binary file object whose contents replace ``path`` atomically when the block exits cleanly."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
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


def atomic_savez(path: str | os.PathLike, compressed: bool = False, **arrays: Any) -> Path:
    """``np.savez`` to ``path`` atomically (the file name is used exactly, no ``.npz`` appended)."""
    return atomic_save_arrays(path, arrays, compressed)


def atomic_save_arrays(path: str | os.PathLike, arrays: Mapping[str, Any], compressed: bool = False) -> Path:
    """:func:`atomic_savez` of the mapping ``arrays`` (name → array; any names, ``compressed`` included)."""
    with atomic_open(path) as f:
        (np.savez_compressed if compressed else np.savez)(f, **arrays)
    return Path(path)

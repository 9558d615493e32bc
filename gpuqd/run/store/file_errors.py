"""One-line, user-facing errors for the files of a run: run-directory creation, corrupt results,
checkpoints and cache entries.

Every message names the file and the remedy; none carries a traceback. The CLI maps
:class:`RunFileError` to exit status 2.
"""

from __future__ import annotations

import errno
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from gpuqd.run.errors import RunError

__all__ = [
    "RunFileError",
    "make_dirs",
    "remove_created",
    "oserror_text",
    "load_npz",
    "REMEDY_FORCE",
    "REMEDY_CACHE",
    "REMEDY_RERUN",
]

REMEDY_FORCE = "use --force to start the run over"
REMEDY_CACHE = "delete the file (it is a cache entry and will be recomputed)"
REMEDY_RERUN = "rerun with --force to recompute the results"

#: what each errno means for a directory we tried to create, and what to do
_HINTS = {
    errno.EACCES: "no write permission; choose another --runs-dir",
    errno.EPERM: "operation not permitted here (a system or virtual file system?); choose another --runs-dir",
    errno.EROFS: "read-only file system; choose another --runs-dir",
    errno.ENOENT: "a parent does not exist and cannot be created (e.g. under /proc); choose another --runs-dir",
    errno.ENOTDIR: "a component of the path is a file, not a directory",
    errno.EEXIST: "exists and is not a directory",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.ENAMETOOLONG: "path too long",
}


class RunFileError(RunError):
    """A file or directory of a run cannot be created or read; the message is one line."""


def oserror_text(exc: OSError) -> str:
    """``strerror (hint)`` for an OSError, without the ``[Errno N]`` noise."""
    text = exc.strerror or str(exc)
    hint = _HINTS.get(exc.errno or -1)
    return f"{text} ({hint})" if hint else text


def make_dirs(path: str | os.PathLike, what: str = "run directory") -> list[Path]:
    """``mkdir -p path``; returns the directories it created (outermost first), so that a caller can
    remove them again when the run fails before writing anything.

    Raises :class:`RunFileError` (one line naming the path and the cause) for every OSError.
    """
    p = Path(path)
    missing = []
    q = p
    while not q.exists() and q.parent != q:
        missing.append(q)
        q = q.parent
    try:
        if p.exists() and not p.is_dir():
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(p))
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        for d in missing:  # innermost first: undo what this call created
            try:
                d.rmdir()
            except OSError:
                pass
        raise RunFileError(f"cannot create {what} {p}: {oserror_text(exc)}") from None
    return list(reversed(missing))


def remove_created(dirs: list[Path]) -> None:
    """Remove directories returned by :func:`make_dirs` again, innermost first, if they are empty."""
    for d in reversed(dirs):
        try:
            d.rmdir()
        except OSError:
            return


def load_npz(path: str | os.PathLike, what: str, remedy: str, keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """All arrays of an ``.npz`` (no pickles) as a dict; a missing key or a truncated, empty or
    foreign file raises :class:`RunFileError` "``<what> <path> is corrupt or unreadable (<cause>); <remedy>``".
    """
    p = Path(path)
    try:
        if p.stat().st_size == 0:
            raise ValueError("empty file")
        with np.load(p, allow_pickle=False) as d:
            if not hasattr(d, "files"):
                raise ValueError("not an .npz archive")
            out = {k: d[k] for k in d.files}
        lacking = [k for k in keys if k not in out]
        if lacking:
            raise ValueError(f"missing {', '.join(lacking)}")
        return out
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, RuntimeError) as exc:
        raise RunFileError(f"{what} {p} is corrupt or unreadable ({_cause(exc)}); {remedy}") from None


def _cause(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return oserror_text(exc)
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "pickle" in text.lower():  # np.load's message for arbitrary bytes: not an .npy/.npz file
        return "not a NumPy .npz file"
    return " ".join(text.split())

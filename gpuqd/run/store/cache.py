"""The one cache helper of the run layer: transport results shared between runs.

``<runs_dir>/.cache/`` holds torque tables (``tables/``) and transport maps (``maps/``) under a hash
of the transport parameters and the grid (:meth:`TransportCache.key`), and the blocks of a
computation in progress (``partial/<job>/block_NNNNN.npz``), which survive interruptions.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from gpuqd.atomic_io import atomic_save_arrays
from gpuqd.run.config.typed import Grid, TransportConfig
from gpuqd.run.store.file_errors import load_npz
from gpuqd.version import __version__

__all__ = ["CACHE_VERSION", "TransportCache", "BlockStore"]

#: Cache format version (bump when the cached quantities change meaning).
CACHE_VERSION = 1
_TRANSPORT_KEYS = ("U", "T", "gamma_S", "gamma_D", "p_S", "p_D", "order")


class BlockStore:
    """Blocks of one computation in progress: ``<root>/block_NNNNN.npz``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, index: int) -> Path:
        return self.root / f"block_{index:05d}.npz"

    def load(self, index: int, keys: tuple[str, ...], shape: tuple[int, ...]) -> dict[str, np.ndarray] | None:
        """Block ``index`` if it exists, is readable and ``keys`` have ``shape``; else None."""
        block = load_arrays(self.path(index))
        if block is None or any(k not in block or block[k].shape != shape for k in keys):
            return None
        return {k: block[k] for k in keys}

    def save(self, index: int, arrays: dict[str, np.ndarray]) -> None:
        atomic_save_arrays(self.path(index), arrays)

    def clear(self) -> None:
        """Delete the blocks and the folder (after the result is stored)."""
        for f in sorted(self.root.glob("block_*.npz")) if self.root.exists() else []:
            f.unlink(missing_ok=True)
        if self.root.exists():
            try:
                self.root.rmdir()
            except OSError:
                pass


def load_arrays(path: Path) -> dict[str, np.ndarray] | None:
    """All arrays of an .npz file, or None if it is missing; a corrupt file raises
    :class:`~gpuqd.run.store.file_errors.RunFileError` naming it (cache files are written atomically, so
    damage comes from outside and should be seen, not silently recomputed).
    """
    if not path.exists():
        return None
    return load_npz(path, "cache file", f"delete {path} (it is recomputed)")


class TransportCache:
    """Cache directory ``root`` (``<runs_dir>/.cache``)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @staticmethod
    def key(kind: str, transport: TransportConfig, grid: Grid, extra: dict[str, Any]) -> str:
        """Hash of the transport parameters, the grid axes (Γ), ``kind`` and ``extra``."""
        payload = {
            "cache_version": CACHE_VERSION,
            "gpuqd": __version__,
            "kind": kind,
            "transport": {k: getattr(transport, k) for k in _TRANSPORT_KEYS},
            "eps_tilde": hashlib.sha256(np.ascontiguousarray(grid.eps_tilde).tobytes()).hexdigest(),
            "V": hashlib.sha256(np.ascontiguousarray(grid.V).tobytes()).hexdigest(),
            "n_eps": int(grid.eps_tilde.size),
            "n_V": int(grid.V.size),
        } | extra
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]

    def path(self, folder: str, key: str) -> Path:
        return self.root / folder / f"{key}.npz"

    def load(self, folder: str, key: str) -> dict[str, np.ndarray] | None:
        """Cached arrays, or None (missing); RunFileError if the file is corrupt."""
        return load_arrays(self.path(folder, key))

    def save(self, folder: str, key: str, arrays: dict[str, np.ndarray]) -> Path:
        return atomic_save_arrays(self.path(folder, key), arrays)

    def blocks(self, job_key: str) -> BlockStore:
        return BlockStore(self.root / "partial" / job_key)

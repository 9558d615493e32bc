"""Run directories: paths, state ('absent', 'finished', ...), meta.json, and the start/resume rules.

Layout of ``<runs_dir>/<name>/``: ``config.yaml`` (resolved configuration), ``meta.json``
(provenance and status), ``results.npz`` (:mod:`gpuqd.run.store.results`), ``figures/``, ``checkpoint/``
(stage states while the run is unfinished).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from gpuqd.atomic_io import atomic_write_text
from gpuqd.run.errors import RunError

__all__ = ["RESULTS_FILE", "RESULTS_NC_FILE", "RunDir", "dumps_json", "git_commit", "now", "prepare_run_dir"]

#: the results file of a run directory (written by gpuqd.run.store.results)
RESULTS_FILE = "results.npz"
#: NetCDF results (CF attributes; :mod:`gpuqd.run.store.netcdf`), written by every run next to results.npz
RESULTS_NC_FILE = "results.nc"


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def dumps_json(obj: Any) -> str:
    """JSON text (indented, NumPy scalars/arrays and paths converted, NaN allowed)."""
    return json.dumps(obj, indent=2, default=_json_default, ensure_ascii=False, allow_nan=True)


def _is_tmp(name: str) -> bool:
    return name.startswith(".") and name.endswith(".tmp")


def now() -> str:
    """Current UTC time, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def git_commit() -> str | None:
    """The git commit of the source tree gpuqd was imported from (with '-dirty'), if any."""
    root = Path(__file__).resolve().parents[3]  # gpuqd/run/store/rundir.py → the source tree
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return out + ("-dirty" if dirty else "")
    except Exception:
        return None


# --------------------------------------------------------------------------------------- run dir
class RunDir:
    """Paths and state of one run directory."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    config_path = property(lambda self: self.path / "config.yaml")
    meta_path = property(lambda self: self.path / "meta.json")
    results_path = property(lambda self: self.path / RESULTS_FILE)
    results_nc_path = property(lambda self: self.path / RESULTS_NC_FILE)
    figures_dir = property(lambda self: self.path / "figures")
    checkpoint_dir = property(lambda self: self.path / "checkpoint")

    def exists(self) -> bool:
        return self.path.exists()

    def is_run_dir(self) -> bool:
        return self.meta_path.exists() or self.config_path.exists()

    def read_meta(self) -> dict:
        try:
            return json.loads(self.meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def write_meta(self, meta: Mapping) -> None:
        atomic_write_text(self.meta_path, dumps_json(meta) + "\n")

    def add_stage_time(self, name: str, seconds: float) -> None:
        """Add ``seconds`` of wall time to ``name`` in meta.json's ``stages`` and total (e.g. the figures,
        drawn after the run has finished)."""
        meta = self.read_meta()
        stage = meta.setdefault("stages", {}).setdefault(name, {"wall_s": 0.0})
        stage["wall_s"] = round(stage["wall_s"] + seconds, 3)
        meta["wall_s_total"] = round(sum(s["wall_s"] for s in meta["stages"].values()), 3)
        self.write_meta(meta)

    def read_config(self) -> dict | None:
        try:
            return yaml.safe_load(self.config_path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            return None

    @property
    def status(self) -> str:
        """'absent', 'empty', 'finished', 'unfinished' or 'foreign' (exists, not a gpuqd run)."""
        if not self.path.exists():
            return "absent"
        if self.path.is_dir() and not any(p for p in self.path.iterdir() if not _is_tmp(p.name)):
            return "empty"  # nothing, or only leftovers of an interrupted atomic write
        if not self.path.is_dir() or not self.is_run_dir():
            return "foreign"
        return "finished" if self.read_meta().get("status") == "finished" else "unfinished"

    def remove(self) -> None:
        """Delete the run directory (only if it is a gpuqd run directory or empty)."""
        if self.status in ("absent",):
            return
        if self.status == "foreign":
            raise RuntimeError(f"refusing to delete {self.path}: not a gpuqd run directory")
        shutil.rmtree(self.path)

    def has_checkpoints(self) -> bool:
        """True if a stage checkpoint exists (work that a ``--resume`` can continue)."""
        return self.checkpoint_dir.is_dir() and any(self.checkpoint_dir.glob("*.npz"))

    def clear_checkpoints(self) -> None:
        """Delete the stage checkpoints (the run is finished) and the folder if it is then empty."""
        if not self.checkpoint_dir.exists():
            return
        for f in self.checkpoint_dir.glob("*.npz"):
            f.unlink(missing_ok=True)
        shutil.rmtree(self.checkpoint_dir / "units", ignore_errors=True)  # work units (gpuqd.run.execute.execution)
        if not any(self.checkpoint_dir.iterdir()):
            self.checkpoint_dir.rmdir()


def _comparable(data: dict) -> dict:
    return {k: v for k, v in data.items() if k not in ("runs_dir", "backend", "execution")}


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k in ("runs_dir", "backend", "execution") and not path:
                continue
            if a.get(k) != b.get(k):
                return _first_difference(a.get(k), b.get(k), f"{path}.{k}" if path else k)
        return path or "?"
    return f"{path}: {a!r} → {b!r}"


def prepare_run_dir(run_dir: Path, data: dict, resume: bool, force: bool, version: str) -> tuple[RunDir, str]:
    """Check the state of ``run_dir`` for a run of the resolved config ``data``.

    Returns (RunDir, 'new' | 'replace' | 'resume' | 'finished'); RunError where the state forbids the
    request. 'replace' (``force`` on an existing run): the caller deletes the old run once its own
    checks have passed, so that a refused run loses nothing. A finished run is only "resumed" (nothing
    to do) with the configuration it was made with; an unfinished one only with that configuration and
    the gpuqd ``version`` that started it (the caller passes its own).
    """
    rd = RunDir(run_dir)
    status = rd.status
    if status == "foreign":
        raise RunError(f"{rd.path} exists and is not a gpuqd run directory; choose another name or runs_dir")
    if force:
        return rd, "replace" if status in ("finished", "unfinished") else "new"
    if status == "finished":
        if resume:
            stored = rd.read_config()
            if stored is None or _comparable(stored) != _comparable(data):
                diff = _first_difference(stored or {}, data)
                raise RunError(
                    f"{rd.path} holds a finished run made with another configuration ({diff}); "
                    f"use --force to recompute it (or change 'name')"
                )
            return rd, "finished"
        raise RunError(f"{rd.path} holds a finished run; use --force to overwrite it (or change 'name')")
    if status == "unfinished":
        if not resume:
            raise RunError(f"{rd.path} holds an unfinished run; use --resume to continue it or --force to start over")
        stored = rd.read_config()
        if stored is None or _comparable(stored) != _comparable(data):
            diff = _first_difference(stored or {}, data)
            raise RunError(
                f"{rd.path}: the configuration differs from the unfinished run's ({diff}); use --force to start over"
            )
        started_with = rd.read_meta().get("gpuqd_version")
        if started_with and started_with != version:
            raise RunError(
                f"{rd.path}: the unfinished run was started with gpuqd {started_with}, this is "
                f"{version}; resuming would mix results of two versions (noise and numerics may "
                f"differ): resume it with gpuqd {started_with}, or use --force to start over"
            )
        return rd, "resume"
    return rd, "new"

"""Run directories: layout, atomic writes, run state, meta.json and :func:`load_run`.

Layout of ``<runs_dir>/<name>/``::

    config.yaml        resolved configuration (all defaults filled in)
    meta.json          provenance: version, git commit, backend, device, seed, times, throughput, status
    results.npz        all results; self-describing, readable with NumPy alone (see :func:`load_run`)
    figures/           fig2_switching.{png,pdf}, fig3_readout.{png,pdf}, fig4_torques.{png,pdf}
    checkpoint/        dynamics state between chunks (removed when the run finishes)

``<runs_dir>/.cache/`` holds torque tables and transport maps keyed by a hash of the transport
parameters and the grid, shared between runs.

results.npz holds one array per quantity plus two string entries: ``attrs`` (JSON: format, units,
dims and description of every array, configuration, notes) and ``README`` (plain text)::

    d = np.load("runs/fig2/results.npz")
    attrs = json.loads(str(d["attrs"]))
    d["mean_theta"], d["eps_tilde_over_U"], d["V_over_U"]
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from gpuqd.atomic_io import atomic_savez, atomic_write_bytes, atomic_write_text  # re-exported

__all__ = ["RunDir", "RunResults", "load_run", "atomic_write_bytes", "atomic_write_text", "atomic_savez",
           "write_results", "RESULTS_FORMAT"]

RESULTS_FORMAT = "gpuqd-results/1"


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def dumps_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=_json_default, ensure_ascii=False, allow_nan=True)


def _is_tmp(name: str) -> bool:
    return name.startswith(".") and name.endswith(".tmp")


# --------------------------------------------------------------------------------------- run dir
class RunDir:
    """Paths and state of one run directory."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    config_path = property(lambda self: self.path / "config.yaml")
    meta_path = property(lambda self: self.path / "meta.json")
    results_path = property(lambda self: self.path / "results.npz")
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


# --------------------------------------------------------------------------------------- results
def write_results(path: str | os.PathLike, arrays: Mapping[str, np.ndarray], variables: Mapping[str, dict],
                  attrs: Mapping[str, Any], readme: str) -> Path:
    """Write results.npz: ``arrays`` + JSON ``attrs`` (with ``variables``) + plain-text ``README``."""
    for reserved in ("attrs", "README"):
        if reserved in arrays:
            raise ValueError(f"array name {reserved!r} is reserved")
    missing = [k for k in arrays if k not in variables]
    if missing:
        raise ValueError(f"no description for result arrays {missing}")
    full_attrs = dict(attrs)
    full_attrs["format"] = RESULTS_FORMAT
    full_attrs["variables"] = {k: dict(variables[k]) | {"shape": list(np.shape(arrays[k]))} for k in arrays}
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    for k, v in payload.items():
        if v.dtype == object:
            raise ValueError(f"result array {k!r} has dtype object (not readable without pickle)")
    payload["attrs"] = np.array(dumps_json(full_attrs))
    payload["README"] = np.array(readme)
    return atomic_savez(path, compressed=True, **payload)


class RunResults(Mapping):
    """Results of a run directory: a read-only mapping name → array with labelled axes.

    Attributes: ``path``, ``config`` (resolved configuration dict), ``meta`` (meta.json),
    ``attrs`` (JSON attrs of results.npz), ``axes`` (``eps_tilde_over_U``, ``V_over_U``,
    ``eps_tilde``, ``V``), ``variables`` (per array: dims, units, description), ``readme``.
    Arrays are also attributes: ``r.mean_theta``.  ``r.units(name)`` and ``r.dims(name)``.
    """

    AXES = ("eps_tilde_over_U", "V_over_U", "eps_tilde", "V")

    def __init__(self, path: Path, arrays: dict, attrs: dict, readme: str, config: dict | None, meta: dict):
        self.path = path
        self._arrays = arrays
        self.attrs = attrs
        self.readme = readme
        self.config = config if config is not None else attrs.get("config", {})
        self.meta = meta
        self.variables = attrs.get("variables", {})
        self.axes = {k: arrays[k] for k in self.AXES if k in arrays}

    def __getitem__(self, key: str) -> np.ndarray:
        return self._arrays[key]

    def __iter__(self):
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def __getattr__(self, name: str) -> np.ndarray:
        arrays = self.__dict__.get("_arrays", {})
        if name in arrays:
            return arrays[name]
        raise AttributeError(name)

    def units(self, name: str) -> str:
        return self.variables.get(name, {}).get("units", "")

    def dims(self, name: str) -> tuple:
        return tuple(self.variables.get(name, {}).get("dims", ()))

    def describe(self, name: str) -> str:
        return self.variables.get(name, {}).get("description", "")

    def nearest(self, eps_tilde_over_U: float, V_over_U: float) -> tuple[int, int]:
        """Indices (i_eps, i_V) of the grid point nearest to (ε̃/U, V/U)."""
        i = int(np.nanargmin(np.abs(self.axes["eps_tilde_over_U"] - eps_tilde_over_U)))
        j = int(np.nanargmin(np.abs(self.axes["V_over_U"] - V_over_U)))
        return i, j

    def __repr__(self) -> str:
        shape = (len(self.axes.get("eps_tilde", [])), len(self.axes.get("V", [])))
        names = ", ".join(k for k in self._arrays if k not in self.AXES)
        return f"RunResults({str(self.path)!r}, grid {shape[0]}x{shape[1]} (eps_tilde x V), arrays: {names})"


def load_run(path: str | os.PathLike) -> RunResults:
    """Load ``results.npz`` (+ config.yaml, meta.json) of a run directory (or a results.npz path).

    Only NumPy is needed to read the file itself; this helper adds the labelled-axes view.
    """
    p = Path(path)
    results = p if p.suffix == ".npz" else p / "results.npz"
    run = results.parent
    if not results.exists():
        status = RunDir(run).status
        hint = " (the run is unfinished: use `gpuqd run CONFIG --resume`)" if status == "unfinished" else ""
        raise FileNotFoundError(f"{results}: no results{hint}")
    with np.load(results, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if k not in ("attrs", "README")}
        attrs = json.loads(str(data["attrs"])) if "attrs" in data.files else {}
        readme = str(data["README"]) if "README" in data.files else ""
    rd = RunDir(run)
    return RunResults(run, arrays, attrs, readme, rd.read_config(), rd.read_meta())

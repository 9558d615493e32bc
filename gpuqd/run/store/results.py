"""Results of a run: the one module that writes and reads them (results.nc, results.npz) and :func:`load_run`.

Layout of ``<runs_dir>/<name>/`` (paths and state: :mod:`gpuqd.run.store.rundir`)::

    config.yaml        resolved configuration (all defaults filled in)
    meta.json          provenance: version, git commit, backend, device, seed, times, throughput, status
    results.nc         all results as NetCDF with CF attributes (:mod:`gpuqd.run.store.netcdf`): xarray,
                       ncview, Panoply, MATLAB, Julia; ``xr.open_dataset("runs/fig2/results.nc")``
    results.npz        the same arrays, readable with NumPy alone (see :func:`load_run`)
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
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import yaml

from gpuqd.atomic_io import atomic_save_arrays
from gpuqd.run.store.file_errors import REMEDY_RERUN, RunFileError, load_npz
from gpuqd.run.store.netcdf import read_results_nc, write_results_nc
from gpuqd.run.store.netcdf import to_xarray as nc_to_xarray
from gpuqd.run.store.rundir import RESULTS_FILE, RESULTS_NC_FILE, RunDir, dumps_json

__all__ = [
    "AXIS_LABELS",
    "AXIS_VARIABLES",
    "point_coordinate_variables",
    "point_coordinates",
    "RESULTS_FORMAT",
    "RunResults",
    "load_run",
    "readme_text",
    "save_results",
    "write_results",
]

RESULTS_FORMAT = "gpuqd-results/1"
#: the grid axes every run writes
AXIS_VARIABLES = MappingProxyType(
    {
        "eps_tilde_over_U": {
            "dims": ["eps_tilde"],
            "units": "U",
            "description": "level position ε̃ = ε + U/2",
            "coordinate": "auxiliary",
        },
        "V_over_U": {
            "dims": ["V"],
            "units": "U",
            "description": "bias voltage V (μ_S = +V/2, μ_D = −V/2)",
            "coordinate": "auxiliary",
        },
        "eps_tilde": {
            "dims": ["eps_tilde"],
            "units": "Gamma",
            "description": "level position ε̃ in units of Γ",
            "coordinate": "dimension",
        },
        "V": {
            "dims": ["V"],
            "units": "Gamma",
            "description": "bias voltage V in units of Γ",
            "coordinate": "dimension",
        },
        "xy": {
            "dims": ["xy"],
            "units": "",
            "description": "components of the (ε̃, V) point arrays (*_point_over_U, *_requested_over_U)",
            "coordinate": "dimension",
        },
    }
)

#: label axes every run writes besides the grid axes (declared in AXIS_VARIABLES)
AXIS_LABELS = MappingProxyType({"xy": np.array(["eps_tilde", "V"])})


def point_coordinate_variables(prefix: str, dim: str, what: str) -> dict[str, dict[str, Any]]:
    """Declarations of ``<prefix>_eps_tilde_over_U`` and ``<prefix>_V_over_U``: the (ε̃, V) of the
    points along dimension ``dim`` (the components of a (``dim``, xy) point array of ``what``) as
    auxiliary coordinates, so that every variable on ``dim`` carries its points in results.nc."""
    return {
        f"{prefix}_{axis}_over_U": {
            "dims": [dim],
            "units": "U",
            "description": f"{label} of the {what}",
            "coordinate": "auxiliary",
        }
        for axis, label in (("eps_tilde", "ε̃"), ("V", "V"))
    }


def point_coordinates(prefix: str, points_over_U: Any) -> dict[str, np.ndarray]:
    """The arrays declared by :func:`point_coordinate_variables` from (n, 2) points (ε̃, V) over U."""
    points = np.asarray(points_over_U, dtype=float).reshape(-1, 2)
    return {f"{prefix}_eps_tilde_over_U": points[:, 0].copy(), f"{prefix}_V_over_U": points[:, 1].copy()}


# --------------------------------------------------------------------------------------- results
def write_results(
    path: str | os.PathLike,
    arrays: Mapping[str, np.ndarray],
    variables: Mapping[str, Mapping[str, Any]],
    attrs: Mapping[str, Any],
    readme: str,
) -> Path:
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
    return atomic_save_arrays(path, payload, compressed=True)


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

    def to_xarray(self) -> Any:
        """The results as an ``xarray.Dataset`` (needs the ``xarray`` extra), in the layout of
        results.nc (:mod:`gpuqd.run.store.netcdf`): results.nc as written, or, for runs that only have
        results.npz, that file's arrays written through the same layout into a temporary results.nc."""
        nc = self.path / RESULTS_NC_FILE
        if nc.exists():
            return nc_to_xarray(nc)
        with tempfile.TemporaryDirectory() as tmp:
            meta = {k: v for k, v in self.attrs.items() if k != "variables"}
            variables = {k: {x: y for x, y in v.items() if x != "shape"} for k, v in self.variables.items()}
            path = write_results_nc(Path(tmp) / RESULTS_NC_FILE, self._arrays, variables, meta, self.readme)
            return nc_to_xarray(path)

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
    """Load the results (+ config.yaml, meta.json) of a run directory, or of a results file path.

    Reads ``results.nc`` (NetCDF) where it exists, else ``results.npz`` (runs made before results.nc;
    only NumPy is needed to read that file itself). A corrupt file raises
    :class:`~gpuqd.run.store.file_errors.RunFileError` (one line, naming the file and the remedy).
    """
    p = Path(path)
    if p.suffix in (".nc", ".npz"):
        results = p
    else:
        results = p / RESULTS_NC_FILE if (p / RESULTS_NC_FILE).exists() else p / RESULTS_FILE
    run = results.parent
    if not results.exists():
        status = RunDir(run).status
        hint = " (the run is unfinished: use `gpuqd run CONFIG --resume`)" if status == "unfinished" else ""
        raise FileNotFoundError(f"{results}: no results{hint}")
    if results.suffix == ".nc":
        try:
            arrays, attrs, readme = read_results_nc(results)
        except Exception as exc:  # scipy raises TypeError/ValueError/OSError/IndexError for damaged files
            cause = " ".join(str(exc).split()) or type(exc).__name__
            raise RunFileError(f"results file {results} is corrupt or unreadable ({cause}); {REMEDY_RERUN}") from None
    else:
        data = load_npz(results, "results file", REMEDY_RERUN)
        arrays = {k: v for k, v in data.items() if k not in ("attrs", "README")}
        try:
            attrs = json.loads(str(data["attrs"])) if "attrs" in data else {}
        except ValueError:
            raise RunFileError(f"results file {results} is corrupt (attrs is not JSON); {REMEDY_RERUN}") from None
        readme = str(data["README"]) if "README" in data else ""
    rd = RunDir(run)
    return RunResults(run, arrays, attrs, readme, rd.read_config(), rd.read_meta())


def readme_text(arrays: Mapping[str, np.ndarray], variables: Mapping[str, Mapping], attrs: Mapping) -> str:
    """Plain-text description of every array (the ``README`` entry of results.npz)."""
    lines = [
        f"gpuqd results ({attrs['gpuqd_version']}), run '{attrs['name']}'.",
        "Read with NumPy alone: d = np.load('results.npz'); attrs = json.loads(str(d['attrs'])).",
        "Axes: eps_tilde_over_U / eps_tilde (Γ) index dimension 0, V_over_U / V (Γ) dimension 1 of all maps.",
        "Units: energies in Γ = (Γ_S+Γ_D)/2, times in ħ/Γ, currents in eΓ/ħ, conductance in e²/ħ, angles rad.",
        "",
    ]
    for k, v in arrays.items():
        var = variables[k]
        lines.append(f"{k} {list(np.shape(v))} [{var['units']}] dims={var['dims']}: {var['description']}")
    lines += ["", "Notes:"] + [f"- {n}" for n in attrs["notes"]]
    return "\n".join(lines) + "\n"


def save_results(
    run_dir: RunDir, arrays: Mapping[str, np.ndarray], variables: Mapping[str, Mapping], attrs: Mapping[str, Any]
) -> list[Path]:
    """Write the results of a finished run into ``run_dir`` (every results file a run has); their paths.

    results.nc carries the configuration (YAML), seed, version, backend and the stage timings so far
    (meta.json) as global attributes.
    """
    readme = readme_text(arrays, variables, attrs)
    meta = run_dir.read_meta()
    config_yaml = yaml.safe_dump(dict(attrs.get("config", {})), sort_keys=False, allow_unicode=True)
    timings = {
        "stages_wall_s": {k: v.get("wall_s") for k, v in meta.get("stages", {}).items()},
        "throughput": meta.get("throughput", {}),
    }
    nc = write_results_nc(
        run_dir.results_nc_path,
        arrays,
        variables,
        attrs,
        readme,
        config_yaml=config_yaml,
        backend=str(meta.get("backend", "")),
        timings=timings,
    )
    return [nc, write_results(run_dir.results_path, arrays, variables, attrs, readme)]

"""``results.nc``: a run's results as NetCDF classic (CDF-2, 64-bit offsets) with CF-style attributes.

Written and read with :class:`scipy.io.netcdf_file` (no dependency beyond SciPy); opens with
``xarray.open_dataset``, ncview, Panoply, MATLAB ``ncread`` and Julia ``NCDatasets``.

Layout
------
The layout is declared once, by the result variables of the stages (``dims``, ``units``,
``description`` and the optional ``coordinate`` key); this module only follows the declarations:

* ``"coordinate": "dimension"`` (a 1-D array that labels its one dimension, e.g. ``eps_tilde``,
  ``switching_protocols`` on ``protocol``): written as the CF coordinate variable of that dimension,
  i.e. under the dimension's name (``protocol``, ``survival_time``, ``theta``, ...), with the attribute
  ``gpuqd_name`` holding the array name when the two differ (:func:`read_results_nc` restores it).
  ``xarray`` makes these index coordinates: ``ds.sel(protocol="P_to_AP")``.
* ``"coordinate": "auxiliary"`` (e.g. ``eps_tilde_over_U``, ``inset_V_over_U``): named in the
  ``coordinates`` attribute of every variable whose dimensions include all of its dimensions, and in
  the global ``coordinates`` attribute (so xarray makes all of them coordinates).
* Dimensions without values (``trajectory``, ``root``, ``round``, ...) have no coordinate variable;
  xarray selects on them by position (``ds.sel(trajectory=0)`` is ``ds.isel(trajectory=0)``).
* Every variable has ``units`` (CF: ``"1"`` for dimensionless; energies ``"Gamma"``, times
  ``"1/Gamma"``, see the global ``units_convention``) and ``long_name``.
* Global attributes: ``Conventions``, ``title``, ``source``, ``history``, ``config`` (the resolved YAML
  configuration), ``seed``, ``gpuqd_version``, ``backend``, ``timings`` (JSON: wall seconds per stage
  and throughput), ``readme`` and ``gpuqd_attrs`` (JSON of the complete results metadata, so that
  :func:`read_results_nc` returns exactly what :func:`write_results_nc` was given).

Data types
----------
NetCDF classic knows int8, int16, int32, float32, float64 and char only. Other NumPy types are mapped
and restored exactly on reading; the variable attribute ``gpuqd_dtype`` names the original type:

========================  ==========================================================================
NumPy                     stored as
========================  ==========================================================================
bool                      int8 0/1, attribute ``dtype = "bool"`` (xarray decodes this to bool too),
                          ``flag_values``/``flag_meanings``
int64, uint32, uint64     int32 when every value fits, otherwise float64 (exact for |x| ≤ 2**53;
                          larger values are refused)
uint8, uint16             int16, int32
float16                   float32
complex64/128             float32/64 with a trailing dimension ``complex`` (real, imaginary)
str (``<U``), bytes       char with a trailing dimension ``<name>_strlen`` (UTF-8, NUL padded,
                          attribute ``_Encoding = "utf-8"``)
========================  ==========================================================================

Arrays with a zero-length axis (NetCDF classic has only one, unlimited, zero-length dimension) are
stored as an int8 scalar placeholder with the attributes ``gpuqd_empty = 1`` and ``gpuqd_shape``.
Float NaN and ±inf are stored as they are (no ``_FillValue``: NaN is data, e.g. "not reached").
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from scipy.io import netcdf_file

from gpuqd.atomic_io import atomic_open

__all__ = ["NETCDF_FORMAT", "write_results_nc", "read_results_nc", "to_xarray", "cf_units", "stored_name"]

NETCDF_FORMAT = "gpuqd-results-netcdf/1"
_EXACT_FLOAT_INT = 2**53
_I32 = np.iinfo(np.int32)


def cf_units(units: str) -> str:
    """CF ``units`` text for a results ``units`` entry (dimensionless, boolean and codes → ``"1"``)."""
    return "1" if units in ("", "1", "bool", "code") else units


def stored_name(name: str, meta: Mapping[str, Any]) -> str:
    """Name of result array ``name`` in results.nc (and xarray): its dimension's name where the
    declaration ``meta`` makes it the coordinate of that dimension, else ``name`` itself."""
    if meta.get("coordinate") == "dimension":
        dims = list(meta.get("dims", []))
        if len(dims) != 1:
            raise ValueError(f"result array {name!r}: a dimension coordinate needs exactly one dimension, got {dims}")
        return str(dims[0])
    return name


def _b(text: str) -> bytes:
    """Attribute text as UTF-8 bytes (SciPy encodes ``str`` attributes as ASCII only)."""
    return str(text).encode("utf-8")


def _s(value: Any) -> Any:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _dumps(obj: Any) -> str:
    def default(o: Any) -> Any:
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        return str(o)

    return json.dumps(obj, default=default, ensure_ascii=False, allow_nan=True)


# --------------------------------------------------------------------------------------- encoding
def _encode(name: str, a: np.ndarray) -> tuple[np.ndarray, list[str], dict]:
    """(stored array, extra trailing dimension names, extra attributes) for one array."""
    if a.dtype.byteorder not in ("=", "|"):
        a = a.astype(a.dtype.newbyteorder("="))  # values are restored in native byte order
    kind, dt = a.dtype.kind, a.dtype
    attrs: dict[str, Any] = {}
    if dt in (np.int8, np.int16, np.int32, np.float32, np.float64):
        return a, [], attrs
    attrs["gpuqd_dtype"] = dt.str
    if kind == "b":
        attrs.update({"dtype": "bool", "flag_values": np.array([0, 1], dtype=np.int8), "flag_meanings": "false true"})
        return a.astype(np.int8), [], attrs
    if dt in (np.uint8, np.uint16):
        return a.astype(np.int16 if dt == np.uint8 else np.int32), [], attrs
    if kind in "iu":
        if a.size == 0 or (int(a.min()) >= _I32.min and int(a.max()) <= _I32.max):
            return a.astype(np.int32), [], attrs
        if max(abs(int(a.min())), abs(int(a.max()))) > _EXACT_FLOAT_INT:
            raise ValueError(
                f"result array {name!r}: integers beyond ±2**53 cannot be stored exactly in NetCDF classic"
            )
        return a.astype(np.float64), [], attrs
    if dt == np.float16:
        return a.astype(np.float32), [], attrs
    if kind == "c":
        real = np.float32 if dt == np.complex64 else np.float64
        return np.stack([a.real, a.imag], axis=-1).astype(real), ["complex"], attrs
    if kind in "US":
        flat = [(x.encode("utf-8") if kind == "U" else bytes(x)) for x in a.ravel().tolist()]
        width = max([1] + [len(x) for x in flat])
        chars = np.zeros(a.shape + (width,), dtype="S1")
        view = chars.reshape(-1, width)
        for i, x in enumerate(flat):
            view[i, : len(x)] = np.frombuffer(x, dtype="S1")
        if kind == "U":
            attrs["_Encoding"] = "utf-8"
        return chars, [f"{name}_strlen"], attrs
    raise ValueError(
        f"result array {name!r}: dtype {dt} cannot be stored in NetCDF (allowed: bool, integers, "
        f"floats, complex, strings)"
    )


def _decode(data: np.ndarray, attrs: Mapping[str, Any]) -> np.ndarray:
    dt = _s(attrs.get("gpuqd_dtype"))
    if int(attrs.get("gpuqd_empty", 0)):
        shape = tuple(int(x) for x in np.atleast_1d(attrs["gpuqd_shape"]))
        return np.zeros(shape, dtype=np.dtype(dt) if dt else np.float64)
    if dt is None:
        return np.asarray(data).astype(data.dtype.newbyteorder("="))
    dtype = np.dtype(dt)
    if dtype.kind == "c":
        return (data[..., 0] + 1j * data[..., 1]).astype(dtype)
    if dtype.kind in "US":
        raw = [b"".join(row.tolist()).rstrip(b"\0") for row in data.reshape(-1, data.shape[-1])]
        vals = [x.decode("utf-8") for x in raw] if dtype.kind == "U" else raw
        return np.array(vals, dtype=dtype).reshape(data.shape[:-1])
    return np.asarray(data).astype(dtype)


# --------------------------------------------------------------------------------------- write
class _KeepOpen:
    """File proxy whose ``close`` is a no-op: the file belongs to :func:`atomic_open`."""

    closed = False

    def __init__(self, f: Any):
        self._f = f

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)

    def close(self) -> None:
        self._f.flush()
        self.closed = True


def write_results_nc(
    path: str | os.PathLike,
    arrays: Mapping[str, np.ndarray],
    variables: Mapping[str, Mapping[str, Any]],
    attrs: Mapping[str, Any],
    readme: str = "",
    *,
    config_yaml: str = "",
    backend: str = "",
    timings: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``results.nc`` atomically (see the module docstring for layout and type mapping).

    ``arrays``: name → array; ``variables``: name → {"dims", "units", "description"} and optionally
    "coordinate": "dimension" | "auxiliary" (every array must be described; ValueError if two arrays
    would be stored under one name); ``attrs``: results metadata (JSON-serialisable; must hold ``config`` with
    ``seed`` and may hold ``gpuqd_version``); ``timings``: wall seconds per stage and throughput.
    """
    missing = [k for k in arrays if k not in variables]
    if missing:
        raise ValueError(f"no description for result arrays {missing}")
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    for k, v in payload.items():
        if v.dtype == object:
            raise ValueError(f"result array {k!r} has dtype object")
    dims: dict[str, int] = {}
    plan: list[tuple[str, np.ndarray, tuple[str, ...], dict[str, Any]]] = []
    nc_names = {name: stored_name(name, variables[name]) if payload[name].size else name for name in payload}
    clash = sorted(n for n in set(nc_names.values()) if list(nc_names.values()).count(n) > 1)
    if clash:
        raise ValueError(f"results.nc: more than one result array is stored as {clash}")
    for name, a in payload.items():
        meta = variables[name]
        if a.size == 0:
            plan.append(
                (
                    name,
                    np.zeros((), np.int8),
                    (),
                    {
                        "gpuqd_empty": np.int8(1),
                        "gpuqd_dtype": a.dtype.str,
                        "gpuqd_shape": np.array(a.shape or (0,), np.int32),
                    },
                )
            )
            continue
        stored, extra, extra_attrs = _encode(nc_names[name], a)
        names = list(meta.get("dims", []))
        if len(names) != a.ndim:
            names = [f"{name}_dim{i}" for i in range(a.ndim)]
        names += extra
        final = []
        for d, n in zip(names, stored.shape, strict=True):
            dn = d
            if dims.get(dn, n) != n:  # the same name with another length elsewhere: a dimension of its own
                dn = f"{d}__{name}"
            dims[dn] = n
            final.append(dn)
        if final != names:
            extra_attrs["gpuqd_dims"] = " ".join(names)
        if nc_names[name] != name:
            extra_attrs["gpuqd_name"] = name
        plan.append((name, stored, tuple(final), extra_attrs))
    auxiliary: list[tuple[str, set[str]]] = [
        (nc_names[name], set(vdims))
        for name, _, vdims, extra_attrs in plan
        if variables[name].get("coordinate") == "auxiliary" and "gpuqd_empty" not in extra_attrs
    ]

    cfg = attrs.get("config", {}) if isinstance(attrs.get("config"), Mapping) else {}
    version = str(attrs.get("gpuqd_version", ""))
    seed = cfg.get("seed", attrs.get("seed"))
    with atomic_open(path) as fh:
        nc = netcdf_file(_KeepOpen(fh), "w", version=2)
        try:
            for d, n in dims.items():
                nc.createDimension(d, n)
            for name, stored, vdims, extra_attrs in plan:
                meta = variables[name]
                code = stored.dtype.char if stored.dtype.kind != "S" else "c"
                var = nc.createVariable(nc_names[name], code, vdims)
                if stored.ndim:
                    var[...] = stored
                else:
                    var.data[...] = stored
                var.units = _b(cf_units(str(meta.get("units", ""))))
                var.long_name = _b(meta.get("description", "") or name)
                aux = [c for c, cdims in auxiliary if c != nc_names[name] and cdims <= set(vdims)]
                if aux and not meta.get("coordinate"):
                    var.coordinates = _b(" ".join(aux))
                for k, v in extra_attrs.items():
                    setattr(var, k, _b(v) if isinstance(v, str) else v)
            if auxiliary:
                nc.coordinates = _b(" ".join(c for c, _ in auxiliary))
            nc.Conventions = b"CF-1.8"
            nc.title = _b(f"gpuqd results: run {attrs.get('name', '')!s}")
            nc.source = _b(f"gpuqd {version}")
            nc.history = _b(f"{_dt.datetime.now(_dt.UTC).isoformat(timespec='seconds')} written by gpuqd {version}")
            nc.gpuqd_format = _b(NETCDF_FORMAT)
            nc.gpuqd_version = _b(version)
            nc.backend = _b(backend)
            nc.config = _b(config_yaml)
            if isinstance(seed, int) and _I32.min <= seed <= _I32.max:
                nc.seed = np.int32(seed)
            else:
                nc.seed = _b(str(seed))
            nc.timings = _b(_dumps(timings or {}))
            nc.units_convention = _b(
                "ħ = e = k_B = 1; energies in Gamma = (Γ_S + Γ_D)/2, times in 1/Gamma "
                "(ħ/Γ), currents in Gamma (eΓ/ħ), conductances in e^2/hbar, angles rad; "
                "'U': in units of the charging energy U"
            )
            nc.readme = _b(readme)
            nc.gpuqd_attrs = _b(_dumps({"attrs": dict(attrs), "variables": {k: dict(variables[k]) for k in payload}}))
        finally:
            nc.close()
    return Path(path)


# --------------------------------------------------------------------------------------- read
def read_results_nc(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict, str]:
    """(arrays, attrs, readme) of a ``results.nc``: arrays with their original dtypes and shapes,
    ``attrs`` the results metadata including ``variables`` (dims, units, description per array).
    """
    with netcdf_file(path, "r", mmap=False, maskandscale=False) as nc:
        arrays = {
            _s(var._attributes.get("gpuqd_name", name)): _decode(var.data, var._attributes)
            for name, var in nc.variables.items()
        }
        g = {k: _s(v) for k, v in nc._attributes.items()}
    meta = json.loads(g.get("gpuqd_attrs", "{}") or "{}")
    attrs = dict(meta.get("attrs", {}))
    attrs["variables"] = {
        k: dict(v) | {"shape": list(arrays[k].shape)} for k, v in meta.get("variables", {}).items() if k in arrays
    }
    attrs.setdefault("timings", json.loads(g.get("timings", "{}") or "{}"))
    attrs.setdefault("backend", g.get("backend", ""))
    return arrays, attrs, g.get("readme", "")


def to_xarray(path: str | os.PathLike) -> Any:
    """``xarray.open_dataset`` of a ``results.nc``, loaded into memory (needs the ``xarray`` extra)."""
    try:
        import xarray as xr
    except ImportError:
        raise ImportError("to_xarray() needs xarray: pip install 'gpuqd[xarray]'") from None
    with xr.open_dataset(path, engine="scipy") as ds:
        return ds.load()

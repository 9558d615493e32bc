"""gpuqd: quantum-dot spin-valve transport to O(Γ²) and batched stochastic macrospin dynamics.

Units: ħ = e = k_B = 1; energies in units of Γ = (Γ_S + Γ_D)/2 unless a name says otherwise,
times in 1/Γ, particle currents in Γ, spin currents in ħΓ. See ``docs/physics.md``.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from gpuqd.version import __version__

__all__ = [
    "PAPER_PARAMETERS",
    "__version__",
    "load_run",
    "switching_times",
    "theta_map",
    "torque_curve",
]

#: the one-call API (:mod:`gpuqd.api`), imported on first use so that ``import gpuqd`` stays light
_API_NAMES = ("PAPER_PARAMETERS", "switching_times", "theta_map", "torque_curve")


def __getattr__(name: str) -> Any:
    if name in _API_NAMES:
        from gpuqd import api

        return getattr(api, name)
    raise AttributeError(f"module 'gpuqd' has no attribute {name!r}")


def load_run(path: str | os.PathLike, *, as_dataset: bool | None = None) -> Any:
    """Load the results of a finished run: an ``xarray.Dataset`` when xarray is installed.

    Parameters
    ----------
    path:
        A run directory (``runs/<name>``) or its ``results.nc`` / ``results.npz``.
    as_dataset:
        ``None`` (default): an ``xarray.Dataset`` if xarray is installed (``pip install
        'gpuqd[xarray]'``), else a :class:`gpuqd.run.store.results.RunResults`; ``True``: the Dataset (an
        ImportError naming the extra if xarray is missing); ``False``: the RunResults.

    Returns
    -------
    xarray.Dataset
        results.nc as written (:mod:`gpuqd.run.store.netcdf`). Every variable has CF ``units`` and
        ``long_name``. Coordinates: ``eps_tilde`` and ``V`` in Γ (index coordinates of all maps) with
        ``eps_tilde_over_U`` / ``V_over_U`` in U beside them; the arrays that label a dimension are that
        dimension's coordinate under the dimension's name (``protocol`` ← ``switching_protocols``,
        ``survival_time``, ``inset_time``, ``theta``, ``quantile``, ``state``, ``xy`` = ("eps_tilde", "V"),
        ...; attribute ``gpuqd_name``), so ``ds.sel(protocol="P_to_AP", eps_tilde=..., method="nearest")``
        works; dimensions without values (``trajectory``, ``root``, ...) select by position. Global
        attributes: ``config`` (resolved YAML), ``seed``, ``backend``, ``gpuqd_version``, ``timings``.
    RunResults
        A read-only mapping name → NumPy array (names as in results.npz) with ``axes``, ``config``,
        ``meta``, ``units(name)``, ``dims(name)``, ``describe(name)``, ``nearest(ε̃/U, V/U)`` and
        ``to_xarray()``. Needs NumPy only.

    Units: energies in Γ = (Γ_S + Γ_D)/2 unless a name ends in ``_over_U``, times in 1/Γ, currents in
    eΓ/ħ, angles in rad (``units`` attribute of each variable).

    Raises
    ------
    FileNotFoundError
        No results there (an unfinished run says so and names ``gpuqd run CONFIG --resume``).
    gpuqd.run.store.file_errors.RunFileError
        A corrupt or unreadable results file (one line naming the file and the remedy).
    ImportError
        ``as_dataset=True`` without xarray.
    """
    from gpuqd.run.load import load_run as load

    results = load(path)
    if as_dataset is False or (as_dataset is None and importlib.util.find_spec("xarray") is None):
        return results
    return results.to_xarray()

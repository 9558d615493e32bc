"""results.nc as xarray expects it: one tiny run of every output, then ``xarray.open_dataset(...).sel``
on every dimension of every variable, CF ``units``/``long_name`` everywhere, and ``gpuqd.load_run``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import yaml

import gpuqd
from gpuqd.run.stages import all_stages, output_names
from gpuqd.run.store.results import AXIS_VARIABLES, RunResults

xr = pytest.importorskip("xarray")

#: dimensions whose values are stored (each must be an index coordinate of results.nc)
VALUED_DIMS = {
    "eps_tilde",
    "V",
    "xy",
    "protocol",
    "quantile",
    "regime",
    "time",
    "survival_time",
    "bin_edge",
    "inset_time",
    "pulse_width",
    "theta",
    "line_eps",
    "state",
    "bound",
}

ALL_OUTPUTS_SECTIONS = {
    "name": "every_output",
    "magnet": {"S": 1.0, "KV": 0.05, "alpha": 0.1, "sigma2": 1.0e-3, "field": [0.0, 0.0, 0.01]},
    "dynamics": {"dt": 0.05, "t_end": 20.0, "average_from": 10.0, "trajectories_per_point": 2, "chunk_steps": 400},
    "statistics": {"protocol": "both", "trajectories_per_point": 4, "survival_eps_tilde": 0.0, "survival_V": [0.4]},
    "fmr": {"spectra_eps_tilde": [0.25], "spectra_V": [0.2], "n_omega": 11},
    "write_error": {"widths": [1.0, 2.0], "settle": 1.0, "trajectories": 50, "fp_degree": 32},
}


def _run(tmp: Path, data: dict) -> Path:
    from gpuqd import cli

    cfg = tmp / f"{data['name']}.yaml"
    cfg.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert cli.main(["run", str(cfg), "--runs-dir", str(tmp / "runs"), "--quiet", "--no-figures"]) == 0
    return tmp / "runs" / data["name"]


@pytest.fixture(scope="module")
def every_output_run(tmp_path_factory, make_tiny_config):  # noqa: ANN001, ANN201
    data = make_tiny_config(**ALL_OUTPUTS_SECTIONS, outputs=list(output_names()))
    return _run(tmp_path_factory.mktemp("xr"), data)


def _check_sel_on_every_dimension(ds) -> None:  # noqa: ANN001
    """``sel`` by label on every index coordinate and by position elsewhere equals ``isel``, for every
    variable; CF units and long_name on every variable and coordinate."""
    for name in list(ds.variables):
        var = ds[name]
        assert var.attrs.get("units") and var.attrs.get("long_name"), name
        for dim in var.dims:
            if dim in ds.indexes:
                picked = var.sel({dim: ds.indexes[dim][-1]})
            else:  # no values: xarray selects by position
                picked = var.sel({dim: var.sizes[dim] - 1})
            np.testing.assert_array_equal(picked.values, var.isel({dim: -1}).values, err_msg=f"{name}[{dim}]")


def _declared_variables() -> dict[str, dict]:
    declared = dict(AXIS_VARIABLES)
    for stage in all_stages():
        declared |= dict(stage.variables)
    return declared


def test_declarations_name_a_coordinate_for_every_valued_dimension():
    """One source of truth: the stage declarations say which array labels which dimension."""
    declared = _declared_variables()
    labelled = {v["dims"][0] for v in declared.values() if v.get("coordinate") == "dimension"}
    assert labelled == VALUED_DIMS
    for name, v in declared.items():
        if v.get("coordinate") == "dimension":
            assert len(v["dims"]) == 1, name


@pytest.mark.slow
def test_sel_works_on_every_dimension_of_every_output(every_output_run):
    with xr.open_dataset(every_output_run / "results.nc") as ds:
        ds = ds.load()
    assert VALUED_DIMS <= set(ds.indexes), VALUED_DIMS - set(ds.indexes)
    _check_sel_on_every_dimension(ds)
    # what a physicist types
    assert list(ds.protocol.values) == ["P_to_AP", "AP_to_P"]
    p_to_ap = ds.switching_mean_time.sel(protocol="P_to_AP", eps_tilde=0.0, V=40.0)
    assert p_to_ap.shape == () and p_to_ap.attrs["units"] == "1/Gamma"
    assert ds.mean_theta.sel(eps_tilde=-29.0, V=41.0, method="nearest").eps_tilde_over_U == pytest.approx(-0.3)
    assert ds.switching_survival.sel(protocol="AP_to_P").dims == ("survival_point", "survival_time")
    assert float(ds.switching_survival.sel(survival_time=0.0).min()) == 1.0
    assert ds.inset_theta.sel(inset_time=ds.inset_time[-1]).dims == ("inset",)
    assert ds.torque_inset_field_like.sel(theta=np.pi / 2, method="nearest").shape == ()
    assert float(ds.inset_point_over_U.sel(xy="V")[0]) == 0.0  # the grid V nearest to 0.1 on (−0.4, 0, 0.4)
    assert ds.fmr_spectra_chi_imag.sel(state=-1).dims == ("spectrum_point", "omega")
    assert "fmr_spectra_omega" in ds.coords
    # points: their ε̃ and V travel with every variable on the point dimension
    assert ds.inset_theta.coords["inset_V_over_U"].values.tolist() == [0.0, 0.0]  # nearest grid V to 0.1, 0.175
    assert ds.switching_survival.coords["switching_survival_V_over_U"].values.tolist() == [0.4]
    assert ds.fmr_spectra_chi_imag.coords["fmr_spectra_eps_tilde_over_U"].values.tolist() == [0.25]
    assert float(ds.fp_window.sel(bound="end")) == 20.0
    assert ds.protocol.attrs["gpuqd_name"] == "switching_protocols"


@pytest.mark.slow
def test_load_run_returns_the_dataset(every_output_run, monkeypatch):
    real_find_spec = importlib.util.find_spec
    with monkeypatch.context() as m:  # without xarray: the NumPy mapping
        m.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "xarray" else real_find_spec(name, *a))
        assert isinstance(gpuqd.load_run(every_output_run), RunResults)
    ds = gpuqd.load_run(every_output_run)
    assert isinstance(ds, xr.Dataset) and "protocol" in ds.indexes
    r = gpuqd.load_run(every_output_run, as_dataset=False)
    np.testing.assert_array_equal(ds.survival_time.values, r["switching_survival_time"])
    np.testing.assert_array_equal(ds.mean_theta.values, r.mean_theta)
    # a run with results.npz only: the same layout
    (every_output_run / "results.nc").unlink()
    ds_npz = gpuqd.load_run(every_output_run / "results.npz")
    assert set(ds_npz.indexes) == set(ds.indexes)
    np.testing.assert_array_equal(ds_npz.switching_rate.values, ds.switching_rate.values)


@pytest.mark.slow
@pytest.mark.parametrize("output", output_names())
def test_sel_works_on_every_dimension_of_each_output_alone(output, tmp_path, make_tiny_config):
    """Each output in a run of its own (the layouts a user gets from configs/quickstart.yaml, fig2-4,
    fmr.yaml, switching_times.yaml): every dimension with values indexed, sel on every dimension."""
    data = make_tiny_config(**ALL_OUTPUTS_SECTIONS, outputs=[output])
    data["name"] = f"only_{output}"
    with xr.open_dataset(_run(tmp_path, data) / "results.nc") as ds:
        ds = ds.load()
    declared = _declared_variables()
    labelled = {v["dims"][0] for k, v in declared.items() if v.get("coordinate") == "dimension"}
    used = {d for name in ds.data_vars for d in ds[name].dims}
    assert used & labelled <= set(ds.indexes), (used & labelled) - set(ds.indexes)
    _check_sel_on_every_dimension(ds)

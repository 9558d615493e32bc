"""results.nc: exact round trip of every dtype the stages write, CF attributes, opens with SciPy and xarray."""

from __future__ import annotations

import importlib.util
import json
import os

import numpy as np
import pytest
from scipy.io import netcdf_file

from gpuqd.run.stages import all_stages
from gpuqd.run.store.netcdf import cf_units, read_results_nc, to_xarray, write_results_nc
from gpuqd.run.store.results import AXIS_VARIABLES

ALL_VARIABLES = dict(AXIS_VARIABLES)
for _stage in all_stages():
    ALL_VARIABLES |= {k: dict(v) for k, v in _stage.variables.items()}


def _sample_arrays() -> tuple[dict, dict]:
    rng = np.random.default_rng(7)
    n_eps, n_V = 4, 3
    eps = np.linspace(-500.0, 500.0, n_eps)
    V = np.linspace(-400.0, 400.0, n_V)
    arrays = {
        "eps_tilde": eps,
        "V": V,
        "eps_tilde_over_U": eps / 1000.0,
        "V_over_U": V / 1000.0,
        "mean_theta": rng.random((n_eps, n_V)),
        "first_passage_time": np.where(rng.random((n_eps, n_V, 2)) < 0.3, np.inf, rng.random((n_eps, n_V, 2))),
        "readout_conductance_dynamic": np.array([[np.nan, 1.0, -0.0]] * n_eps),
        "n_switches": rng.integers(0, 5, (n_eps, n_V, 2)).astype(np.int64),
        "final_state": rng.choice(np.array([-1, 1], dtype=np.int8), (n_eps, n_V, 2)),
        "fmr_stable_parallel": rng.random((n_eps, n_V)) < 0.5,
        "switching_protocols": np.array(["P_to_AP", "AP_to_P"]),
        "switching_regime_names": np.array(["thermal", "deterministic", "ε̃ unicode", "", "x"]),
        "switching_trajectory_steps": np.array(2**40 + 3, dtype=np.int64),  # beyond int32: stored as float64
        "switching_t_end": np.array(123.25),
        "resonance_V": np.full((n_eps, 0), np.nan),  # zero-length axis
        "lines_resonance_V_over_U": rng.random((7, 2)),  # 'root' with another length than resonance_V
        "fmr_sim_steps": np.arange(6, dtype=np.int64).reshape(1, 2, 3) - 3,
        "fmr_spectra_chi_real": (rng.random((1, 2, 3)) + 1j * rng.random((1, 2, 3))).astype(np.complex128),
        "theta_parallel": np.array(0.01 * np.pi, dtype=np.float32),
        "switching_quantile_levels": np.array([0.1, 0.5], dtype=np.float16),
        "switching_n_switched": np.array([[[7]]], dtype=np.uint64),
    }
    variables = {k: dict(ALL_VARIABLES[k]) for k in arrays}
    return arrays, variables


def _attrs() -> dict:
    return {
        "gpuqd_version": "0.1.0",
        "name": "t",
        "config": {"seed": 12, "name": "t", "runs_dir": "ε̃"},
        "notes": ["Γ_S + Γ_D = 2"],
    }


def test_round_trip_exact(tmp_path):
    arrays, variables = _sample_arrays()
    path = write_results_nc(
        tmp_path / "results.nc",
        arrays,
        variables,
        _attrs(),
        "read me: Γ",
        config_yaml="name: t\nseed: 12\n",
        backend="numpy",
        timings={"dynamics": 1.5},
    )
    back, attrs, readme = read_results_nc(path)
    assert sorted(back) == sorted(arrays)
    for k, a in arrays.items():
        b = back[k]
        assert b.dtype == a.dtype and b.shape == a.shape, (k, a.dtype, b.dtype, a.shape, b.shape)
        np.testing.assert_array_equal(b, a, err_msg=k)
        # exact bits (NaN payloads, −0.0) for floats
        if a.dtype.kind in "fc":
            assert a.tobytes() == b.tobytes(), k
    assert readme == "read me: Γ"
    assert attrs["config"] == _attrs()["config"] and attrs["notes"] == _attrs()["notes"]
    for k in arrays:
        assert {x: attrs["variables"][k][x] for x in ("dims", "units", "description")} == {
            x: variables[k][x] for x in ("dims", "units", "description")
        }


def test_cf_attributes_with_scipy(tmp_path):
    arrays, variables = _sample_arrays()
    path = write_results_nc(
        tmp_path / "results.nc",
        arrays,
        variables,
        _attrs(),
        "",
        config_yaml="name: t\nseed: 12\n",
        backend="numpy",
        timings={"dynamics": 1.5},
    )
    with netcdf_file(path, "r", mmap=False) as nc:
        assert nc.Conventions == b"CF-1.8"
        assert nc.seed == 12 and nc.backend == b"numpy" and nc.config.decode() == "name: t\nseed: 12\n"
        assert json.loads(nc.timings) == {"dynamics": 1.5}
        assert nc.gpuqd_version == b"0.1.0"
        for name, var in nc.variables.items():
            assert var.units and var.long_name, name
        assert nc.variables["eps_tilde"].dimensions == ("eps_tilde",)
        assert nc.variables["mean_theta"].dimensions == ("eps_tilde", "V")
        assert nc.variables["mean_theta"].coordinates == b"eps_tilde_over_U V_over_U"
        assert nc.variables["eps_tilde"].units == b"Gamma"


def test_opens_with_xarray(tmp_path):
    pytest.importorskip("xarray")
    arrays, variables = _sample_arrays()
    path = write_results_nc(
        tmp_path / "results.nc", arrays, variables, _attrs(), "", config_yaml="name: t\n", backend="numpy"
    )
    ds = to_xarray(path)
    assert set(ds.coords) >= {"eps_tilde", "V", "eps_tilde_over_U", "V_over_U"}
    np.testing.assert_array_equal(ds["mean_theta"].values, arrays["mean_theta"])
    assert ds["mean_theta"].dims == ("eps_tilde", "V")
    assert ds["fmr_stable_parallel"].dtype == bool
    assert list(ds["protocol"].values) == ["P_to_AP", "AP_to_P"] and "protocol" in ds.indexes
    assert ds["regime"].values[2] == "ε̃ unicode"
    assert ds["mean_theta"].attrs["units"] == "rad" and ds["mean_theta"].attrs["long_name"]
    assert ds.attrs["config"] == "name: t\n"
    np.testing.assert_array_equal(ds["first_passage_time"].values, arrays["first_passage_time"])


def test_every_stage_variable_has_cf_units():
    for k, v in ALL_VARIABLES.items():
        assert cf_units(v["units"]), k
        assert v["description"], k


def test_respects_umask(tmp_path):
    arrays, variables = _sample_arrays()
    old = os.umask(0o022)
    try:
        path = write_results_nc(tmp_path / "results.nc", arrays, variables, _attrs())
    finally:
        os.umask(old)
    assert (path.stat().st_mode & 0o777) == 0o644


def test_run_writes_results_nc_equal_to_npz(tmp_path, tiny_config, run_helpers, capsys):
    from gpuqd.run.store.results import load_run

    cfg = run_helpers.write(tmp_path, tiny_config)
    rc, _, err = run_helpers.main(["run", str(cfg), "--runs-dir", str(tmp_path / "runs"), "--no-figures", "-q"], capsys)
    assert rc == 0, err
    run = tmp_path / "runs" / tiny_config["name"]
    npz = run_helpers.arrays(run)
    nc, attrs, _ = read_results_nc(run / "results.nc")
    run_helpers.assert_identical(npz, nc)
    with netcdf_file(run / "results.nc", "r", mmap=False) as f:
        assert f.seed == tiny_config["seed"] and f.backend == b"numpy"
        assert b"transport:" in f.config and json.loads(f.timings)["stages_wall_s"]["transport"] >= 0
    r = load_run(run)
    assert sorted(r) == sorted(npz)
    if importlib.util.find_spec("xarray") is not None:
        import xarray as xr

        ds = r.to_xarray()
        np.testing.assert_array_equal(ds["mean_theta"].values, npz["mean_theta"])
        assert ds["mean_theta"].dims == ("eps_tilde", "V")
        with xr.open_dataset(run / "results.nc") as ds2:
            assert float(ds2["V"].max()) == float(npz["V"].max())

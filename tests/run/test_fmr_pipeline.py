"""`gpuqd run` with `outputs: [fmr]` on a tiny configuration (seconds): arrays, masks, figures, load_run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from tiny_config import TINY_FMR

from gpuqd import cli
from gpuqd.observables import fmr
from gpuqd.run.config.validate import validate_config
from gpuqd.run.stages import dynamics as dynamics_stage
from gpuqd.run.store.results import load_run

REPO = Path(__file__).resolve().parents[2]
HAVE_MPL = importlib.util.find_spec("matplotlib") is not None

#: the tiny configuration's transport on a 5×5 grid, stiffer magnet with a field along e_z, output fmr
FMR_SECTIONS = TINY_FMR


@pytest.fixture(scope="module")
def tiny_fmr(make_tiny_config):
    return make_tiny_config(**FMR_SECTIONS)


@pytest.fixture(scope="module")
def fmr_run(tmp_path_factory, tiny_fmr):
    tmp = tmp_path_factory.mktemp("fmr")
    cfg_path = tmp / "tiny_fmr.yaml"
    cfg_path.write_text(yaml.safe_dump(tiny_fmr), encoding="utf-8")
    called = []
    original = dynamics_stage.DynamicsWork.start

    def no_dynamics(*a, **k):
        called.append(1)
        return original(*a, **k)

    dynamics_stage.DynamicsWork.start = no_dynamics
    try:
        rc = cli.main(
            ["run", str(cfg_path), "--quiet", "--runs-dir", str(tmp / "runs")] + ([] if HAVE_MPL else ["--no-figures"])
        )
    finally:
        dynamics_stage.DynamicsWork.start = original
    assert rc == 0
    return tmp / "runs" / "tiny_fmr", called


@pytest.mark.slow
def test_fmr_only_skips_dynamics(fmr_run, tiny_fmr):
    run_dir, called = fmr_run
    assert not called
    cfg = validate_config(tiny_fmr, check_output=False)
    assert not cfg.needs_dynamics
    meta = json.loads((run_dir / "meta.json").read_text())
    assert "fmr" in meta["stages"] and "dynamics" not in meta["stages"]
    assert meta["status"] == "finished"


@pytest.mark.slow
def test_fmr_arrays_round_trip_and_masks(fmr_run, tiny_fmr):
    run_dir, _ = fmr_run
    r = load_run(run_dir)
    d = np.load(run_dir / "results.npz", allow_pickle=False)
    attrs = json.loads(str(d["attrs"]))
    n_eps, n_V = r["eps_tilde"].size, r["V"].size
    b_z = tiny_fmr["magnet"]["field"][2]
    mg = tiny_fmr["magnet"]
    n_unstable = 0
    for state in fmr.STATES:
        for q in (
            "stable",
            "resonance_frequency",
            "effective_damping",
            "linewidth",
            "peak_chi_imag",
            "field_like",
            "damping_like",
        ):
            name = f"fmr_{q}_{state}"
            assert r[name].shape == (n_eps, n_V)
            np.testing.assert_array_equal(r[name], d[name])  # load_run round trip
            assert attrs["variables"][name]["dims"] == ["eps_tilde", "V"] and r.describe(name)
        stable = r[f"fmr_stable_{state}"].astype(bool)
        n_unstable += int((~stable).sum())
        expected = fmr.is_stable(
            S=mg["S"],
            alpha=mg["alpha"],
            field=mg["KV"],
            field_like=r[f"fmr_field_like_{state}"] + b_z,
            damping_like=r[f"fmr_damping_like_{state}"],
            state=state,
        )
        np.testing.assert_array_equal(stable, expected)
        for q in ("resonance_frequency", "effective_damping", "linewidth", "peak_chi_imag"):
            assert np.all(np.isnan(r[f"fmr_{q}_{state}"][~stable])), q
            assert np.all(np.isfinite(r[f"fmr_{q}_{state}"][stable])), q
        sign = 1 if state == "parallel" else -1
        omega_r = (mg["KV"] + sign * (r[f"fmr_field_like_{state}"] + b_z)) / mg["S"]
        np.testing.assert_allclose(r[f"fmr_resonance_frequency_{state}"][stable], omega_r[stable], rtol=1e-12)
        # α_eff > 0 wherever the state is stable with ω_0 > 0
        assert np.all(r[f"fmr_effective_damping_{state}"][stable & (omega_r > 0)] > 0)
    assert n_unstable > 0, "the tiny grid should contain unstable points (checks the masking)"
    # collinear torques: direct solves at θ = 0, π exactly
    from gpuqd.transport import SpinValve

    tr = tiny_fmr["transport"]
    sv = SpinValve(U=tr["U"], T=tr["T"], gamma_S=tr["gamma_S"], gamma_D=tr["gamma_D"], p_S=tr["p_S"], p_D=tr["p_D"])
    direct = sv.solve(r["eps_tilde"][2], r["V"][1], np.pi, order=1)
    assert r["fmr_field_like_antiparallel"][2, 1] == pytest.approx(direct.torque_field_like, rel=1e-10)
    # spectra + simulation
    assert r["fmr_spectra_omega"].shape == (2, 2, 51)
    stable_sp = r["fmr_spectra_stable"]
    assert stable_sp.any()
    assert np.all(np.isnan(r["fmr_spectra_chi_imag"][~stable_sp]))
    err = r["fmr_sim_relative_error"][stable_sp]
    assert np.all(np.isfinite(err)) and np.nanmax(err) < 5e-3  # coarse tiny-run settings
    assert np.all(np.isnan(r["fmr_sim_chi_imag"][~stable_sp]))


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_MPL, reason="matplotlib not installed")
def test_fmr_figures_written(fmr_run):
    run_dir, _ = fmr_run
    for stem in ("fmr_maps", "fmr_spectra"):
        for ext in ("png", "pdf"):
            assert (run_dir / "figures" / f"{stem}.{ext}").stat().st_size > 1000
    assert not (run_dir / "figures" / "fig2_switching.png").exists()


def test_shipped_fmr_config_validates():
    from gpuqd.run.config.validate import load_config

    cfg = load_config(REPO / "configs" / "fmr.yaml", check_output=False)
    assert cfg.data["outputs"] == ["fmr"] and not cfg.needs_dynamics
    f = cfg.data["fmr"]
    assert f["simulate"] is True and len(f["spectra_eps_tilde"]) == len(f["spectra_V"])
    tr, mg = cfg.data["transport"], cfg.data["magnet"]
    assert (tr["U"], tr["T"], tr["p_S"], tr["p_D"], mg["S"], mg["KV"], mg["alpha"]) == (
        1000.0,
        10.0,
        0.99,
        0.99,
        1.0,
        0.01,
        0.1,
    )


@pytest.mark.slow
def test_estimate_counts_the_simulated_fmr_steps_exactly(fmr_run, tiny_fmr):
    """The run estimate's step and engine-run counts of the simulated FMR are those the run integrated."""
    from gpuqd.run.stages.fmr import simulation_work

    run_dir, _ = fmr_run
    steps = load_run(run_dir)["fmr_sim_steps"]
    runs = int(np.sum(np.isfinite(steps) & (steps > 0)))
    assert simulation_work(validate_config(tiny_fmr, check_output=False)) == (int(np.nansum(steps)), runs)
    assert runs > 0

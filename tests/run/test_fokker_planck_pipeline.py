"""Pipeline test of the ``fokker_planck`` output on the tiny grid (docs/physics.md §14)."""

from __future__ import annotations

import numpy as np
import pytest

from gpuqd.dynamics import Macrospin
from gpuqd.observables.fokker_planck import AxialFokkerPlanck
from gpuqd.transport import SpinValve, TorqueTable


@pytest.mark.slow
def test_fokker_planck_output_runs_and_matches_the_single_point_theory(tmp_path, run_helpers, make_tiny_config, capsys):
    data = make_tiny_config(outputs=["switching_diagram", "fokker_planck"])
    cfg = run_helpers.write(tmp_path, data)
    rc, out, err = run_helpers.main(["run", str(cfg), "--runs-dir", str(tmp_path / "runs"), "-q"], capsys)
    assert rc == 0, err
    run_dir = tmp_path / "runs" / "tiny"
    arrays = run_helpers.arrays(run_dir)
    for key in (
        "fp_mean_theta_window",
        "fp_p_ap_window",
        "fp_mean_theta_stationary",
        "fp_p_ap_stationary",
        "fp_mfpt_p_to_ap",
        "fp_mfpt_ap_to_p",
    ):
        assert arrays[key].shape == (3, 3), key
    p_ap = arrays["fp_p_ap_stationary"]
    assert np.all((p_ap > -1e-12) & (p_ap < 1 + 1e-12))
    np.testing.assert_array_equal(arrays["fp_window"], [20.0, 40.0])
    # the centre point against the public single-point API, the table rebuilt here from the configuration
    tr = data["transport"]
    sv = SpinValve(U=tr["U"], T=tr["T"], gamma_S=tr["gamma_S"], gamma_D=tr["gamma_D"], p_S=tr["p_S"], p_D=tr["p_D"])
    axis = lambda g: np.linspace(g["start"], g["stop"], g["num"]) * tr["U"]  # noqa: E731
    table = TorqueTable.build(
        sv, axis(data["grid"]["eps_tilde"]), axis(data["grid"]["V"]), order=tr["order"], n_theta=tr["n_theta"]
    )
    magnet = Macrospin(**data["magnet"])
    fp = AxialFokkerPlanck(magnet, table, point_index=4)
    assert arrays["fp_mfpt_p_to_ap"][1, 1] == pytest.approx(fp.mean_first_passage_time(1.0, -0.5), rel=1e-4)
    assert arrays["fp_mean_theta_window"][1, 1] == pytest.approx(fp.mean_theta(0.0, 20.0, 40.0), abs=1e-6)
    assert (run_dir / "figures" / "fig2_fokker_planck.png").exists()


def test_fokker_planck_refuses_non_axial_configuration(tmp_path, run_helpers, make_tiny_config, capsys):
    data = make_tiny_config(outputs=["fokker_planck"])
    data["magnet"] |= {"free": "both"}
    rc, out, err = run_helpers.main(["validate", str(run_helpers.write(tmp_path, data))], capsys)
    assert rc == 2
    assert "magnet.free" in err and "fokker_planck" in err

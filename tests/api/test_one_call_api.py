"""The one-call API (gpuqd.switching_times, theta_map, torque_curve): units explicit and validated,
results against independent oracles (exact symmetries of the transport, the axial Fokker–Planck mean
first-passage time)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gpuqd
from gpuqd.dynamics import Macrospin
from gpuqd.observables.fokker_planck import AxialFokkerPlanck
from gpuqd.transport import SpinValve, TorqueTable

#: a small, fast transport (order 1, coarse table) and a warm magnet: mean switching times ~10²/Γ
FAST = {"order": 1, "n_theta": 32, "sigma2": 2e-2}


# ------------------------------------------------------------------------------------------- units
@pytest.mark.parametrize("unit", ["u", "gamma", "Γ", "eV", None, 1.0])
def test_a_wrong_unit_is_refused_before_any_work(unit):
    for call in (gpuqd.torque_curve, gpuqd.switching_times, gpuqd.theta_map):
        with pytest.raises(ValueError, match="unit=.*allowed 'U'.*'Gamma'"):
            call(0.2, 0.1, unit=unit)


def test_the_unit_must_be_given():
    with pytest.raises(TypeError, match="unit"):
        gpuqd.torque_curve(0.2, 0.1)  # type: ignore[call-arg]


def test_unknown_and_out_of_range_parameters_are_refused():
    with pytest.raises(TypeError, match="unknown parameter.*'p_s'"):
        gpuqd.torque_curve(0.2, 0.1, unit="U", p_s=0.5)
    with pytest.raises(ValueError, match="transport.p_S"):
        gpuqd.torque_curve(0.2, 0.1, unit="U", p_S=1.5)
    with pytest.raises(ValueError, match="protocol"):
        gpuqd.switching_times(0.2, 0.1, unit="U", protocol="P->AP")
    with pytest.raises(ValueError, match=r"grid.unit.*U > 0"):
        gpuqd.torque_curve(0.2, 0.1, unit="U", U=0.0)


def test_torque_curve_in_U_equals_the_same_point_in_Gamma():
    theta = np.linspace(0.1, 3.0, 5)
    in_u = gpuqd.torque_curve(0.25, -0.15, unit="U", theta=theta, order=1, U=500.0)
    in_gamma = gpuqd.torque_curve(125.0, -75.0, unit="Gamma", theta=theta, order=1, U=500.0)
    assert (in_u.eps_tilde, in_u.V) == (125.0, -75.0) == (in_gamma.eps_tilde, in_gamma.V)
    assert (in_gamma.eps_tilde_over_U, in_gamma.V_over_U) == (0.25, -0.15)
    for name in ("charge_current", "field_like", "damping_like"):
        np.testing.assert_array_equal(getattr(in_u, name), getattr(in_gamma, name), err_msg=name)
    text = repr(in_u)
    assert "ε̃ = 0.25 U" in text and "125 Γ" in text and "I_FL" in text


def test_energies_in_gamma_work_without_a_charging_energy():
    c = gpuqd.torque_curve(1.0, 0.5, unit="Gamma", theta=[0.5], order=1, U=0.0)
    assert (c.eps_tilde, c.V) == (1.0, 0.5) and math.isnan(c.eps_tilde_over_U)
    assert np.isfinite(c.field_like).all()


@pytest.mark.slow
def test_switching_times_in_U_and_in_Gamma_are_the_same_run():
    """A non-default U (500 Γ), so that a U/Γ mix-up anywhere (grid, survival point, result axes) shows."""
    common = {"trajectories": 20, "t_end": 300.0, "dt": 0.05, "seed": 4, "backend": "numpy", "U": 500.0, **FAST}
    in_u = gpuqd.switching_times(0.2, 0.1, unit="U", **common)
    in_gamma = gpuqd.switching_times(100.0, 50.0, unit="Gamma", **common)
    np.testing.assert_array_equal(in_u.first_passage_times, in_gamma.first_passage_times)
    np.testing.assert_array_equal(in_u.survival, in_gamma.survival)
    assert (in_u.eps_tilde, in_u.V, in_gamma.eps_tilde_over_U, in_gamma.V_over_U) == (100.0, 50.0, 0.2, 0.1)
    assert in_u.fokker_planck_mean_time == in_gamma.fokker_planck_mean_time


# ------------------------------------------------------------------------------------------- physics
@pytest.mark.parametrize("order", [1, 2])
def test_torque_curve_without_polarisation_has_no_torque(order):
    """Unpolarised leads (p_S = p_D = 0) carry no spin: I_FL = I_DL = 0 for every θ, while I_C ≠ 0 (the
    level ε̃ − U/2 = −0.1U lies inside the bias window ±V/2 = ±0.25U: sequential tunnelling)."""
    c = gpuqd.torque_curve(0.4, 0.5, unit="U", theta=np.linspace(0.0, np.pi, 5), order=order, p_S=0.0, p_D=0.0)
    assert np.max(np.abs(c.charge_current)) > 1e-6
    assert np.max(np.abs(c.field_like)) <= 1e-12 and np.max(np.abs(c.damping_like)) <= 1e-12


@pytest.mark.parametrize("order", [1, 2])
def test_torque_curve_equilibrium_has_no_damping_like_torque_and_no_current(order):
    """docs/physics.md §5.5: at V = 0, I_C = 0 and I_DL = 0 exactly; I_FL (exchange coupling) is not."""
    c = gpuqd.torque_curve(0.2, 0.0, unit="U", theta=np.linspace(0.05, 3.1, 7), order=order)
    scale = np.max(np.abs(c.field_like))
    assert scale > 0
    assert np.max(np.abs(c.damping_like)) <= 1e-9 * max(scale, 1e-3)
    assert np.max(np.abs(c.charge_current)) <= 1e-12


def test_torque_curve_particle_hole_symmetry():
    """docs/physics.md §5.4: I_C, I_DL odd and I_FL even under (ε̃, V) → (−ε̃, −V), for every θ (order 2,
    the tolerance of tests/transport/test_transport_symmetries.py)."""
    theta = np.linspace(0.0, np.pi, 9)
    a = gpuqd.torque_curve(0.25, -0.15, unit="U", theta=theta, order=2)
    b = gpuqd.torque_curve(-0.25, 0.15, unit="U", theta=theta, order=2)
    np.testing.assert_allclose(b.field_like, a.field_like, rtol=1e-8)
    np.testing.assert_allclose(b.damping_like, -a.damping_like, rtol=1e-8)
    np.testing.assert_allclose(b.charge_current, -a.charge_current, rtol=1e-8)
    assert np.all(a.charge_current < 0)  # V < 0: particles flow from the drain into the source


# ------------------------------------------------------------------------------------------- statistics
@pytest.mark.slow
def test_switching_times_mean_agrees_with_the_fokker_planck_mfpt():
    """The LLG ensemble's mean first-passage time vs the exact axial Fokker–Planck MFPT (an independent
    method: quadrature of the backward equation, docs/physics.md §14).

    All 400 trajectories switch, so the mean is the sample mean with SE = s/√N; the tolerance is
    z = 3.29 standard errors, a 0.1 % false-positive rate for an unbiased estimator (seed fixed). The
    Heun time-step bias (weak order 1, dt = 0.05 ≪ the ~10²/Γ mean) is far below one SE.
    """
    r = gpuqd.switching_times(
        0.2, 0.1, unit="U", trajectories=400, t_end=2000.0, dt=0.05, seed=1, backend="numpy", **FAST
    )
    assert r.n_trajectories == 400 and r.n_switched == 400 and not r.mean_time_is_restricted
    assert abs(r.mean_time - r.fokker_planck_mean_time) <= 3.29 * r.mean_time_se
    assert r.mean_time_ci[0] < r.mean_time < r.mean_time_ci[1]
    assert r.rate_ci[0] < r.rate < r.rate_ci[1]
    assert r.survival[0] == 1.0 and np.all(np.diff(r.survival) <= 0) and r.survival_time[-1] == 2000.0
    assert r.first_passage_times.shape == (400,)
    np.testing.assert_allclose(r.mean_time, r.first_passage_times.mean(), rtol=1e-12)
    # the Fokker–Planck value beside it is the theory of exactly this point and magnet, rebuilt here from
    # the public transport/dynamics objects (catches a wrong unit or point in the API's configuration)
    p = gpuqd.PAPER_PARAMETERS
    sv = SpinValve(U=p["U"], T=p["T"], gamma_S=p["gamma_S"], gamma_D=p["gamma_D"], p_S=p["p_S"], p_D=p["p_D"])
    table = TorqueTable.build(sv, np.array([200.0]), np.array([100.0]), order=1, n_theta=32)
    magnet = Macrospin(S=p["S"], KV=p["KV"], alpha=p["alpha"], sigma2=FAST["sigma2"])
    exact = AxialFokkerPlanck(magnet, table, point_index=0).mean_first_passage_time(1.0, -0.5)
    assert r.fokker_planck_mean_time == pytest.approx(exact, rel=1e-9)
    text = repr(r)
    assert "P_to_AP" in text and "/Γ" in text and "95% CI" in text and "Fokker–Planck" in text


@pytest.mark.slow
def test_theta_map_in_U_and_in_Gamma_are_the_same_run(tmp_path):
    common = {"t_end": 200.0, "dt": 0.05, "seed": 2, "backend": "numpy", **FAST}
    in_u = gpuqd.theta_map((-0.3, 0.3, 3), (-0.4, 0.4, 2), unit="U", **common)
    in_gamma = gpuqd.theta_map((-300.0, 300.0, 3), (-400.0, 400.0, 2), unit="Gamma", runs_dir=tmp_path, **common)
    np.testing.assert_array_equal(in_u.mean_theta, in_gamma.mean_theta)
    np.testing.assert_array_equal(in_u.eps_tilde, [-300.0, 0.0, 300.0])
    np.testing.assert_allclose(in_gamma.V_over_U, [-0.4, 0.4])
    assert in_u.mean_theta.shape == (3, 2) and np.all((in_u.mean_theta >= 0) & (in_u.mean_theta <= math.pi))
    assert np.all(np.isfinite(in_u.fokker_planck_mean_theta))
    assert in_gamma.run_dir == tmp_path / "theta_map" and (in_gamma.run_dir / "results.nc").exists()
    assert in_u.run_dir is None
    assert "ThetaMap" in repr(in_u) and "⟨θ⟩/π" in repr(in_u)
    pytest.importorskip("xarray")
    ds = in_u.to_xarray()
    assert ds.mean_theta.sel(eps_tilde=0.0, V=400.0).attrs["units"] == "rad"


@pytest.mark.slow
def test_switching_times_of_a_non_axial_magnet_say_there_is_no_fokker_planck_value():
    r = gpuqd.switching_times(
        0.2,
        0.1,
        unit="U",
        trajectories=10,
        t_end=100.0,
        dt=0.05,
        backend="numpy",
        anisotropy="cubic",
        K_cubic=0.001,
        **FAST,
    )
    assert math.isnan(r.fokker_planck_mean_time) and "not available (the magnet is not axial)" in repr(r)
    assert r.n_trajectories == 10 and r.config["magnet"]["anisotropy"] == "cubic"

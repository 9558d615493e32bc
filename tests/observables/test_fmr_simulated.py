"""Simulated FMR through the real ensemble engine (gpuqd.observables.fmr_simulation.simulate_fmr) vs the exact χ
(gpuqd.observables.fmr).

Deterministic (σ² = 0) runs, drive −h cos(Ωt) n_x with a precession cone of 1e-6 rad, lock-in over
whole periods after ≥ 11 relaxation times; Heun's O(dt²) error at 480 steps per period is ≈ 3e-4
relative near resonance, so the acceptance bound is 1e-3 relative on the complex χ.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gpuqd.dynamics import ConstantTorque
from gpuqd.observables import fmr
from gpuqd.observables.fmr_simulation import linearised_torques, simulate_fmr
from gpuqd.transport import TorqueTable

S_SPIN, ALPHA, H0 = 1.0, 0.1, 0.5
COMMON = {
    "S": S_SPIN,
    "alpha": ALPHA,
    "KV": H0,
    "periods": 6,
    "settle_decays": 11.0,
    "steps_per_period": 480,
    "samples_per_period": 32,
}
TOL = 1e-3


@pytest.mark.parametrize(
    ("state", "field_like", "damping_like", "omegas"),
    [
        ("parallel", 0.2, 0.01, [0.5, 0.7, 0.9]),  # docs/physics.md §6.5 check point; Ω_R = 0.7 (on resonance)
        ("parallel", -0.1, -0.02, [0.3, 0.4, 0.55]),  # Ω_R = 0.4, extra damping
        ("antiparallel", 0.2, -0.01, [0.28, 0.3, 0.4]),  # AP: ω_0 = H_0 − I_FL = 0.3, I_DL → +0.01
        ("antiparallel", -0.3, 0.02, [0.8, 1.0]),  # AP: Ω_R = 0.8, I_DL > 0 damps AP further
    ],
)
@pytest.mark.slow
def test_constant_torque_matches_formula(state, field_like, damping_like, omegas):
    sim = simulate_fmr(ConstantTorque(field_like, damping_like), omegas, state=state, **COMMON)
    formula = fmr.susceptibility(
        np.asarray(omegas),
        S=S_SPIN,
        alpha=ALPHA,
        field=H0,
        field_like=field_like,
        damping_like=damping_like,
        state=state,
    )
    np.testing.assert_allclose(sim.chi_formula[0], formula, rtol=1e-14)
    err = sim.relative_error[0]
    assert np.all(err < TOL), (err, sim.chi, formula)
    # the response is resonant: χ'' > 0 (absorption) and largest next to Ω_R
    assert np.all(sim.chi.imag > 0)


@pytest.mark.slow
def test_spec_reference_values_and_lineshape_sweep():
    """docs/physics.md §6.5 numbers (Ω = 0.7: χ' = 0.35598, χ'' = 8.35368) and a swept line shape through resonance."""
    chi = fmr.susceptibility(0.7, S=1.0, alpha=0.1, field=0.5, field_like=0.2, damping_like=0.01)
    assert chi.real == pytest.approx(0.35598, abs=2e-5) and chi.imag == pytest.approx(8.35368, abs=2e-5)
    omegas = np.linspace(0.65, 0.75, 3)
    sim = simulate_fmr(ConstantTorque(0.2, 0.01), omegas, **COMMON)
    assert np.all(sim.relative_error < TOL)
    assert int(np.argmax(sim.chi.imag[0])) == 1  # the peak is at Ω_R = 0.7


@pytest.mark.slow
def test_synthetic_table_batches_points():
    """Three points with θ-dependent synthetic torques in one engine run per frequency."""
    coefficients = [(0.1, 0.05, 0.004, 0.002), (-0.15, 0.03, -0.01, 0.005), (0.05, -0.02, 0.012, -0.004)]
    funcs = [
        lambda th, a=a, b=b, c=c, d=d: (a + b * np.cos(th), c + d * np.cos(th), 0.0 * th) for a, b, c, d in coefficients
    ]
    table = TorqueTable.from_functions(funcs, n_theta=64)
    omegas = [0.55, 0.65]
    sim = simulate_fmr(table, omegas, **COMMON)
    assert sim.steps.size == 2  # one engine run per frequency, all points batched
    fl_expected = np.array([a + b for a, b, _, _ in coefficients])
    dl_expected = np.array([c + d for _, _, c, d in coefficients])
    np.testing.assert_allclose(sim.field_like, fl_expected, atol=1e-9)
    np.testing.assert_allclose(sim.damping_like, dl_expected, atol=1e-9)
    assert sim.chi.shape == (3, 2)
    assert np.all(sim.relative_error < TOL), sim.relative_error
    # AP with the θ = π ends
    sim_ap = simulate_fmr(table, [0.5], state="antiparallel", **COMMON)
    np.testing.assert_allclose(sim_ap.field_like, [a - b for a, b, _, _ in coefficients], atol=1e-9)
    assert np.all(sim_ap.relative_error < TOL), sim_ap.relative_error


@pytest.mark.slow
def test_real_transport_table_matches_formula_with_table_ends():
    from gpuqd.transport import SpinValve

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sv = SpinValve(U=100.0, T=10.0, gamma_S=0.6667, gamma_D=1.3333, p_S=0.9, p_D=0.9)
        eps, V = np.array([25.0, -30.0]), np.array([-15.0, 20.0])
        table = TorqueTable.build(sv, eps, V, n_theta=32, order=1)
    # the table ends are the collinear limits of SpinValve.solve (to the interpolation error)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = sv.solve(np.repeat(eps, 2), np.tile(V, 2), 0.0, order=1)
    i_fl, i_dl = linearised_torques(table, "parallel")
    np.testing.assert_allclose(i_fl, direct.torque_field_like, atol=1e-5)
    assert np.all(np.abs(i_dl) > 1e-3)  # non-trivial damping-like torques at these points
    # all four points about P; about AP point 3 is unstable (I_DL(π) = −0.22 anti-damps AP), so 0..2 only
    for state, points in (("parallel", None), ("antiparallel", [0, 1, 2])):
        fl, _ = linearised_torques(table, state, points)
        centre = float(np.median(H0 + (fl if state == "parallel" else -fl)))
        sim = simulate_fmr(table, [centre, 1.05 * centre], state=state, points=points, **COMMON)
        assert np.all(sim.relative_error < TOL), (state, sim.relative_error)
    with pytest.raises(ValueError, match=r"unstable at points \[3\]"):
        simulate_fmr(table, [0.5], state="antiparallel", **COMMON)


def test_unstable_point_is_refused():
    # I_DL > α Ω_R S: anti-damping beats Gilbert damping about P
    with pytest.raises(ValueError, match="unstable"):
        simulate_fmr(ConstantTorque(0.0, 0.08), [0.5], **COMMON)


def test_noisy_average_runs_and_reports_stderr():
    sim = simulate_fmr(
        ConstantTorque(0.2, 0.01), [0.7], trajectories=4, sigma2=1e-12, drive_angle=1e-3, seed=5, **COMMON
    )
    assert np.all(np.isfinite(sim.chi_stderr))
    assert sim.relative_error[0, 0] < 0.05

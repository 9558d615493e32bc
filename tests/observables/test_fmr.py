"""Tests of gpuqd.observables.fmr against a direct integration of the nonlinear deterministic LLG
(docs/physics.md §6.1).

The reference integrates S ṅ = −n × (∂E/∂n + h(t)) + I⊥(n) − α n × ṅ in the explicit form
ṅ = [S τ − α n × τ]/(S² + α²), τ = −n × ∂E/∂n + I⊥, E = −(H_0/2) n_z² − h cos(Ωt) n_x,
I⊥ = I_FL (n × e_z) + I_DL n × (n × e_z), starting exactly at n = ±e_z, and extracts χ by lock-in
over whole drive periods after the transient has decayed. Nothing of gpuqd.observables.fmr is used there.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad, solve_ivp

from gpuqd.observables import fmr

S_SPIN = 1.0
ALPHA = 0.1
H0 = 0.5  # static stiffness (KV), Γ
DRIVE = 1e-6  # drive energy h, Γ: nonlinear corrections ~ (χ h)² ≲ 1e-10 relative


def llg_lock_in(
    omega: float,
    field_like: float,
    damping_like: float,
    n_z0: float,
    t_wait: float,
    periods: int = 8,
    spin: float = S_SPIN,
) -> tuple[complex, complex]:
    """χ from the nonlinear LLG, measured over two consecutive windows of ``periods`` periods each."""
    norm = spin**2 + ALPHA**2

    def rhs(t: float, n: np.ndarray) -> list[float]:
        nx, ny, nz = n
        bx, bz = DRIVE * math.cos(omega * t), H0 * nz  # b = −∂E/∂n (by = 0)
        # τ = n × b + I_FL (n × e_z) + I_DL n × (n × e_z), the last written as the literal double cross
        # product (nx nz, ny nz, −nx² − ny²) so that τ ⊥ n also when |n| drifts from 1; the form
        # n (n·e_z) − e_z would make |n| exponentially unstable at the rate 2 S I_DL n_z/(S² + α²).
        tx = ny * bz + field_like * ny + damping_like * nx * nz
        ty = nz * bx - nx * bz - field_like * nx + damping_like * ny * nz
        tz = -ny * bx - damping_like * (nx * nx + ny * ny)
        cx, cy, cz = ny * tz - nz * ty, nz * tx - nx * tz, nx * ty - ny * tx  # n × τ
        return [
            (spin * tx - ALPHA * cx) / norm,
            (spin * ty - ALPHA * cy) / norm,
            (spin * tz - ALPHA * cz) / norm,
        ]

    period = 2.0 * math.pi / omega
    t_start = math.ceil(t_wait / period) * period
    samples = 128
    t_eval = t_start + period * np.arange(2 * periods * samples) / samples
    sol = solve_ivp(
        rhs,
        (0.0, t_eval[-1] + period / samples),
        [0.0, 0.0, n_z0],
        method="DOP853",
        rtol=1e-10,
        atol=1e-15,
        t_eval=t_eval,
    )
    assert sol.success
    n_x = sol.y[0]
    phase = omega * t_eval
    # n_x = h (χ' cos Ωt + χ'' sin Ωt): the mean over whole periods of uniformly spaced samples is exact
    # for trigonometric polynomials of degree < samples.
    windows = []
    for part in (slice(0, periods * samples), slice(periods * samples, None)):
        chi_r = 2.0 * np.mean(n_x[part] * np.cos(phase[part])) / DRIVE
        chi_i = 2.0 * np.mean(n_x[part] * np.sin(phase[part])) / DRIVE
        windows.append(complex(chi_r, chi_i))
    return windows[0], windows[1]


# (state, Ω, I_FL, I_DL, t_wait): near resonance (Ω ≈ Ω_R), off resonance, with damping and
# anti-damping torques; for AP the resonance is at (H_0 − I_FL)/S, and I_DL < 0 anti-damps AP.
CASES = [
    ("parallel", 0.70, 0.2, 0.01, 350.0),  # at resonance, the reference point of docs/physics.md §6.5
    ("parallel", 0.30, 0.2, 0.01, 350.0),
    ("parallel", 0.56, 0.05, -0.02, 250.0),
    ("parallel", 1.20, 0.2, 0.03, 450.0),
    ("antiparallel", 0.30, 0.2, 0.01, 250.0),  # at the AP resonance H_0 − I_FL
    ("antiparallel", 0.60, -0.1, -0.02, 450.0),  # AP resonance, anti-damped by I_DL < 0
    ("antiparallel", 0.90, -0.1, 0.02, 250.0),
    ("parallel", 0.20, -0.7, -0.05, 600.0),  # torque-stabilised energy maximum (ω_0 = −0.2)
]
# S ≠ 1 (checks where S and α enter): S = 1.6, resonances at 0.7/1.6 (P) and 0.3/1.6 (AP).
CASES_SPIN = [
    ("parallel", 0.4375, 0.2, 0.01, 900.0),
    ("antiparallel", 0.1875, 0.2, 0.005, 900.0),
]


@pytest.mark.parametrize(("state", "omega", "field_like", "damping_like", "t_wait"), CASES)
def test_susceptibility_matches_nonlinear_llg(
    state: str, omega: float, field_like: float, damping_like: float, t_wait: float
) -> None:
    check_against_llg(state, omega, field_like, damping_like, t_wait, S_SPIN)


@pytest.mark.parametrize(("state", "omega", "field_like", "damping_like", "t_wait"), CASES_SPIN)
def test_susceptibility_matches_nonlinear_llg_spin(
    state: str, omega: float, field_like: float, damping_like: float, t_wait: float
) -> None:
    check_against_llg(state, omega, field_like, damping_like, t_wait, 1.6)


def check_against_llg(
    state: str, omega: float, field_like: float, damping_like: float, t_wait: float, spin: float
) -> None:
    n_z0 = 1.0 if state == "parallel" else -1.0
    first, second = llg_lock_in(omega, field_like, damping_like, n_z0, t_wait, spin=spin)
    # The transient has decayed: two consecutive windows agree far below the tolerance.
    assert abs(first - second) <= 1e-5 * abs(second)
    expected = complex(
        fmr.susceptibility(
            omega,
            S=spin,
            alpha=ALPHA,
            field=H0,
            field_like=field_like,
            damping_like=damping_like,
            state=state,
        )
    )
    assert abs(second - expected) <= 1e-3 * abs(expected)
    # Componentwise as well, each relative to |χ| (χ' ≈ 0 at resonance).
    assert abs(second.real - expected.real) <= 1e-3 * abs(expected)
    assert abs(second.imag - expected.imag) <= 1e-3 * abs(expected)


def test_antiparallel_differs_from_naive_parallel_formula() -> None:
    """The LLG check above discriminates: the P formula with H_0 + I_FL is far off at AP resonance."""
    kw = dict(S=S_SPIN, alpha=ALPHA, field=H0, field_like=0.2, damping_like=0.01)
    ap = fmr.susceptibility(0.3, state="antiparallel", **kw)
    p = fmr.susceptibility(0.3, state="parallel", **kw)
    assert abs(ap - p) > 0.5 * abs(ap)


def test_spec_reference_values() -> None:
    chi = fmr.susceptibility(0.7, S=1.0, alpha=0.1, field=0.5, field_like=0.2, damping_like=0.01)
    assert chi.real == pytest.approx(0.35598, abs=1e-5)
    assert chi.imag == pytest.approx(8.35368, abs=1e-5)


def test_broadcasting() -> None:
    omega = np.linspace(0.1, 1.5, 5)[:, None, None]
    fl = np.array([0.0, 0.1, 0.2])[None, :, None]
    dl = np.array([-0.01, 0.02])[None, None, :]
    chi = fmr.susceptibility(omega, S=1.0, alpha=0.1, field=0.5, field_like=fl, damping_like=dl)
    assert chi.shape == (5, 3, 2)
    one = fmr.susceptibility(omega[3, 0, 0], S=1.0, alpha=0.1, field=0.5, field_like=0.1, damping_like=0.02)
    assert chi[3, 1, 1] == one


def _approx_relative_error(alpha: float, omega: float) -> float:
    kw = dict(S=1.0, alpha=alpha, field=0.5, field_like=0.2, damping_like=0.0)
    exact = fmr.susceptibility(omega, **kw)
    approx = fmr.approximate_susceptibility(omega, **kw)
    return float(abs(approx - exact) / abs(exact))


def test_approximate_form_is_the_spec_expression() -> None:
    S, alpha, omega = 1.3, 0.1, np.linspace(0.05, 2.0, 50)
    fl, dl, h0 = 0.2, 0.015, 0.5
    omega_r = (h0 + fl) / S
    alpha_s = alpha / S
    alpha_eff = alpha_s - dl / (S * omega_r)
    a = dl**2 + S**2 * (omega_r**2 - omega**2)
    spec = (
        S
        * omega
        * (2 * S**2 * omega_r**2 * alpha_eff - alpha_s * a)
        / (a**2 + (2 * S**2 * alpha_eff * omega * omega_r) ** 2)
    )
    approx = fmr.approximate_susceptibility(omega, S=S, alpha=alpha, field=h0, field_like=fl, damping_like=dl).imag
    np.testing.assert_allclose(approx, spec, rtol=1e-12)


def test_approximation_error_scaling_with_alpha() -> None:
    """At resonance (I_DL = 0) exact/approx denominators differ by the factor 1 − iα/(2S): error ∝ α.

    Away from resonance the dropped α²Ω² is compared with A = O(1): error ∝ α².
    """
    omega_r = 0.7
    at_res = [_approx_relative_error(a, omega_r) for a in (0.1, 0.05, 0.025)]
    assert at_res[0] == pytest.approx(0.1 / 2, rel=0.05)
    for big, small in zip(at_res[:-1], at_res[1:], strict=True):
        assert big / small == pytest.approx(2.0, rel=0.03)
    off_res = [_approx_relative_error(a, 1.5) for a in (0.1, 0.05, 0.025)]
    for big, small in zip(off_res[:-1], off_res[1:], strict=True):
        assert big / small == pytest.approx(4.0, rel=0.03)


def test_effective_damping_and_resonance_for_both_states() -> None:
    kw = dict(S=2.0, field=0.5, field_like=0.2)
    assert fmr.resonance_frequency(**kw) == pytest.approx(0.35)
    assert fmr.resonance_frequency(state="antiparallel", **kw) == pytest.approx(0.15)
    assert fmr.effective_damping(alpha=0.1, damping_like=0.01, **kw) == pytest.approx(0.05 - 0.01 / 0.7)
    ap = fmr.effective_damping(alpha=0.1, damping_like=0.01, state="antiparallel", **kw)
    assert ap == pytest.approx(0.05 + 0.01 / 0.3)


def test_unstable_points_are_reported_not_resonances() -> None:
    fl = np.array([[0.2, 0.2], [-0.7, -0.7]])
    dl = np.array([[0.01, 0.1], [0.0, -0.05]])
    maps = fmr.fmr_maps(fl, dl, S=1.0, alpha=0.1, field=0.5)
    # (0,0): stable minimum; (0,1): anti-damped (α_eff < 0); (1,0): energy maximum, α_eff > 0 but
    # unstable; (1,1): energy maximum held by the damping-like torque (α_eff < 0, stable).
    np.testing.assert_array_equal(maps["stable"], [[True, False], [False, True]])
    np.testing.assert_array_equal(maps["energy_minimum"], [[True, True], [False, False]])
    assert maps["effective_damping"][0, 1] < 0 and maps["effective_damping"][1, 0] > 0
    for key in (
        "resonance_frequency",
        "peak_frequency",
        "peak_chi_imag",
        "linewidth",
        "chi_imag_at_resonance",
    ):
        assert np.isnan(maps[key][~maps["stable"]]).all(), key
        assert np.isfinite(maps[key][maps["stable"]]).all(), key
    assert maps["peak_chi_imag"][0, 0] > 0 and maps["peak_chi_imag"][1, 1] < 0
    assert np.isnan(fmr.linewidth(S=1.0, alpha=0.1, field=0.5, field_like=0.2, damping_like=0.1))
    stable_min = fmr.is_stable(S=1.0, alpha=0.1, field=0.5, field_like=fl, damping_like=dl, require_energy_minimum=True)
    np.testing.assert_array_equal(stable_min, [[True, False], [False, False]])


@pytest.mark.parametrize(
    ("state", "field_like", "damping_like", "stable"),
    [
        ("parallel", 0.2, 0.1, False),  # α ω_0 = 0.07 < I_DL
        ("parallel", -0.7, 0.0, False),  # energy maximum
        ("parallel", -0.7, -0.05, True),  # torque-stabilised maximum
        ("antiparallel", 0.2, -0.05, False),  # AP: −I_DL = 0.05 > α (H_0 − I_FL) = 0.03
        ("antiparallel", 0.2, -0.02, True),
    ],
)
def test_stability_criterion_against_llg(state: str, field_like: float, damping_like: float, stable: bool) -> None:
    """Free nonlinear LLG from a 1e-4 tilt: the tilt shrinks iff is_stable says so."""
    assert (
        bool(
            fmr.is_stable(
                S=S_SPIN, alpha=ALPHA, field=H0, field_like=field_like, damping_like=damping_like, state=state
            )
        )
        is stable
    )
    n_z0 = 1.0 if state == "parallel" else -1.0
    tilt = 1e-4

    def rhs(t: float, n: np.ndarray) -> list[float]:
        nx, ny, nz = n
        bz = H0 * nz
        tx = ny * bz + field_like * ny + damping_like * nx * nz
        ty = -nx * bz - field_like * nx + damping_like * ny * nz
        tz = -damping_like * (nx * nx + ny * ny)
        cx, cy, cz = ny * tz - nz * ty, nz * tx - nx * tz, nx * ty - ny * tx
        norm = S_SPIN**2 + ALPHA**2
        return [(S_SPIN * a - ALPHA * c) / norm for a, c in ((tx, cx), (ty, cy), (tz, cz))]

    start = np.array([tilt, 0.0, n_z0 * math.sqrt(1 - tilt**2)])
    sol = solve_ivp(rhs, (0.0, 300.0), start, method="DOP853", rtol=1e-10, atol=1e-14)
    deviation = np.linalg.norm(sol.y[:, -1] - [0.0, 0.0, n_z0])  # an unstable state may switch over
    assert bool(deviation < 0.1 * tilt) is stable
    assert bool(deviation > 10 * tilt) is (not stable)


def test_linewidth_against_fine_grid_and_weak_damping_limit() -> None:
    kw = dict(S=1.0, field=0.5, field_like=0.2, damping_like=0.01)
    omega = np.linspace(1e-4, 3.0, 600_001)
    chi_imag = fmr.susceptibility(omega, alpha=0.1, **kw).imag
    above = omega[chi_imag >= 0.5 * chi_imag.max()]
    brute_hwhm = 0.5 * (above[-1] - above[0])
    grid_step = omega[1] - omega[0]
    assert fmr.linewidth(alpha=0.1, **kw) == pytest.approx(brute_hwhm, abs=2 * grid_step)
    maps = fmr.fmr_maps(0.2, 0.01, S=1.0, alpha=0.1, field=0.5)
    assert maps["peak_chi_imag"] == pytest.approx(chi_imag.max(), rel=1e-6)
    assert maps["peak_frequency"] == pytest.approx(omega[np.argmax(chi_imag)], abs=2 * grid_step)
    # Weak damping: HWHM → relaxation rate = S² Ω_R α_eff/(S² + α²) → α_eff Ω_R, corrections O(α²).
    for spin in (1.0, 2.5):
        weak = dict(S=spin, field=0.5, field_like=0.2, damping_like=0.0005)
        rate = fmr.relaxation_rate(alpha=0.005, **weak)
        assert fmr.linewidth(alpha=0.005, **weak) == pytest.approx(rate, rel=1e-3)
        alpha_eff = fmr.effective_damping(alpha=0.005, **weak)
        omega_r = fmr.resonance_frequency(S=spin, field=0.5, field_like=0.2)
        assert rate == pytest.approx(spin**2 * omega_r * alpha_eff / (spin**2 + 0.005**2), rel=1e-12)
        assert rate == pytest.approx(alpha_eff * omega_r, rel=1e-4)


def test_fmr_maps_vectorised_shapes_and_consistency() -> None:
    rng = np.random.default_rng(7)
    fl = rng.uniform(-0.3, 0.3, size=(6, 7))
    dl = rng.uniform(-0.05, 0.05, size=(6, 7))
    for state in fmr.STATES:
        maps = fmr.fmr_maps(fl, dl, S=1.0, alpha=0.1, field=0.5, state=state)
        for value in maps.values():
            assert value.shape == (6, 7)
        i, j = np.argwhere(maps["stable"])[0]
        single = fmr.linewidth(S=1.0, alpha=0.1, field=0.5, field_like=fl[i, j], damping_like=dl[i, j], state=state)
        assert maps["linewidth"][i, j] == pytest.approx(float(single), rel=1e-10)
        expected_stable = fmr.is_stable(S=1.0, alpha=0.1, field=0.5, field_like=fl, damping_like=dl, state=state)
        np.testing.assert_array_equal(maps["stable"], expected_stable)


def test_kramers_kronig_static_sum_rule() -> None:
    """Causal, stable response: χ'(0) = (2/π) ∫_0^∞ χ''(Ω)/Ω dΩ (χ'(∞) = 0)."""
    kw = dict(S=1.0, alpha=0.1, field=0.5, field_like=0.2, damping_like=0.01)

    def integrand(w: float) -> float:
        return float(fmr.susceptibility(w, **kw).imag) / w

    head, _ = quad(integrand, 1e-12, 2.0, points=[0.7], limit=200, epsabs=1e-12)
    tail, _ = quad(integrand, 2.0, np.inf, limit=200, epsabs=1e-12)
    static = float(fmr.susceptibility(0.0, **kw).real)
    assert (2.0 / np.pi) * (head + tail) == pytest.approx(static, rel=1e-6)

"""First-order closed forms (docs/physics.md §3.4, §3.6) as independent oracles for the generic kernel."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import psi

from gpuqd.transport import SpinValve, drain_direction


def fermi(x: np.ndarray | float, T: float) -> np.ndarray:
    return 0.5 * (1.0 - np.tanh(0.5 * np.asarray(x) / T))


def phi(eps: float, U: float, mu: float, T: float) -> float:
    s = 2 * np.pi * T
    return float(np.real(psi(0.5 + 1j * (eps + U - mu) / s)) - np.real(psi(0.5 + 1j * (eps - mu) / s)))


def explicit_first_order(
    x: np.ndarray, eps: float, U: float, T: float, mu: float, gamma: float, p: float, n: np.ndarray
) -> tuple[np.ndarray, float, np.ndarray]:
    """Braun–König–Martinek equations of docs/physics.md §3.4 for one lead: (dx/dt, I^N_r, I^S_r)."""
    p0, p1, p2, spin = x[0], x[1], x[2], x[3:6]
    f, fu = fermi(eps - mu, T), fermi(eps + U - mu, T)
    accumulation = f * p0 - (1 - fu) * p2 + (f + fu - 1) * p1 / 2
    relaxation = 1 - f + fu
    field = p * gamma / np.pi * n * phi(eps, U, mu, T)
    dp0 = gamma * (-2 * f * p0 + (1 - f) * p1 + 2 * p * (1 - f) * n @ spin)
    dp2 = gamma * (fu * p1 - 2 * (1 - fu) * p2 - 2 * p * fu * n @ spin)
    ds = p * gamma * n * accumulation - gamma * relaxation * spin + np.cross(spin, field)
    particle = gamma * (-2 * f * p0 + (1 - f - fu) * p1 + 2 * (1 - fu) * p2 + 2 * p * relaxation * n @ spin)
    return np.concatenate([[dp0, -dp0 - dp2, dp2], ds]), particle, -ds


@pytest.mark.parametrize("eps_tilde,V,theta", [(0.3, 0.2, 0.4), (-0.2, -0.6, 2.0), (0.05, 0.0, 3.0)])
def test_generic_kernel_equals_explicit_equations(eps_tilde: float, V: float, theta: float) -> None:
    """docs/physics.md §3.6 item 3: generic first-order kernel = §3.4 equations for random physical ρ."""
    U, T = 1.7, 0.11
    sv = SpinValve(U=U, T=T, gamma_S=0.013, gamma_D=0.021, p_S=0.7, p_D=0.45)
    n_S, n_D = np.array([0.0, 0.0, 1.0]), drain_direction(theta)
    coefficients = sv.kernel_coefficients(eps_tilde, V)[0]
    w = sv.generator(coefficients, n_S, n_D, order=1)  # (2 leads, 6, 6)
    rng = np.random.default_rng(3)
    for _ in range(5):
        x = np.concatenate([rng.dirichlet([1, 1, 1]), 0.2 * rng.normal(size=3)])
        for lead, (mu, gamma, p, n) in enumerate([(V / 2, sv.gamma_S, sv.p_S, n_S), (-V / 2, sv.gamma_D, sv.p_D, n_D)]):
            expected, _, _ = explicit_first_order(x, eps_tilde - U / 2, U, T, mu, gamma, p, n)
            np.testing.assert_allclose(w[lead] @ x, expected, rtol=0, atol=1e-15)


def test_first_order_currents_equal_explicit_currents() -> None:
    U, T, eps_tilde, V, theta = 2.0, 0.2, 0.4, 0.9, 1.1
    sv = SpinValve(U=U, T=T, gamma_S=0.01, gamma_D=0.02, p_S=0.6, p_D=0.8)
    r = sv.solve(eps_tilde, V, theta, order=1)
    x = np.concatenate([r.occupations, r.dot_spin])
    _, particle_d, spin_d = explicit_first_order(x, eps_tilde - U / 2, U, T, -V / 2, 0.02, 0.8, drain_direction(theta))
    assert float(r.charge_current) == pytest.approx(particle_d, rel=1e-12)
    np.testing.assert_allclose(r.spin_current_drain, spin_d, rtol=1e-11, atol=1e-17)


@pytest.mark.parametrize("eps_tilde", [-0.3, 0.0, 0.25, 0.45])
def test_linear_conductance_konig_martinek(eps_tilde: float) -> None:
    """docs/physics.md §3.6 item 1: first-order linear conductance of the symmetric junction vs θ."""
    U, T, gamma0, p = 1.0, 0.1, 0.001, 0.8
    eps = eps_tilde - U / 2
    sv = SpinValve(U=U, T=T, gamma_S=gamma0, gamma_D=gamma0, p_S=p, p_D=p)
    f, fu = fermi(eps, T), fermi(eps + U, T)
    weights = np.array([1.0, 2 * np.exp(-eps / T), np.exp(-(2 * eps + U) / T)])
    p0, p1, p2 = weights / weights.sum()
    a = (f * (1 - f) * (p0 + p1 / 2) + fu * (1 - fu) * (p2 + p1 / 2)) / T
    relaxation, phase = 1 - f + fu, phi(eps, U, 0.0, T)
    theta = np.linspace(0.05, np.pi - 0.05, 7)
    expected = (
        gamma0
        * a
        * (1 - p**2 * np.sin(theta / 2) ** 2 / (1 + (p * phase / (np.pi * relaxation)) ** 2 * np.cos(theta / 2) ** 2))
    )
    dv = 1e-5  # O(dv²) error ~1e-14 relative; smaller steps lose digits to cancellation
    conductance = (
        sv.solve(eps_tilde, dv, theta, order=1).charge_current - sv.solve(eps_tilde, -dv, theta, order=1).charge_current
    ) / (2 * dv)
    np.testing.assert_allclose(conductance, expected, rtol=1e-8)


def test_u0_first_order_spin_valve_ratio() -> None:
    """docs/physics.md §3.6 item 2: U = 0 ⇒ no exchange field, G(θ)/G(0) = 1 − p² sin²(θ/2)."""
    sv = SpinValve(U=0.0, T=0.1, gamma_S=0.001, gamma_D=0.001, p_S=0.7, p_D=0.7)
    theta = np.linspace(0.0, np.pi, 9)
    dv = 1e-6
    g = sv.solve(0.05, dv, theta, order=1).charge_current - sv.solve(0.05, -dv, theta, order=1).charge_current
    np.testing.assert_allclose(g / g[0], 1 - 0.49 * np.sin(theta / 2) ** 2, rtol=1e-9)
    assert np.all(sv.exchange_phase(0.05, np.linspace(-1, 1, 5), "S") == 0.0)


@pytest.mark.parametrize("theta", [0.0, np.pi])
@pytest.mark.parametrize("V", [0.8, -0.5, 2.0])
def test_u0_collinear_independent_channels(theta: float, V: float) -> None:
    """docs/physics.md §3.6 item 4: U = 0, collinear, first order: two independent spin channels."""
    T, eps, gs, gd, ps, pd = 0.2, 0.1, 0.004, 0.007, 0.6, 0.3
    sv = SpinValve(U=0.0, T=T, gamma_S=gs, gamma_D=gd, p_S=ps, p_D=pd)
    sign = 1.0 if theta == 0.0 else -1.0
    expected = sum(
        gs * (1 + s * ps) * gd * (1 + sign * s * pd) / (gs * (1 + s * ps) + gd * (1 + sign * s * pd)) for s in (1, -1)
    ) * (fermi(eps - V / 2, T) - fermi(eps + V / 2, T))
    assert float(sv.solve(eps, V, theta, order=1).charge_current) == pytest.approx(expected, rel=1e-13)

"""Reference (slow, independent) evaluation of the kernel's frequency integrals: the shifted-contour
trapezoid of docs/physics.md §4.2 that gpuqd used at runtime before the Matsubara pole sums
(gpuqd/transport/frequency_integrals.py). Kept here, off the runtime path, as the independent method the
fast integrals are tested against; the step and the tail rule are parameters so that its own accuracy can
be measured (test_frequency_integrals.py).

Functions of one (ε̃, V) point. Energies in any unit (the caller's; docs use Γ). The integrals are
returned on the basis used by :mod:`gpuqd.transport.kernel_terms`:

* first order: J-basis values at w = −λ + i0 for the four odd λ, shape (4 λ, 3 b);
* fourth order: I_kind for kind ∈ (X, D), contraction basis a, J basis b, λ2, λ1, λ3,
  shape (2, 3, 3, 3, 4, 4).

The u-integral is done on the shifted contour u = x − iδ, δ = πT/2 (no singularity within ≈1.57 T),
by a uniform trapezoid with step 0.4 T on |x| ≤ X, X = 3(|ε| + U + max|μ|) + 60 T, and
Gauss–Legendre quadrature of the tails after x = ±X/σ² (docs/physics.md §4.2).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import psi

from gpuqd.transport.kernel_terms import LAMBDA_EVEN, LAMBDA_ODD

#: Step of the trapezoid in units of T (error ~ exp(−2π·(π/2)/0.4) ≈ 2e-11 relative per integral).
TRAPEZOID_STEP_OVER_T = 0.4
#: Trapezoid end weights with Gregory corrections through fourth differences
#: (coefficients 1/12, 1/24, 19/720, 3/160 of Δf0, Δ²f0, Δ³f0, Δ⁴f0).
GREGORY_END_WEIGHTS = np.array([1 / 2, 1, 1, 1, 1]) + (
    np.array([-1, 1, 0, 0, 0]) / 12
    + np.array([-1, 2, -1, 0, 0]) / 24
    + np.array([-1, 3, -3, 1, 0]) * 19 / 720
    + np.array([-1, 4, -6, 4, -1]) * 3 / 160
)
#: Gauss–Legendre points per tail.
TAIL_POINTS = 80


@lru_cache(maxsize=4)
def _gauss_legendre_unit(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (x + 1.0), 0.5 * w  # on (0, 1)


def integration_nodes(
    eps: float,
    U: float,
    mu_max: float,
    T: float,
    step_over_t: float = TRAPEZOID_STEP_OVER_T,
    tail_points: int = TAIL_POINTS,
    tail_power: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Complex nodes u_n = x_n − iπT/2 and real weights of the shifted-contour rule (today's defaults:
    step 0.4 T, tails x = X/σ² with 80 Gauss–Legendre points)."""
    half_width = 3.0 * (abs(eps) + abs(U) + abs(mu_max)) + 60.0 * T
    h = step_over_t * T
    n_half = int(np.ceil(half_width / h))
    x_mid = h * np.arange(-n_half, n_half + 1)
    w_mid = np.full(x_mid.shape, h)
    # Gregory end corrections (to fourth differences): the integrand is smooth on the scale X at
    # the junction with the tails, so this removes the O(h²) Euler–Maclaurin end error of the plain
    # trapezoid, which otherwise dominates (it breaks particle–hole symmetry at ~1e-8).
    w_mid[: GREGORY_END_WEIGHTS.size] = h * GREGORY_END_WEIGHTS
    w_mid[-GREGORY_END_WEIGHTS.size :] = h * GREGORY_END_WEIGHTS[::-1]
    edge = h * n_half
    sigma, w_sigma = _gauss_legendre_unit(tail_points)
    x_tail = edge / sigma**tail_power  # x = X/σ^q, dx = q X/σ^(q+1) dσ
    w_tail = w_sigma * tail_power * edge / sigma ** (tail_power + 1)
    x = np.concatenate([-x_tail[::-1], x_mid, x_tail])
    w = np.concatenate([w_tail[::-1], w_mid, w_tail])
    return x - 0.5j * np.pi * T, w


def fermi(u: np.ndarray, m: float, T: float) -> np.ndarray:
    """Fermi function 1/(exp((u − m)/T) + 1) at complex u with Im u = −πT/2 (never singular)."""
    z = (u - m) / T
    z = np.clip(z.real, -700.0, 700.0) + 1j * z.imag
    return 1.0 / (np.exp(z) + 1.0)


def log_minus_psi(w: np.ndarray, m: float, T: float, log_cutoff: float) -> np.ndarray:
    """L − ψ(½ − i (w − m)/(2πT)): the s-odd part of J_{s,m}(w) (docs/physics.md §3.2)."""
    return log_cutoff - psi(0.5 - 1j * (w - m) / (2.0 * np.pi * T))


def first_order_basis(eps: float, U: float, V: float, T: float, log_cutoff: float) -> np.ndarray:
    """J-basis values at w = −λ + i0: shape (4 λ, 3 b) with b = (1, L − ψ_{+V/2}, L − ψ_{−V/2})."""
    lam = np.array([ce * eps + cu * U for ce, cu in LAMBDA_ODD], dtype=complex)
    out = np.ones((len(LAMBDA_ODD), 3), dtype=complex)
    for b, m in ((1, 0.5 * V), (2, -0.5 * V)):
        out[:, b] = log_minus_psi(-lam, m, T, log_cutoff)
    return out


def second_order_basis(eps: float, U: float, V: float, T: float, log_cutoff: float, **rule: float) -> np.ndarray:
    """Basis integrals I_kind(λ1, λ2, λ3), shape (2 kinds (X, D), 3 a, 3 b, 3 λ2, 4 λ1, 4 λ3).

    I_D = ∫ du ν(u) J(−λ2 − u) / [(i0 − u − λ1)(i0 − u − λ3)],
    I_X = ∫ du ν(u) [J(−λ1) − J(−λ2 − u)] / (λ1 − λ2 − u) / (i0 − u − λ3),
    with ν ∈ {1, f_{+V/2}, f_{−V/2}} and J ∈ {1, L − ψ_{+V/2}, L − ψ_{−V/2}}.
    """
    u, weight = integration_nodes(eps, U, 0.5 * abs(V), T, **rule)
    lam_odd = np.array([ce * eps + cu * U for ce, cu in LAMBDA_ODD])
    lam_even = np.array([ce * eps + cu * U for ce, cu in LAMBDA_EVEN])
    m_values = (0.5 * V, -0.5 * V)

    nu = np.empty((3, u.size), dtype=complex)  # weighted contraction functions
    nu[0] = weight
    for a, m in enumerate(m_values, start=1):
        nu[a] = weight * fermi(u, m, T)

    j_moving = np.empty((3, lam_even.size, u.size), dtype=complex)  # J_b(−λ2 − u)
    j_fixed = np.empty((3, lam_odd.size), dtype=complex)  # J_b(−λ1 + i0)
    j_moving[0], j_fixed[0] = 1.0, 1.0
    for b, m in enumerate(m_values, start=1):
        j_moving[b] = log_minus_psi(-lam_even[:, None] - u[None, :], m, T, log_cutoff)
        j_fixed[b] = log_minus_psi(-lam_odd + 0j, m, T, log_cutoff)

    resolvent = 1.0 / (-u[None, :] - lam_odd[:, None])  # (λ, n): 1/(i0 − u − λ)

    # D: Σ_n ν_a J_b(λ2) R(λ1) R(λ3)
    left_d = (nu[:, None, None, None, :] * j_moving[None, :, :, None, :]) * resolvent[None, None, None, :, :]
    integral_d = left_d @ resolvent.T  # (a, b, λ2, λ1, λ3)

    # X: Σ_n ν_a [J_b(λ1) − J_b(λ2, u)] / (λ1 − λ2 − u) R(λ3)
    difference = (j_fixed[:, None, :, None] - j_moving[:, :, None, :]) / (
        lam_odd[None, None, :, None] - lam_even[None, :, None, None] - u[None, None, None, :]
    )  # (b, λ2, λ1, n)
    left_x = nu[:, None, None, None, :] * difference[None]
    integral_x = left_x @ resolvent.T
    return np.stack([integral_x, integral_d])


def reference_kernel(
    eps_tilde: np.ndarray, V: np.ndarray, U: float, T: float, log_cutoff: float = 8.0, **rule: float
) -> np.ndarray:
    """Real K (n, 2, 72, 6, 6) from this quadrature (the same basis → K map as the runtime path)."""
    from gpuqd.transport.kernel import kernel_from_basis

    eps = np.atleast_1d(eps_tilde) - 0.5 * U
    V = np.atleast_1d(V)
    first = np.stack([first_order_basis(e, U, v, T, log_cutoff) for e, v in zip(eps, V, strict=True)])
    second = np.stack([second_order_basis(e, U, v, T, log_cutoff, **rule) for e, v in zip(eps, V, strict=True)])
    return np.real(kernel_from_basis(first, second))


def reference_solve(sv, eps_tilde: float, V: float, theta: np.ndarray, order: int = 2, kernel=None):
    """Stationary solve of ``sv`` at one (ε̃, V) for n_S = e_z, n_D(θ) with the reference kernel."""
    from gpuqd.transport import drain_direction
    from gpuqd.transport.stationary import assemble_result, stationary_state

    k = reference_kernel(eps_tilde, V, sv.U, sv.T, sv.log_cutoff)[0] if kernel is None else kernel
    n_d = drain_direction(theta)
    w = sv.generator(k, np.array([0.0, 0.0, 1.0]), n_d, order=order)  # (m, 2, 6, 6)
    x = stationary_state(w.sum(axis=1))
    rates = np.einsum("mrij,mj->mri", w, x)
    return assemble_result(x, rates, np.array([[0.0, 0.0, 1.0]]), n_d, theta.shape)

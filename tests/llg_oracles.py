"""Independent oracles for the LLG engine tests (docs/physics.md §6.3, §6.5, §10).

Written separately from gpuqd.dynamics: the deterministic right-hand side solves the implicit
Gilbert form for ṅ with a 3×3 linear solve (no Landau–Lifshitz algebra), the mean first-passage
time is the double integral of docs/physics.md §10, and χ is the closed form of docs/physics.md §6.5.
"""

from __future__ import annotations

import numpy as np
from scipy import integrate


def gilbert_rhs(
    n: np.ndarray,
    t: float,
    S: float,
    alpha: float,
    KV: float,
    field: np.ndarray,
    K_cubic: float,
    axes: np.ndarray,
    ac: tuple[float, float] | None,
    fl: float,
    dl: float,
) -> np.ndarray:
    """ṅ from S ṅ = −n × ∂E/∂n + I⊥ − α n × ṅ, solved as (S·1 + α[n]×) ṅ = τ."""
    grad = -KV * n[2] * np.array([0.0, 0.0, 1.0]) - np.asarray(field, dtype=float)
    if ac is not None:
        grad = grad - np.array([ac[0] * np.cos(ac[1] * t), 0.0, 0.0])
    proj = axes @ n
    for i in range(3):
        others = sum(proj[k] ** 2 for k in range(3) if k != i)
        grad = grad + 2.0 * K_cubic * proj[i] * others * axes[i]
    ez = np.array([0.0, 0.0, 1.0])
    torque = -np.cross(n, grad) + fl * np.cross(n, ez) + dl * np.cross(n, np.cross(n, ez))
    cross_matrix = np.array([[0.0, -n[2], n[1]], [n[2], 0.0, -n[0]], [-n[1], n[0], 0.0]])
    return np.linalg.solve(S * np.eye(3) + alpha * cross_matrix, torque)


def deterministic_trajectory(n0: np.ndarray, t_end: float, **model) -> np.ndarray:
    """n(t_end) of the noiseless LLG by a tight-tolerance Runge–Kutta (DOP853)."""
    sol = integrate.solve_ivp(
        lambda t, y: gilbert_rhs(y, t, **model),
        (0.0, t_end),
        np.asarray(n0, float),
        method="DOP853",
        rtol=1e-13,
        atol=1e-14,
    )
    n = sol.y[:, -1]
    return n / np.linalg.norm(n)


def mean_first_passage_time(
    S: float, alpha: float, KV: float, sigma2: float, fl: float, dl: float, u_start: float, u_target: float
) -> float:
    """Exact mean time for u = n_z to go from u_start down to u_target (docs/physics.md §10), constant I_FL, I_DL.

    With a(u) = 2[α(KV u²/2 + I_FL u) − S I_DL u]/σ² and D = σ²/(2(S²+α²)), the double integral
    reduces to τ = (1/D) ∫_{u_target}^{u_start} dy/(1−y²) ∫_y^1 exp(a(z) − a(y)) dz.
    """
    diffusion = sigma2 / (2.0 * (S**2 + alpha**2))

    def potential(u: float) -> float:
        return 2.0 * (alpha * (0.5 * KV * u * u + fl * u) - S * dl * u) / sigma2

    def inner(y: float) -> float:
        value, _ = integrate.quad(lambda z: np.exp(potential(z) - potential(y)), y, 1.0, epsabs=0, epsrel=1e-11)
        return value / (1.0 - y * y) if y < 1.0 else 0.5

    outer, _ = integrate.quad(inner, u_target, u_start, epsabs=0, epsrel=1e-10, limit=200)
    return outer / diffusion


def mean_first_passage_time_upward(
    S: float, alpha: float, KV: float, sigma2: float, fl: float, dl: float, u_start: float, u_target: float
) -> float:
    """Exact mean time for u = n_z to go *up* from u_start to u_target > u_start (AP→P), reflecting at −1.

    The same 1-D diffusion as :func:`mean_first_passage_time`, integrated directly for the reverse
    boundary: τ = ∫_{u_start}^{u_target} dy ψ(y) ∫_{−1}^{y} dz / (B(z) ψ(z)), ψ = exp(−∫A/B), which
    reduces to τ = (1/D) ∫_{u_start}^{u_target} dy/(1−y²) ∫_{−1}^{y} exp(a(z) − a(y)) dz.
    """
    diffusion = sigma2 / (2.0 * (S**2 + alpha**2))

    def potential(u: float) -> float:
        return 2.0 * (alpha * (0.5 * KV * u * u + fl * u) - S * dl * u) / sigma2

    def inner(y: float) -> float:
        if y <= -1.0:
            return 0.5  # limit of (1/(1−y²)) ∫_{−1}^{y} dz as y → −1
        value, _ = integrate.quad(lambda z: np.exp(potential(z) - potential(y)), -1.0, y, epsabs=0, epsrel=1e-11)
        return value / (1.0 - y * y)

    outer, _ = integrate.quad(inner, u_start, u_target, epsabs=0, epsrel=1e-10, limit=200)
    return outer / diffusion


def fmr_susceptibility(S: float, alpha: float, H0: float, fl: float, dl: float, omega: float) -> complex:
    """χ_xx = (ω0 − iΩα) / [(I_DL + iΩS)² + (ω0 − iΩα)²], ω0 = H0 + I_FL (docs/physics.md §6.5)."""
    omega0 = H0 + fl
    num = omega0 - 1j * omega * alpha
    return num / ((dl + 1j * omega * S) ** 2 + num**2)


def boltzmann_nz_cdf(u: np.ndarray, KV: float, T_m: float, fl: float = 0.0) -> np.ndarray:
    """CDF on [−1, 1] of p(u) ∝ exp[(KV u²/2 + I_FL u)/T_m] (docs/physics.md §6.3, §10), by quadrature."""
    grid = np.linspace(-1.0, 1.0, 20001)
    log_p = (0.5 * KV * grid**2 + fl * grid) / T_m
    density = np.exp(log_p - log_p.max())
    cumulative = integrate.cumulative_trapezoid(density, grid, initial=0.0)
    return np.interp(u, grid, cumulative / cumulative[-1])

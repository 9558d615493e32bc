"""Time-step guard of the stochastic Heun integrator (docs/physics.md §6.2, §12.3).

Fastest mode. Linearised about an equilibrium along its effective field H (energy, Γ), the LL form
ṅ = [S τ − α n × τ]/(S² + α²) gives for the transverse component m = m_x + i m_y

    ṁ = λ m,   λ = −H (α + i S)/(S² + α²) = −r (a + i)/(1 + a²),   r = H/S,  a = α/S,

a precession at ≈ r damped at the rate |Re λ| = r a/(1 + a²). The guard's r is the fastest such rate
in the model: (KV + |field| + |h_ac| + 4|K_cubic| + max(|I_FL| + |I_DL|))/S (damping-like torques are
counted as if they were fields: an upper bound).

Heun on a linear mode. One Heun step (the same thermal field in both stages; the renormalisation is
second order in m) multiplies m by g(z) = 1 + z + z²/2, z = λ Δt. The effective rate is
λ_eff = log g(z)/Δt, so the relative error of the relaxation rate is

    ε(x, a) = Re log g(z)/Re z − 1,   x = r Δt,

and for small x: ε ≈ x²/2 − x³/(8a) (the Heun amplification |g| exceeds e^{Re z} at order x⁴, which
eats the physical damping when a is small). This reproduces the measured effective rates of the
fastest mode: 4.44 / 3.15 / 1.01 against 4.95 exact at r Δt = 0.6 / 0.8 / 0.99 for a = 0.1 (formula:
4.44 / 3.14 / 0.94; tests/dynamics/test_stability.py also measures it with the NumPy engine).
The guard refuses where |ε| > MAX_RATE_ERROR (10 %; at a = 0.1: r Δt > 0.59) or where the relative
error of the precession frequency exceeds the same bound (the criterion for α = 0), and warns above
r Δt = WARN_RATE_DT. Units: rates in Γ, times in 1/Γ.

Noise (docs/physics.md §15). The engines stop a run when |n|² changes by more than
NORM_DRIFT_LIMIT (5 %) in one step. Since F(x) ⊥ x, one Heun step from a unit n changes the norm by
exactly |n′|² − 1 = ¼ |Δt (F(n_p) − F(n))|², which to leading order is at most ¼ g ρ⁴ (1 + ρ)² with
ρ the step's rotation angle and g = (S + α)²/(S² + α²). The thermal part of ρ is s |ξ| (s the
per-step rotation √(σ² Δt)/√(S² + α²), ξ the step's three normals, |ξ|² a χ² variable with 3 degrees
of freedom), so the guard bounds s such that the probability that any of N trajectory-steps trips
the check stays below GUARD_ABORT_PROBABILITY: N = GUARD_TRAJECTORY_STEPS when a run is validated,
N = n_traj × steps for an ensemble built directly (gpuqd.dynamics.engine_config.build_config).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from gpuqd.dynamics.model import Macrospin

MAX_RATE_ERROR = 0.10
WARN_RATE_DT = 0.2
#: the engines' health check: largest change of |n|² in one step (gpuqd/dynamics/engines/numpy_engine.py)
NORM_DRIFT_LIMIT = 0.05
#: trajectory-steps the noise bound covers (4·10⁶ grid points × 2.5·10⁶ steps) ...
GUARD_TRAJECTORY_STEPS = 1e13
#: ... with at most this probability that one of them trips the norm check
GUARD_ABORT_PROBABILITY = 1e-3


def chi2_3_tail(y: float) -> float:
    """P(|ξ|² > y) for ξ ~ N(0, 1)³ (χ² with 3 degrees of freedom): erfc(√(y/2)) + √(2y/π) e^{−y/2}."""
    return math.erfc(math.sqrt(y / 2.0)) + math.sqrt(2.0 * y / math.pi) * math.exp(-y / 2.0)


def critical_rotation(S: float, alpha: float, limit: float = NORM_DRIFT_LIMIT) -> float:
    """Per-step rotation ρ (rad) at which the leading-order bound ¼ g ρ⁴ (1 + ρ)² on the norm change
    of one Heun step reaches ``limit``; g = (S + α)²/(S² + α²)."""
    from scipy import optimize  # imported here: 0.25 s of every start-up otherwise

    g = (S + alpha) ** 2 / (S * S + alpha * alpha)
    return float(optimize.brentq(lambda r: 0.25 * g * r**4 * (1.0 + r) ** 2 - limit, 0.0, 2.0, xtol=1e-12))


def max_noise_rotation(S: float, alpha: float, trajectory_steps: float = GUARD_TRAJECTORY_STEPS) -> float:
    """Largest per-step thermal rotation scale s = √(σ² Δt)/√(S² + α²) the guard admits (rad): the
    critical rotation over the √χ²₃ quantile that ``trajectory_steps`` draws (default
    GUARD_TRAJECTORY_STEPS, the bound of a run's validation; an ensemble built directly passes its own
    n_traj × steps) exceed with probability GUARD_ABORT_PROBABILITY."""
    from scipy import optimize

    target = GUARD_ABORT_PROBABILITY / max(float(trajectory_steps), 1.0)
    y = optimize.brentq(lambda v: math.log(chi2_3_tail(v)) - math.log(target), 1.0, 1000.0, xtol=1e-10)
    return critical_rotation(S, alpha) / math.sqrt(y)


def heun_rate_errors(rate_dt: float | np.ndarray, damping_ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """(relative error of the relaxation rate, relative error of the precession frequency) of Heun's
    fastest mode at x = rate·dt and a = α/S (signed: negative = too little damping / too slow)."""
    x = np.asarray(rate_dt, dtype=float)
    a = float(damping_ratio)
    z = -x * (a + 1j) / (1.0 + a * a)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_g = np.log(1.0 + z + 0.5 * z * z)
        decay = np.where(x > 0, log_g.real / z.real - 1.0, 0.0) if a > 0 else np.full(x.shape, np.nan)
        freq = np.where(x > 0, log_g.imag / z.imag - 1.0, 0.0)
    return decay, freq


def _worst_error(x: float, damping_ratio: float) -> float:
    decay, freq = heun_rate_errors(x, damping_ratio)
    return float(max(abs(freq), 0.0 if np.isnan(decay) else abs(decay)))


def max_rate_dt(damping_ratio: float, tolerance: float = MAX_RATE_ERROR) -> float:
    """Largest rate·dt at which Heun's errors of the fastest mode stay within ``tolerance`` (a = α/S)."""
    if damping_ratio < 0:
        raise ValueError(f"damping_ratio must be >= 0, got {damping_ratio}")
    grid = np.linspace(1e-4, 2.0, 4001)
    bad = np.nonzero([_worst_error(x, damping_ratio) > tolerance for x in grid])[0]
    if bad.size == 0:
        return float(grid[-1])
    hi = grid[bad[0]]
    lo = grid[bad[0] - 1] if bad[0] > 0 else 0.0
    from scipy import optimize  # imported here: 0.25 s of every start-up otherwise

    return float(optimize.brentq(lambda x: _worst_error(x, damping_ratio) - tolerance, lo, hi, xtol=1e-12))


def time_step_limits(
    magnet: Macrospin, max_torque: float, trajectory_steps: float = GUARD_TRAJECTORY_STEPS
) -> tuple[float, float, float, float]:
    """(fastest rate r in Γ, dt bound from it, per-step noise rotation per √dt, dt bound from the noise).

    r = (KV + |field| + |h_ac| + 4|K_cubic| + max_torque)/S, also ≥ the AC frequency; the bounds are
    r·dt ≤ max_rate_dt(α/S) and sqrt(σ² dt)/sqrt(S² + α²) ≤ max_noise_rotation(S, α, trajectory_steps).
    """
    rate = magnet.fastest_rate + max_torque / magnet.S
    if magnet.ac_field is not None:
        rate = max(rate, magnet.ac_field[1])
    dt_rate = max_rate_dt(magnet.alpha / magnet.S) / rate if rate > 0 else math.inf
    noise_per_sqrt_dt = math.sqrt(magnet.noise_variance) / math.hypot(magnet.S, magnet.alpha)
    dt_noise = (
        (max_noise_rotation(magnet.S, magnet.alpha, trajectory_steps) / noise_per_sqrt_dt) ** 2
        if noise_per_sqrt_dt > 0
        else math.inf
    )
    return rate, dt_rate, noise_per_sqrt_dt, dt_noise


def check_time_step(
    magnet: Macrospin, max_torque: float, dt: float, trajectory_steps: float = GUARD_TRAJECTORY_STEPS
) -> None:
    """ValueError (one line) if dt exceeds :func:`time_step_limits` (the noise bound for
    ``trajectory_steps`` draws); a warning if rate·dt > WARN_RATE_DT."""
    rate, dt_rate, noise_per_sqrt_dt, dt_noise = time_step_limits(magnet, max_torque, trajectory_steps)
    if dt > dt_rate:
        decay, _ = heun_rate_errors(rate * dt, magnet.alpha / magnet.S)
        raise ValueError(
            f"dt = {dt} too large: fastest rate {rate:.4g} Γ gives rate·dt = {rate * dt:.3g}, where Heun's "
            f"relaxation-rate error is {abs(float(decay)):.0%} > {MAX_RATE_ERROR:.0%}; need dt <= {dt_rate:.4g}"
        )
    if dt > dt_noise:
        raise ValueError(
            f"dt = {dt} too large for the noise: per-step rotation sqrt(σ² dt)/sqrt(S²+α²) = "
            f"{noise_per_sqrt_dt * math.sqrt(dt):.3g}, need dt <= {dt_noise:.4g} (rotation <= "
            f"{max_noise_rotation(magnet.S, magnet.alpha, trajectory_steps):.3g}, so that the engine's 5% norm "
            f"check trips with probability <= {GUARD_ABORT_PROBABILITY:g} in {trajectory_steps:.3g} trajectory-steps)"
        )
    if rate * dt > WARN_RATE_DT:
        decay, _ = heun_rate_errors(rate * dt, magnet.alpha / magnet.S)
        warnings.warn(
            f"rate·dt = {rate * dt:.3g} > {WARN_RATE_DT} (fastest rate {rate:.4g} Γ): Heun's relaxation rate of "
            f"the fastest mode is off by {abs(float(decay)):.1%} at the fastest points",
            stacklevel=3,
        )


def table_torque_bound(field_like: np.ndarray, damping_like: np.ndarray, chunk: int = 4096) -> float:
    """Rigorous max over points and θ of max|I_FL(θ)| + max|I_DL(θ)| of the torque table's interpolant.

    Arrays (n_points, n_theta) of node values (ħΓ). The interpolant (cubic Lagrange in s on cell-centred
    nodes, gpuqd.transport.torque_table) is a cubic in the local coordinate t on each piece; its maximum
    modulus is taken at the piece ends or at the roots of its derivative, all evaluated exactly here.
    """
    best = 0.0
    for table in (field_like, damping_like):
        table = np.asarray(table, dtype=float)
        m = table.shape[1]
        if m < 4:
            raise ValueError(f"n_theta must be >= 4, got {m}")
        # pieces: x = s m − 1/2 ∈ [−1/2, m − 1/2], stencil i0 = clip(floor(x) − 1, 0, m − 4), t = x − i0
        starts = np.concatenate([[-0.5], np.arange(m, dtype=float)])  # m + 1 pieces
        ends = np.concatenate([np.arange(m, dtype=float), [m - 0.5]])
        i0 = np.clip(np.floor(starts).astype(int) - 1, 0, m - 4)
        ta, tb = starts - i0, ends - i0
        # Lagrange basis on nodes 0, 1, 2, 3 as monomial coefficients (c0 + c1 t + c2 t² + c3 t³)
        basis = np.linalg.inv(np.vander(np.arange(4.0), 4, increasing=True))
        worst = 0.0
        for lo in range(0, table.shape[0], chunk):
            f = table[lo : lo + chunk]
            stencil = np.stack([f[:, i0 + k] for k in range(4)], axis=-1)  # (B, pieces, 4)
            c = stencil @ basis.T  # (B, pieces, 4) monomial coefficients
            cands = [ta[None, :] + 0 * c[..., 0], tb[None, :] + 0 * c[..., 0]]
            qa, qb, qc = 3 * c[..., 3], 2 * c[..., 2], c[..., 1]  # p'(t) = qa t² + qb t + qc
            disc = np.maximum(qb * qb - 4 * qa * qc, 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                for sign in (1.0, -1.0):
                    root = np.where(
                        np.abs(qa) > 1e-300,
                        (-qb + sign * np.sqrt(disc)) / (2 * qa),
                        np.where(np.abs(qb) > 1e-300, -qc / qb, ta[None, :]),
                    )
                    cands.append(np.clip(np.nan_to_num(root, nan=0.0), ta[None, :], tb[None, :]))
            for t in cands:
                value = ((c[..., 3] * t + c[..., 2]) * t + c[..., 1]) * t + c[..., 0]
                worst = max(worst, float(np.abs(value).max()))
        best += worst
    return best


def scan_torque_bound(
    spin_valve: Any,
    eps_tilde: np.ndarray,
    V: np.ndarray,
    n_theta: int,
    order: int = 2,
    n_end: int = 2,
    chunk: int = 2048,
) -> float:
    """Bound on max |I_FL| + |I_DL| over the grid from the table's end regions, before the table exists.

    Solves every grid point at the ``n_end`` + 3 table nodes nearest θ = 0 and θ = π (the node values the
    table will hold) and returns :func:`table_torque_bound` of the interpolant on those end regions: the
    cubic pieces within ``n_end`` nodes of each pole are exactly the table's (their stencils lie inside
    the region). The coefficients are largest there (docs/physics.md §12.3, §15: the steep rise near
    θ = π on the resonance line), and the interpolant overshoots the node values between the steep end
    nodes (201² paper grid: node maximum 43.5 Γ, interpolant 58.3 Γ), which this bound includes. The
    run re-checks with :func:`table_torque_bound` of the whole table once it exists.
    """
    from gpuqd.transport.torque_table import node_s, theta_of_s

    width = min(int(n_end) + 3, int(n_theta))
    theta_all = theta_of_s(node_s(n_theta))
    theta = np.concatenate([theta_all[:width], theta_all[-width:]])
    eps_points = np.repeat(np.asarray(eps_tilde, dtype=float), np.size(V))
    v_points = np.tile(np.asarray(V, dtype=float), np.size(eps_tilde))
    best = 0.0
    for lo in range(0, eps_points.size, chunk):
        r = spin_valve.solve(eps_points[lo : lo + chunk, None], v_points[lo : lo + chunk, None], theta[None, :], order)
        fl, dl = np.asarray(r.torque_field_like), np.asarray(r.torque_damping_like)
        for part in (slice(0, width), slice(width, 2 * width)):
            if width >= 4:
                best = max(best, table_torque_bound(fl[:, part], dl[:, part]))
            else:  # pragma: no cover - tables have >= 4 nodes
                best = max(best, float((np.abs(fl[:, part]) + np.abs(dl[:, part])).max()))
    return best

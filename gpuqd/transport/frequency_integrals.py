"""Frequency integrals of the first- and fourth-order kernels by Matsubara pole sums (docs/physics.md
§3.2, §4.1, §12.5).

Arrays of (ε̃, V) points, on the backend of ``xp``. Energies in any unit (the caller's; docs use Γ). The
integrals are returned on the basis used by :mod:`gpuqd.transport.kernel_terms`:

* first order: J-basis values at w = −λ + i0 for the four odd λ, shape (n, 4 λ, 3 b);
* fourth order: I_kind for kind ∈ (X, D), contraction basis a, J basis b, λ2, λ1, λ3,
  shape (n, 2, 3, 3, 3, 4, 4).

Method. With ν_a = f_m (a = 1, 2; m = ±V/2) the u-integral is closed in the lower half plane, where the
integrand g(u) is analytic except at the Fermi poles u_k = m − iπT(2k + 1):
∫ du f_m(u) g(u) = 2πiT Σ_{k≥0} g(u_k). At u_k the digamma argument of J_b(−λ2 − u) is k + 1 + iy with
y = (λ2 + m + m_b)/(2πT), so ψ(k + 1 + iy) = ψ(1 + iy) + Σ_{j=1}^{k} 1/(j + iy): one complex ψ per
distinct shift (9 per point) for the terms k < K. The terms decay like ln k/k²; their tail k ≥ K is
summed exactly by the Abel–Plana formula
  Σ_{k≥K} F(k) = ∫_K^∞ F dx + F(K)/2 + i ∫_0^∞ [F(K + it) − F(K − it)]/(e^{2πt} − 1) dt,
with an exp-sinh rule for the first and Gauss–Legendre for the second integral (F is analytic for
Re x > −½, the nearest singularity is ≥ K away), and ψ from its asymptotic series (|argument| > K).
The exp-sinh nodes are scaled per point by σ (:func:`tail_scale`) so that they resolve the summand's
features at x ~ |λ + m|/(2πT); everything else is one fixed rule (see :data:`MATSUBARA_TERMS`).
The X integrals need no sums of their own: 1/(λ1 − λ2 − u) is the resolvent of the odd λ'' = λ2 − λ1
(for every combination the kernel uses), so I_X = J(−λ1) S(1; λ'', λ3) − S(J; λ'', λ3) with the D-type
sums S(J; λ1, λ3) = 2πiT Σ_k J(u_k) R(λ1) R(λ3) (exact at the nodes, which lie off the real axis).

Identically vanishing integrals are not computed: for ν = 1 (a = 0) every integrand is analytic in the
lower half plane and decays like ln|u|/u², so the integral is zero; the X integrals with J = 1 (b = 0)
vanish since J(−λ1) − J(−λ2 − u) = 0. Those entries are returned as exact zeros.

Accuracy (relative to max|I| of a point; T/U from 1e-3 to 1, |ε̃| ≤ 5U; tests/transport/
test_frequency_integrals.py): against the shifted-contour trapezoid of docs/physics.md §4.2 refined to step
0.25 T ≤ 8e-13, except 6e-12 at T/U = 1e-3, |ε̃| ≥ 4U; against this rule with about twice the nodes ≤ 5e-12.
118 nodes per integral (K = 16), against ≈ 2900 for the trapezoid at the paper's parameters.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType
from typing import Any

import numpy as np

from gpuqd.transport.arrays import digamma
from gpuqd.transport.kernel_terms import LAMBDA_EVEN, LAMBDA_ODD

#: Matsubara terms summed explicitly (k = 0 … K − 1); the tail k ≥ K is the Abel–Plana remainder.
MATSUBARA_TERMS = 16
#: exp-sinh rule for ∫_K^∞ F dx: x = K + exp(π/2 sinh t), t = h j, |j| ≤ n.
EXP_SINH_STEP = 0.12
EXP_SINH_HALF_POINTS = 30
#: Gauss–Legendre rule for the Abel–Plana integral over t ∈ [0, t_max] (e^{−2π t_max} ≈ 4e-17).
ABEL_PLANA_POINTS = 20
ABEL_PLANA_T_MAX = 6.0
#: B_{2k}/(2k), k = 1 … 5: asymptotic series of ψ(w), |w| ≥ K + 1 (next term < 1e-16 relative).
_PSI_SERIES = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132)


@cache
def summation_rule(
    terms: int = MATSUBARA_TERMS,
    exp_sinh_step: float = EXP_SINH_STEP,
    exp_sinh_half_points: int = EXP_SINH_HALF_POINTS,
    abel_plana_points: int = ABEL_PLANA_POINTS,
    abel_plana_t_max: float = ABEL_PLANA_T_MAX,
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The rule Σ_{k≥0} F(k) ≈ Σ_{k<K} F(k) + F(K)/2 + σ Σ_j e_j F(K + σ r_j) + Σ_l w_l F(K + i t_l).

    Returns (K, r_j, e_j, t_l, w_l): exp-sinh nodes r_j = exp(π/2 sinh(jh)) with weights e_j (times the
    per-point scale σ), and the Abel–Plana nodes t_l = ±t (real) with complex weights w_l = ±i g(t)/(e^{2πt} − 1).
    """
    t = exp_sinh_step * np.arange(-exp_sinh_half_points, exp_sinh_half_points + 1)
    r = np.exp(0.5 * np.pi * np.sinh(t))
    e = exp_sinh_step * r * 0.5 * np.pi * np.cosh(t)
    g, wg = np.polynomial.legendre.leggauss(abel_plana_points)
    tt, wt = 0.5 * abel_plana_t_max * (g + 1.0), 0.5 * abel_plana_t_max * wg
    kernel = wt / np.expm1(2.0 * np.pi * tt)
    return terms, r, e, np.concatenate([tt, -tt]), np.concatenate([1j * kernel, -1j * kernel])


def tail_scale(eps: Any, U: float, V: Any, T: float, terms: int, xp: ModuleType = np) -> Any:
    """Per-point scale σ of the exp-sinh rule: the geometric mean of K and the largest pole/shift scale
    (2|ε| + U + |V|)/(2πT) of the summand, so that the rule's densest nodes sit on its features."""
    features = (2.0 * xp.abs(eps) + abs(U) + xp.abs(V)) / (2.0 * np.pi * T)
    return xp.sqrt(terms * xp.maximum(features, terms))


def nodes_and_weights(
    eps: Any, U: float, V: Any, T: float, xp: ModuleType = np, rule: tuple | None = None
) -> tuple[int, Any, Any]:
    """(K, x, w): nodes x (n, N) in the Matsubara index and weights w (n, N) of :func:`summation_rule`;
    the first K + 1 nodes are the integers 0 … K."""
    terms, r, e, t, w_ap = summation_rule() if rule is None else rule
    sigma = tail_scale(eps, U, V, T, terms, xp)[:, None]
    n = sigma.shape[0]
    integer = xp.broadcast_to(xp.arange(terms + 1, dtype=float), (n, terms + 1))
    w_int = xp.ones(terms + 1)
    w_int[-1] = 0.5
    x = xp.concatenate(
        [
            integer.astype(complex),
            (terms + sigma * xp.asarray(r)).astype(complex),
            xp.broadcast_to(terms + 1j * xp.asarray(t), (n, t.size)),
        ],
        axis=1,
    )
    w = xp.concatenate(
        [
            xp.broadcast_to(w_int, (n, terms + 1)).astype(complex),
            (sigma * xp.asarray(e)).astype(complex),
            xp.broadcast_to(xp.asarray(w_ap), (n, t.size)),
        ],
        axis=1,
    )
    return terms, x, w


def _digamma_tail(w: Any, xp: ModuleType) -> Any:
    """ψ(w) from its asymptotic series (valid for |w| ≥ 20 to 1e-16)."""
    inv = 1.0 / w
    inv2 = inv * inv
    series = _PSI_SERIES[-1]
    for c in _PSI_SERIES[-2::-1]:
        series = c + inv2 * series
    return xp.log(w) - 0.5 * inv - inv2 * series


def _digamma_at_nodes(y: Any, terms: int, x_tail: Any, xp: ModuleType) -> Any:
    """ψ(x + 1 + iy) at the integer nodes 0 … K (recurrence from ψ(1 + iy)) and the tail nodes (series).

    y: (..., 1); x_tail broadcasts against it; returns (..., K + 1 + n_tail).
    """
    base = digamma(1.0 + 1j * y, xp)  # (..., 1)
    steps = 1.0 / (xp.arange(1, terms + 1, dtype=float) + 1j * y)  # 1/(j + iy), j = 1 … K
    integer = base + xp.concatenate([xp.zeros_like(base), xp.cumsum(steps, axis=-1)], axis=-1)
    tail = _digamma_tail(x_tail + 1.0 + 1j * y, xp)
    return xp.concatenate([integer, tail], axis=-1)


def _lambdas(eps: Any, U: float, table: tuple, xp: ModuleType) -> Any:
    return xp.stack([ce * eps + cu * U for ce, cu in table], axis=-1)


def fixed_j_basis(eps: Any, U: float, V: Any, T: float, log_cutoff: float, xp: ModuleType = np) -> Any:
    """J-basis values at w = −λ + i0 for the odd λ: shape (n, 4 λ, 3 b), b = (1, L − ψ_{+V/2}, L − ψ_{−V/2})
    with L − ψ_m = L − ψ(½ + i(λ + m)/(2πT)) (docs/physics.md §3.2). These are the first-order basis."""
    lam = _lambdas(eps, U, LAMBDA_ODD, xp)  # (n, 4)
    out = xp.ones(lam.shape + (3,), dtype=complex)
    for b, sign in ((1, 0.5), (2, -0.5)):
        m = sign * V[:, None]
        out[..., b] = log_cutoff - digamma(0.5 + 1j * (lam + m) / (2.0 * np.pi * T), xp)
    return out


first_order_basis = fixed_j_basis


def second_order_basis(
    eps: Any,
    U: float,
    V: Any,
    T: float,
    log_cutoff: float,
    xp: ModuleType = np,
    rule: tuple[np.ndarray, np.ndarray] | None = None,
) -> Any:
    """Basis integrals I_kind(λ1, λ2, λ3), shape (n, 2 kinds (X, D), 3 a, 3 b, 3 λ2, 4 λ1, 4 λ3).

    I_D = ∫ du ν(u) J(−λ2 − u) / [(i0 − u − λ1)(i0 − u − λ3)],
    I_X = ∫ du ν(u) [J(−λ1) − J(−λ2 − u)] / (λ1 − λ2 − u) / (i0 − u − λ3),
    with ν ∈ {1, f_{+V/2}, f_{−V/2}} and J ∈ {1, L − ψ_{+V/2}, L − ψ_{−V/2}}; ε = ε̃ − U/2 given as ``eps``.
    """
    terms, x, w = nodes_and_weights(eps, U, V, T, xp, rule)
    n, n_nodes = x.shape
    lam_odd = _lambdas(eps, U, LAMBDA_ODD, xp)[:, None, :, None]  # (n, 1, 4, 1)
    lam_even = _lambdas(eps, U, LAMBDA_EVEN, xp)  # (n, 3)
    m = xp.stack([0.5 * V, -0.5 * V], axis=-1)  # (n, 2): m of a = 1, 2 (and of b = 1, 2)
    scale = 2.0 * np.pi * T

    # ψ(x + 1 + iy) for y = (λ2 + m_a + m_b)/(2πT); m_a + m_b ∈ {V, 0, −V} (index a' + b').
    sums = xp.stack([V, xp.zeros_like(V), -V], axis=-1)  # (n, 3)
    y = (lam_even[:, :, None] + sums[:, None, :]) / scale  # (n, 3 λ2, 3 sums)
    psi_nodes = _digamma_at_nodes(y[..., None], terms, x[:, None, None, terms + 1 :], xp)  # (n, 3, 3, N)
    j_moving = xp.empty((n, 2, 3, 3, n_nodes), dtype=complex)  # (n, a', b, λ2, N) for a = a' + 1
    j_moving[:, :, 0] = 1.0
    for a in range(2):
        for b in range(2):
            j_moving[:, a, b + 1] = log_cutoff - psi_nodes[:, :, a + b]
    j_fixed = fixed_j_basis(eps, U, V, T, log_cutoff, xp)  # (n, 4 λ1, 3 b)

    u = m[:, :, None] - 0.5j * scale * (2.0 * x[:, None, :] + 1.0)  # (n, a', N)
    weight = ((1j * scale) * w)[:, None, None, :]  # 2πiT w_n
    resolvent = 1.0 / (-u[:, :, None, :] - lam_odd)  # (n, a', 4 λ, N): 1/(i0 − u − λ)

    # All integrals are D-type sums S = Σ_n W J R(λ1) R(λ3), for J = 1 (λ2-independent) and
    # J = L − ψ_{b}(λ2): 7 J-rows per a.
    j_rows = xp.concatenate(
        [xp.ones((n, 2, 1, n_nodes), dtype=complex), j_moving[:, :, 1:].reshape(n, 2, 6, n_nodes)], axis=2
    )
    left = (weight * j_rows)[:, :, :, None, :] * resolvent[:, :, None, :, :]  # (n, a', 7, λ1, N)
    sums = (left.reshape(n, 2, 28, n_nodes) @ xp.swapaxes(resolvent, -1, -2)).reshape(n, 2, 7, 4, 4)
    s_one, s_j = sums[:, :, 0], sums[:, :, 1:].reshape(n, 2, 2, 3, 4, 4)  # (a', λ1, λ3), (a', b', λ2, λ1, λ3)

    out = xp.zeros((n, 2, 3, 3, 3, 4, 4), dtype=complex)
    out[:, 1, 1:, 0] = s_one[:, :, None]
    out[:, 1, 1:, 1:] = s_j
    # X: 1/(λ1 − λ2 − u) = R(λ''), λ'' = λ2 − λ1 (an odd λ for every combination the kernel uses), so
    # I_X = J_b(−λ1) S(J = 1; λ'', λ3) − S(J_b, λ2; λ'', λ3); unused combinations stay 0.
    for l2, l1, l_pp in _x_index():
        fixed = j_fixed[:, l1, 1:][:, None, :, None]  # (n, 1, b', 1)
        out[:, 0, 1:, 1:, l2, l1] = fixed * s_one[:, :, None, l_pp] - s_j[:, :, :, l2, l_pp]
    return out


@cache
def _x_index() -> tuple[tuple[int, int, int], ...]:
    """(λ2, λ1, λ'') index triples with λ'' = λ2 − λ1 among the odd λ (the X terms that occur)."""
    odd = {lam: k for k, lam in enumerate(LAMBDA_ODD)}
    out = []
    for l2, (e2, u2) in enumerate(LAMBDA_EVEN):
        for l1, (e1, u1) in enumerate(LAMBDA_ODD):
            if (e2 - e1, u2 - u1) in odd:
                out.append((l2, l1, odd[(e2 - e1, u2 - u1)]))
    return tuple(out)

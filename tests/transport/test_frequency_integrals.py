"""Fast frequency integrals (Matsubara pole sums + Abel–Plana tail, docs/physics.md §12.5) against the
independent shifted-contour trapezoid (docs/physics.md §4.2, tests/transport/reference_quadrature.py).

Accuracy of the reference itself (measured with this file's grid, relative to max|I| of a point):
* with the former runtime settings (step 0.4 T, tails x = X/σ², 80 points): 2e-9 … 7e-9 for T/U ≥ 0.1,
  3e-9 … 6e-8 at T/U = 0.01 (|ε̃| ≤ U/2; 8e-7 at ε̃ = 5U), up to 6e-6 at T/U = 1e-3, ε̃ = 5U: too coarse
  for a 1e-9 comparison at low temperature;
* refined (step 0.25 T, tails x = X/σ⁴, 200 points, REFINED below): agrees with the fast rule to
  ≤ 4e-13 everywhere except at T/U = 1e-3, |ε̃| ≥ 4U (≤ 1.4e-10), where the fast rule agrees with
  itself at doubled node counts to 6e-14, so the 1e-10 is the refined reference's own error.
The comparisons below use REFINED; the physical outputs are compared at 1e-9 of their largest value.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gpuqd.transport import SpinValve
from gpuqd.transport import frequency_integrals as fi
from gpuqd.transport.kernel import second_order_columns

REFINED = dict(step_over_t=0.25, tail_points=200, tail_power=4)
U = 1000.0
# (T/U, ε̃/U, V/U): V = 0, ε̃ = ±U/2 (ε = 0 or ε + U = 0: degenerate poles λ = ±ε or ±(ε+U)), |ε̃| ≫ U,
# resonance-line and blockade points, T/U from 1e-3 to 1.
GRID = [
    (1e-3, 0.5, 0.0),
    (1e-3, -0.5, 0.2),
    (1e-3, 0.2, 0.1),
    (1e-3, 5.0, 0.3),
    (1e-2, 0.5, 0.0),
    (1e-2, -0.5, 0.2),
    (1e-2, 0.25, -0.15),
    (1e-2, -4.0, -0.2),
    (1e-2, 0.0, 0.0),
    (0.1, 0.2, 0.1),
    (0.1, 5.0, 0.3),
    (1.0, 0.25, -0.15),
    (1.0, -0.5, 0.0),
]


def _sv(T_over_U: float, **kw) -> SpinValve:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SpinValve(
            U=kw.get("U", U),
            T=T_over_U * U,
            gamma_S=kw.get("gamma_S", 2 / 3),
            gamma_D=kw.get("gamma_D", 4 / 3),
            p_S=0.99,
            p_D=0.9,
        )


@pytest.mark.parametrize("T_over_U, eps_over_U, V_over_U", GRID)
def test_basis_integrals_match_refined_reference(reference_quadrature, T_over_U, eps_over_U, V_over_U) -> None:
    T, eps, V = T_over_U * U, eps_over_U * U - 0.5 * U, V_over_U * U
    columns = second_order_columns()
    ref = reference_quadrature.second_order_basis(eps, U, V, T, 8.0, **REFINED).ravel()[columns]
    fast = fi.second_order_basis(np.array([eps]), U, np.array([V]), T, 8.0).reshape(-1)[columns]
    assert np.abs(fast - ref).max() <= 1e-9 * np.abs(ref).max()
    first_ref = reference_quadrature.first_order_basis(eps, U, V, T, 8.0)
    first = fi.first_order_basis(np.array([eps]), U, np.array([V]), T, 8.0)[0]
    np.testing.assert_allclose(first, first_ref, rtol=1e-14, atol=1e-14)


def test_identically_vanishing_integrals_are_exact_zeros(reference_quadrature) -> None:
    """ν = 1 (a = 0) integrals vanish (analytic below the real axis, decay ln|u|/u²); the reference finds
    them ≤ its own error, the fast path returns exact zeros without computing them."""
    T, eps, V = 10.0, 0.2 * U - 0.5 * U, 0.1 * U
    ref = reference_quadrature.second_order_basis(eps, U, V, T, 8.0, **REFINED)
    fast = fi.second_order_basis(np.array([eps]), U, np.array([V]), T, 8.0)[0]
    assert np.abs(ref[:, 0]).max() <= 1e-11 * np.abs(ref).max()
    assert np.all(fast[:, 0] == 0) and np.all(fast[0, :, 0] == 0)


def test_rule_converged_against_doubled_rule() -> None:
    """The production rule agrees with a rule of about twice the nodes on the grid (measured ≤ 5e-12;
    the largest at T/U = 1e-3, |ε̃| ≥ 5U)."""
    big = fi.summation_rule(48, 0.05, 120, 48, 7.0)
    for T_over_U, e, v in GRID:
        eps, V, T = np.array([e * U - 0.5 * U]), np.array([v * U]), T_over_U * U
        a = fi.second_order_basis(eps, U, V, T, 8.0)
        b = fi.second_order_basis(eps, U, V, T, 8.0, rule=big)
        assert np.abs(a - b).max() <= 1e-11 * np.abs(b).max(), (T_over_U, e, v)


@pytest.mark.parametrize("T_over_U, eps_over_U, V_over_U", GRID[1:4] + GRID[5:8] + GRID[9:])
def test_physical_outputs_match_reference(reference_quadrature, T_over_U, eps_over_U, V_over_U) -> None:
    """I_C, I_FL, I_DL, source coefficients and the dot state (P0, P1, P2, S) from the fast path vs the
    same stationary solve with the refined reference kernel: ≤ 1e-9 of max|·| over θ, plus 1e-14 Γ
    absolute: tens of ulps of the O(Γ) rates whose differences these are; it matters only where a quantity is
    itself rounding noise (I_C at V = 0; first-order currents deep in blockade at T/U = 1e-3, ~e^{−U/2T})."""
    sv = _sv(T_over_U)
    eps, V = eps_over_U * U, V_over_U * U
    theta = np.array([1e-3, 0.1, 0.5, 1.0, 1.6, 2.2, 3.0, np.pi - 1e-3])
    kernel = reference_quadrature.reference_kernel(eps, V, sv.U, sv.T, **REFINED)[0]
    # Order 1 alone only at T/U ≥ 0.1: at lower T the first-order generator is singular to rounding in
    # blockade (relaxation ~e^{−|ε−μ|/T}), so its stationary state is undefined (docs/physics.md §4.3).
    for order in (1, 2) if T_over_U >= 0.1 else (2,):
        ref = reference_quadrature.reference_solve(sv, eps, V, theta, order, kernel=kernel)
        fast = sv.solve(eps, V, theta, order=order)
        for name in (
            "charge_current",
            "torque_field_like",
            "torque_damping_like",
            "source_field_like",
            "source_damping_like",
            "occupations",
            "dot_spin",
        ):
            a, b = getattr(fast, name), getattr(ref, name)
            assert np.abs(a - b).max() <= 1e-9 * np.abs(b).max() + 1e-14, (order, name)


@pytest.mark.parametrize(
    "T_over_U, eps_over_U, V_over_U", [(1e-2, 0.25, -0.15), (1e-2, 0.2, 0.1), (0.1, -0.3, 0.05), (1.0, 0.25, -0.15)]
)
def test_collinear_limits_match_richardson_of_reference(reference_quadrature, T_over_U, eps_over_U, V_over_U) -> None:
    """θ = 0, π: the analytic limit equals the former Richardson extrapolation (solves at θ0 ± h, ± 2h,
    h = 1e-5, error O(h⁴)) on the reference path to 1e-8 of the coefficient scale."""
    sv = _sv(T_over_U)
    eps, V = eps_over_U * U, V_over_U * U
    kernel = reference_quadrature.reference_kernel(eps, V, sv.U, sv.T, **REFINED)[0]
    h = 1e-5
    ends = sv.solve(eps, V, np.array([0.0, np.pi]))
    near = [
        reference_quadrature.reference_solve(sv, eps, V, np.array([step, np.pi - step]), kernel=kernel)
        for step in (h, 2 * h)
    ]
    for name in ("torque_field_like", "torque_damping_like", "source_field_like", "source_damping_like"):
        richardson = (4 * getattr(near[0], name) - getattr(near[1], name)) / 3
        scale = np.abs(richardson).max()
        assert np.abs(getattr(ends, name) - richardson).max() <= 1e-8 * scale, name

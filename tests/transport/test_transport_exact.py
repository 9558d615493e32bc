"""Transport vs the exact U = 0 Green's-function solution (spec §5.1): error ∝ Γ² at O(Γ), Γ³ at O(Γ²)."""

from __future__ import annotations

import numpy as np
import pytest

from gpuqd.transport import SpinValve, drain_direction

T, EPS, V, THETA, P = 1.0, 0.7, 3.0, 0.6 * np.pi, 0.6


def _errors(exact_u0, gamma_S: float, **kw) -> dict[int, dict[str, float]]:
    eps = kw.get("eps", EPS)
    bias = kw.get("V", V)
    p_S, p_D = kw.get("p_S", P), kw.get("p_D", P)
    n_S = np.asarray(kw.get("n_S", (0.0, 0.0, 1.0)))
    n_D = np.asarray(kw.get("n_D", drain_direction(THETA)))
    exact = exact_u0.exact_currents(eps, bias, T, gamma_S, 2 * gamma_S, p_S, p_D, n_S, n_D)
    sv = SpinValve(U=0.0, T=T, gamma_S=gamma_S, gamma_D=2 * gamma_S, p_S=p_S, p_D=p_D)
    out = {}
    for order in (1, 2):
        r = sv.solve_vectors(eps, bias, n_S, n_D, order=order)
        out[order] = {
            "particle": abs(float(r.charge_current) - exact["particle_D"]),
            "spin": float(np.max(np.abs(r.spin_current_drain - exact["spin_D"]))),
            "exact_particle": exact["particle_D"],
            "exact_spin": exact["spin_D"],
            "result": r,
        }
    return out


def test_spec_table_values(exact_u0) -> None:
    """The §5.1 table: exact I^N_D and the errors of O(Γ) and O(Γ)+O(Γ²)."""
    expected = {0.02: (0.012174304825, 1.67e-4, 2.02e-6), 0.01: (0.006128630984, 4.20e-5, 2.54e-7)}
    for gamma_S, (exact_value, err1, err2) in expected.items():
        e = _errors(exact_u0, gamma_S)
        assert e[1]["exact_particle"] == pytest.approx(exact_value, rel=1e-10)
        assert e[1]["particle"] == pytest.approx(err1, rel=0.01)
        assert e[2]["particle"] == pytest.approx(err2, rel=0.01)
    e = _errors(exact_u0, 0.01)
    assert e[2]["exact_spin"] == pytest.approx([8.27270e-4, 5.8781e-6, 1.193960e-3], rel=1e-5)
    # The out-of-plane y-component is absent at O(Γ) (U = 0) and reproduced at O(Γ²).
    assert abs(e[1]["result"].spin_current_drain[1]) < 1e-15
    assert e[2]["result"].spin_current_drain[1] == pytest.approx(5.8781e-6, rel=0.01)


@pytest.mark.parametrize(
    "case",
    [
        {},  # spec table parameters
        {"p_S": 0.5, "p_D": 0.8, "n_D": np.array([0.48, 0.6, 0.64])},  # unequal p, n_D out of the x–z plane
        {"eps": -0.4, "V": -1.7, "n_S": np.array([0.0, 0.6, 0.8]), "n_D": np.array([1.0, 0.0, 0.0])},
    ],
    ids=["table", "unequal-p-out-of-plane", "negative-bias-rotated-source"],
)
def test_convergence_order(exact_u0, case: dict) -> None:
    """Fit log(error) vs log(Γ) over Γ_S = 0.02, 0.01, 0.005: slopes 2 (O(Γ)) and 3 (O(Γ²))."""
    gammas = np.array([0.02, 0.01, 0.005])
    errs = [_errors(exact_u0, g, **case) for g in gammas]
    for order, expected_slope in ((1, 2.0), (2, 3.0)):
        for quantity in ("particle", "spin"):
            values = np.array([e[order][quantity] for e in errs])
            slope = np.polyfit(np.log(gammas), np.log(values), 1)[0]
            assert slope == pytest.approx(expected_slope, abs=0.12), (order, quantity, values)


def test_cotunnelling_dominated_level(exact_u0) -> None:
    """Level 8T above the bias window: the current is cotunnelling; O(Γ²) error shrinks ∝ Γ³."""
    gammas = np.array([0.02, 0.01])
    errs = [_errors(exact_u0, g, eps=9.5, V=3.0) for g in gammas]
    rel = np.array([e[2]["particle"] / e[2]["exact_particle"] for e in errs])
    assert rel[0] < 2e-3 and rel[1] < 1e-3
    ratio = errs[0][2]["particle"] / errs[1][2]["particle"]
    assert ratio > 5.0  # Γ³ scaling gives 8; the O(Γ) error (pure sequential) would scale only as Γ²

"""free="both": the torque each engine applies to the source magnet is the transverse spin current into
the source (docs/physics.md §6.1), I^S⊥ = I^S − (I^S·n_S) n_S, computed independently by
``SpinValve.solve_vectors`` at random (n_S, n_D); the drain gets I^D⊥ the same way.

The applied torque is read off one deterministic Heun step (S = 1, no anisotropy, field, noise or
damping, so S dm/dt = τ_S): τ ≈ S (m₁ − m₀)/dt with dt = 1e-6, whose O(dt) and rounding errors
(≈ 1e-8 of |τ|) are far below the tolerance, the table's interpolation bound 1e-4 of max|I| per point
(gpuqd.transport.torque_table.INTERPOLATION_ERROR_STATEMENT).
"""

from __future__ import annotations

import numpy as np
import pytest

from gpuqd.dynamics import ConstantTorque, EnsembleRunner, Macrospin
from gpuqd.transport import SpinValve, TorqueTable

PAPER = dict(U=1000.0, T=10.0, gamma_S=2 / 3, gamma_D=4 / 3, p_S=0.99, p_D=0.99)
# (ε̃, V) in Γ: in blockade, and outside it where the old mirror-image source torque was 14 % / 79 % off
POINTS = ((0.25 * 1000.0, -0.15 * 1000.0), (-0.1 * 1000.0, 0.3 * 1000.0), (0.05 * 1000.0, 0.45 * 1000.0))
DT = 1e-6
INTERPOLATION_BOUND = 1e-4  # of max|I| per point
BACKENDS = ["numpy", "cpu", pytest.param("cupy", marks=pytest.mark.gpu)]


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _applied(backend: str, torque, n_S: np.ndarray, n_D: np.ndarray, point_index=None) -> tuple:
    """(τ on the source, τ on the drain) applied by one step of the engine, S = 1 (ħΓ)."""
    magnet = Macrospin(S=1.0, KV=0.0, alpha=0.0, sigma2=0.0, free="both")
    runner = EnsembleRunner(magnet, torque, n_S.shape[0], DT, DT, seed=0, backend=backend, point_index=point_index)
    state = runner.get_state()
    state["n"], state["m"] = n_D.copy(), n_S.copy()
    runner.set_state(state)
    runner.advance(1)
    result = runner.result()
    return (result.final_source_direction - n_S) / DT, (result.final_direction - n_D) / DT


def _transverse(current: np.ndarray, n: np.ndarray) -> np.ndarray:
    return current - np.sum(current * n, axis=-1, keepdims=True) * n


@pytest.fixture(scope="module")
def table() -> TorqueTable:
    sv = SpinValve(**PAPER)
    eps = np.array([p[0] for p in POINTS])
    V = np.array([p[1] for p in POINTS])
    built = [TorqueTable.build(sv, [e], [v]) for e, v in zip(eps, V, strict=True)]
    return TorqueTable(
        **{
            q: np.concatenate([getattr(t, q) for t in built])
            for q in ("field_like", "damping_like", "charge_current", "source_field_like", "source_damping_like")
        }
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_source_torque_is_the_transverse_spin_current_into_the_source(backend: str, table: TorqueTable) -> None:
    rng = np.random.default_rng(12)
    per_point = 8
    n = per_point * len(POINTS)
    n_S, n_D = _unit(rng, n), _unit(rng, n)
    point_index = np.repeat(np.arange(len(POINTS)), per_point)
    tau_source, tau_drain = _applied(backend, table, n_S, n_D, point_index)

    sv = SpinValve(**PAPER)
    eps = np.array([POINTS[p][0] for p in point_index])
    V = np.array([POINTS[p][1] for p in point_index])
    reference = sv.solve_vectors(eps, V, n_S, n_D)
    expected_source = _transverse(reference.spin_current_source, n_S)
    expected_drain = _transverse(reference.spin_current_drain, n_D)
    for p in range(len(POINTS)):
        rows = point_index == p
        scale_s = max(np.abs(table.source_field_like[p]).max(), np.abs(table.source_damping_like[p]).max())
        scale_d = max(np.abs(table.field_like[p]).max(), np.abs(table.damping_like[p]).max())
        np.testing.assert_allclose(
            tau_source[rows],
            expected_source[rows],
            rtol=0,
            atol=INTERPOLATION_BOUND * scale_s,
            err_msg=f"source, point {POINTS[p]}",
        )
        np.testing.assert_allclose(
            tau_drain[rows],
            expected_drain[rows],
            rtol=0,
            atol=INTERPOLATION_BOUND * scale_d,
            err_msg=f"drain, point {POINTS[p]}",
        )
    # the source torque is not the old mirror image of the drain's (same coefficients, roles swapped)
    mirror = table.evaluate(point_index, np.sum(n_S * n_D, axis=1))[0][:, None] * np.cross(n_S, n_D) + table.evaluate(
        point_index, np.sum(n_S * n_D, axis=1)
    )[1][:, None] * np.cross(n_S, np.cross(n_S, n_D))
    assert np.max(np.abs(mirror - expected_source)) > 100 * INTERPOLATION_BOUND * scale_s


@pytest.mark.parametrize("backend", BACKENDS)
def test_constant_source_torque(backend: str) -> None:
    """ConstantTorque: τ_S = FL_S (n_S × n_D) + DL_S (n_S × (n_S × n_D)), τ_D with the drain's pair."""
    torque = ConstantTorque(0.03, -0.02, 1.0, source_field_like=-0.011, source_damping_like=0.017)
    rng = np.random.default_rng(5)
    n_S, n_D = _unit(rng, 16), _unit(rng, 16)
    tau_source, tau_drain = _applied(backend, torque, n_S, n_D)
    expected_source = -0.011 * np.cross(n_S, n_D) + 0.017 * np.cross(n_S, np.cross(n_S, n_D))
    expected_drain = 0.03 * np.cross(n_D, n_S) - 0.02 * np.cross(n_D, np.cross(n_D, n_S))
    np.testing.assert_allclose(tau_source, expected_source, rtol=0, atol=1e-8)
    np.testing.assert_allclose(tau_drain, expected_drain, rtol=0, atol=1e-8)


def test_free_source_needs_source_coefficients() -> None:
    magnet = Macrospin(S=1.0, KV=0.01, alpha=0.1, sigma2=0.0, free="both")
    with pytest.raises(ValueError, match="source torque coefficients"):
        EnsembleRunner(magnet, ConstantTorque(0.01, 0.02), 2, 0.01, 0.1, seed=0)

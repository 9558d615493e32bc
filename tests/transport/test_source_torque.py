"""Source torque (docs/physics.md §12.2): the table's source coefficients reproduce the transverse spin
current into the source from direct solves at arbitrary, non-collinear n_S, n_D."""

from __future__ import annotations

import numpy as np
import pytest

from gpuqd.transport import SpinValve, TorqueTable

U = 1000.0
PAPER = dict(U=U, T=10.0, gamma_S=2 / 3, gamma_D=4 / 3, p_S=0.99, p_D=0.99)
EPS = np.array([0.2, -0.3]) * U
V = np.array([0.1, 0.25]) * U


@pytest.fixture(scope="module")
def table() -> TorqueTable:
    return TorqueTable.build(SpinValve(**PAPER), EPS, V)


def _random_pairs(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    n_s = rng.normal(size=(n, 3))
    n_d = rng.normal(size=(n, 3))
    return n_s / np.linalg.norm(n_s, axis=-1, keepdims=True), n_d / np.linalg.norm(n_d, axis=-1, keepdims=True)


def _reconstruct(fl: np.ndarray, dl: np.ndarray, n_s: np.ndarray, n_d: np.ndarray) -> np.ndarray:
    e_fl = np.cross(n_s, n_d)
    return e_fl * fl[:, None] + np.cross(n_s, e_fl) * dl[:, None]


def test_source_torque_from_table_equals_direct_solve(table: TorqueTable) -> None:
    """At random n_S, n_D the reconstructed source transverse spin current equals the transverse part of
    ``spin_current_source`` of ``solve_vectors`` to the table's interpolation error (≤ 1e-4 of the
    largest source coefficient times sin θ, the norm of the basis vectors)."""
    sv = SpinValve(**PAPER)
    rng = np.random.default_rng(5)
    n_s, n_d = _random_pairs(rng, 200)
    for j, (e, v) in enumerate(zip(np.repeat(EPS, V.size), np.tile(V, EPS.size), strict=True)):
        r = sv.solve_vectors(e, v, n_s, n_d)
        direct = r.spin_current_source - n_s * np.sum(n_s * r.spin_current_source, axis=-1, keepdims=True)
        cos_theta = np.sum(n_s * n_d, axis=-1)
        fl, dl = table.evaluate_source(np.full(cos_theta.shape, j), cos_theta)
        rebuilt = _reconstruct(fl, dl, n_s, n_d)
        scale = max(np.abs(table.source_field_like[j]).max(), np.abs(table.source_damping_like[j]).max())
        sin_theta = np.sqrt(1.0 - cos_theta**2)
        err = np.linalg.norm(rebuilt - direct, axis=-1)
        assert np.all(err <= 1e-4 * scale * sin_theta + 1e-13 * scale), (j, err.max())


def test_source_torque_exact_at_table_nodes(table: TorqueTable) -> None:
    """At the table's own θ nodes (rotated to random frames) the reconstruction is exact to rounding."""
    sv = SpinValve(**PAPER)
    rng = np.random.default_rng(6)
    theta = table.theta_nodes[::37]
    j = 1
    e, v = np.repeat(EPS, V.size)[j], np.tile(V, EPS.size)[j]
    # random frames: n_S random, n_D at angle θ from it
    n_s, helper = _random_pairs(rng, theta.size)
    perp = helper - n_s * np.sum(helper * n_s, axis=-1, keepdims=True)
    perp /= np.linalg.norm(perp, axis=-1, keepdims=True)
    n_d = n_s * np.cos(theta)[:, None] + perp * np.sin(theta)[:, None]
    r = sv.solve_vectors(e, v, n_s, n_d)
    direct = r.spin_current_source - n_s * np.sum(n_s * r.spin_current_source, axis=-1, keepdims=True)
    rebuilt = _reconstruct(table.source_field_like[j, ::37], table.source_damping_like[j, ::37], n_s, n_d)
    scale = np.abs(direct).max()
    np.testing.assert_allclose(rebuilt, direct, atol=1e-9 * scale)


def test_source_coefficients_at_equal_couplings_are_drain_at_reversed_bias() -> None:
    """For Γ_S = Γ_D, p_S = p_D the source coefficients at V equal the drain's at −V (§12.2)."""
    sv = SpinValve(U=U, T=10.0, gamma_S=1.0, gamma_D=1.0, p_S=0.9, p_D=0.9)
    theta = np.array([0.3, 1.2, 2.5])
    fwd = sv.solve(0.2 * U, 0.1 * U, theta)
    rev = sv.solve(0.2 * U, -0.1 * U, theta)
    np.testing.assert_allclose(fwd.source_field_like, rev.torque_field_like, rtol=1e-9)
    np.testing.assert_allclose(fwd.source_damping_like, rev.torque_damping_like, rtol=1e-9)


def test_save_load_keeps_source(tmp_path, table: TorqueTable) -> None:
    loaded = TorqueTable.load(table.save(tmp_path / "t.npz"))
    np.testing.assert_array_equal(loaded.source_field_like, table.source_field_like)
    np.testing.assert_array_equal(loaded.source_damping_like, table.source_damping_like)
    synthetic = TorqueTable.from_functions([lambda th: (th, th, th)], n_theta=8)
    assert not synthetic.has_source
    with pytest.raises(ValueError, match="source"):
        synthetic.evaluate_source(0, 0.5)

"""TorqueTable: interpolation error against direct solves, persistence, synthetic tables."""

from __future__ import annotations

import numpy as np
import pytest

from gpuqd.transport import SpinValve, TorqueTable
from gpuqd.transport.torque_table import node_s, s_of_theta, theta_of_s

U = 1000.0
PAPER = dict(U=U, T=10.0, gamma_S=2 / 3, gamma_D=4 / 3, p_S=0.99, p_D=0.99)
# Points with the steepest angular features we found (narrow near θ = 0 at ε̃ = 0.05U, V = −0.342U;
# the sharp rise near θ = π at ε̃ = U/4, V = −0.15U), plus blockade, sequential and equilibrium points.
EPS = np.array([0.05, 0.25, 0.2, -0.3, -0.25]) * U
V = np.array([-0.342, -0.15, 0.1, 0.05, 0.1316]) * U


@pytest.fixture(scope="module")
def table_and_truth():
    sv = SpinValve(**PAPER)
    tables = [TorqueTable.build(sv, [e], [v]) for e, v in zip(EPS, V, strict=True)]
    rng = np.random.default_rng(11)
    theta = np.concatenate(
        [
            rng.uniform(0, np.pi, 300),
            rng.uniform(0.9 * np.pi, np.pi, 300),
            rng.uniform(0, 0.02 * np.pi, 200),
            np.pi - np.logspace(-6, -1, 50),
            np.logspace(-6, -1, 50),
        ]
    )
    truth = sv.solve(EPS[:, None], V[:, None], theta[None, :])
    return tables, theta, truth


def test_interpolation_error_below_1e_minus_4(table_and_truth) -> None:
    tables, theta, truth = table_and_truth
    for j, table in enumerate(tables):
        fl, dl, ic = table.evaluate(0, np.cos(theta))
        torque_scale = max(np.abs(table.field_like).max(), np.abs(table.damping_like).max())
        assert np.abs(fl - truth.torque_field_like[j]).max() <= 1e-4 * torque_scale
        assert np.abs(dl - truth.torque_damping_like[j]).max() <= 1e-4 * torque_scale
        assert np.abs(ic - truth.charge_current[j]).max() <= 1e-4 * np.abs(table.charge_current).max()


def test_multi_point_table_matches_single_point_tables(table_and_truth) -> None:
    tables, theta, _ = table_and_truth
    sv = SpinValve(**PAPER)
    grid = TorqueTable.build(sv, EPS[:2], V[:2], n_theta=tables[0].n_theta)
    # grid point j = (eps[j // nV], V[j % nV]); point 0 = (EPS[0], V[0]), point 3 = (EPS[1], V[1]).
    # Batched and single solves differ by rounding, amplified at the nodes nearest θ = 0, π where
    # I_FL = I⊥·e_FL/sin²θ with sin θ ~ 2e-6 (≈1e-9 relative).
    np.testing.assert_allclose(grid.field_like[0], tables[0].field_like[0], rtol=1e-8)
    np.testing.assert_allclose(grid.field_like[3], tables[1].field_like[0], rtol=1e-8)


def test_node_map_is_monotone_and_invertible() -> None:
    s = node_s(384)
    theta = theta_of_s(s)
    assert np.all(np.diff(theta) > 0) and theta[0] > 0 and theta[-1] < np.pi
    np.testing.assert_allclose(s_of_theta(theta), s, atol=1e-14)
    assert s_of_theta(np.array(0.0)) == pytest.approx(0.0, abs=1e-15)
    assert s_of_theta(np.array(np.pi)) == pytest.approx(1.0, abs=1e-12)


def test_save_load_round_trip(tmp_path, table_and_truth) -> None:
    table = table_and_truth[0][1]
    path = table.save(tmp_path / "table.npz")
    loaded = TorqueTable.load(path)
    for name in ("field_like", "damping_like", "charge_current", "eps_tilde", "V"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(table, name))
    assert loaded.metadata == table.metadata
    with np.load(path) as data:  # readable with NumPy alone
        assert data["field_like"].shape == table.field_like.shape


def test_synthetic_table_reproduces_smooth_functions() -> None:
    table = TorqueTable.from_functions([lambda th: (np.cos(th), np.sin(th) ** 2, 0.1 + 0 * th)], n_theta=128)
    theta = np.linspace(0, np.pi, 101)
    fl, dl, ic = table.evaluate(np.zeros(101, dtype=int), np.cos(theta))
    # The log clustering at the ends costs accuracy on smooth functions there: error ≈ (C/M)⁴ θ²
    np.testing.assert_allclose(fl, np.cos(theta), atol=2e-6)
    np.testing.assert_allclose(dl, np.sin(theta) ** 2, atol=2e-6)
    np.testing.assert_allclose(ic, 0.1, atol=1e-12)


def test_bad_table_rejected() -> None:
    with pytest.raises(ValueError, match="non-finite"):
        TorqueTable(field_like=np.full((1, 8), np.nan), damping_like=np.zeros((1, 8)), charge_current=np.zeros((1, 8)))
    with pytest.raises(ValueError, match="shape"):
        TorqueTable(field_like=np.zeros((1, 8)), damping_like=np.zeros((2, 8)), charge_current=np.zeros((1, 8)))


# ---------------------------------------------------------------------- the one table builder
SMALL = dict(U=100.0, T=10.0, gamma_S=0.6667, gamma_D=1.3333, p_S=0.9, p_D=0.9)
SMALL_EPS = np.array([-0.3, 0.1, 0.25]) * 100.0
SMALL_V = np.array([-0.2, 0.0, 0.15]) * 100.0


def _small_sv() -> SpinValve:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SpinValve(**SMALL)


def test_build_is_independent_of_block_size_and_reports_progress() -> None:
    sv = _small_sv()
    calls: list[tuple[int, int]] = []
    reference = TorqueTable.build(sv, SMALL_EPS, SMALL_V, n_theta=48, block_points=9)
    blocked = TorqueTable.build(
        sv, SMALL_EPS, SMALL_V, n_theta=48, block_points=2, progress=lambda done, total: calls.append((done, total))
    )
    for name in ("field_like", "damping_like", "charge_current", "source_field_like", "source_damping_like"):
        np.testing.assert_array_equal(getattr(blocked, name), getattr(reference, name))
    assert calls == [(2, 9), (4, 9), (6, 9), (8, 9), (9, 9)]
    assert blocked.metadata == reference.metadata


def test_build_block_cache_resumes(tmp_path, monkeypatch) -> None:
    sv = _small_sv()
    first = TorqueTable.build(sv, SMALL_EPS, SMALL_V, n_theta=16, block_points=4, cache_dir=tmp_path / "blocks")
    assert len(list((tmp_path / "blocks").glob("block_*.npz"))) == 3

    def refuse(*args, **kwargs):
        raise AssertionError("solved although every block is cached")

    monkeypatch.setattr(sv, "solve", refuse)
    again = TorqueTable.build(sv, SMALL_EPS, SMALL_V, n_theta=16, block_points=4, cache_dir=tmp_path / "blocks")
    np.testing.assert_array_equal(again.field_like, first.field_like)
    with pytest.raises(AssertionError, match="solved"):  # other angles: the stale blocks are not used
        TorqueTable.build(sv, SMALL_EPS, SMALL_V, n_theta=17, block_points=4, cache_dir=tmp_path / "blocks")


def test_build_extra_angles_and_metadata(tmp_path) -> None:
    sv = _small_sv()
    extra = np.array([0.0, 0.01 * np.pi, 0.99 * np.pi, np.pi])
    table = TorqueTable.build(sv, SMALL_EPS[:2], SMALL_V[:1], n_theta=16, extra_theta=extra, cache_key="abc")
    direct = sv.solve(SMALL_EPS[:2, None], SMALL_V[:1, None], extra[None, :])
    np.testing.assert_array_equal(table.extra["theta"], extra)
    np.testing.assert_allclose(table.extra["field_like"], direct.torque_field_like, rtol=1e-12, atol=0)
    np.testing.assert_allclose(table.extra["source_damping_like"], direct.source_damping_like, rtol=1e-12, atol=0)
    assert {
        "transport",
        "order",
        "n_theta",
        "units",
        "layout",
        "gpuqd",
        "cache_key",
        "built_by",
        "theta_min",
        "theta_mid",
        "interpolation_error_statement",
        "backend",
    } <= set(table.metadata)
    assert table.metadata["cache_key"] == "abc"
    loaded = TorqueTable.load(table.save(tmp_path / "t.npz"))
    np.testing.assert_array_equal(loaded.extra["charge_current"], table.extra["charge_current"])
    # the table nodes are the run layer's nodes: theta_of_s(node_s(n_theta))
    np.testing.assert_array_equal(table.theta_nodes, theta_of_s(node_s(16)))

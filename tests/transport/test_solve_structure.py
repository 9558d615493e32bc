"""Structure of the solves: each (ε̃, V) kernel is built once, order 1 builds no second-order integrals,
the angular (sin θ, cos θ) form of the kernel equals the general one, same answers for any blocking."""

from __future__ import annotations

import numpy as np
import pytest

from gpuqd.transport import SpinValve, drain_direction
from gpuqd.transport import frequency_integrals as fi
from gpuqd.transport import kernel as kernel_module

PAPER = dict(U=1000.0, T=10.0, gamma_S=2 / 3, gamma_D=4 / 3, p_S=0.99, p_D=0.99)


def test_solve_builds_each_kernel_once_including_collinear(monkeypatch) -> None:
    sv = SpinValve(**PAPER)
    built: list[int] = []
    original = kernel_module.integral_vector

    def counting(eps_tilde, V, *args, **kwargs):
        built.append(len(eps_tilde))
        return original(eps_tilde, V, *args, **kwargs)

    monkeypatch.setattr("gpuqd.transport.spin_valve.integral_vector", counting)
    eps = np.linspace(-0.5, 0.5, 5)[:, None, None] * 1000.0
    bias = np.linspace(-0.3, 0.3, 3)[None, :, None] * 1000.0
    theta = np.array([0.0, 0.01, 0.5, 1.5, 3.0, np.pi - 1e-9, np.pi])[None, None, :]
    r = sv.solve(eps, bias, theta)
    assert sum(built) == 15
    assert np.all(np.isfinite(r.torque_field_like)) and np.all(np.isfinite(r.source_damping_like))


def test_order_one_computes_no_second_order_integrals(monkeypatch) -> None:
    sv = SpinValve(**PAPER)

    def refuse(*args, **kwargs):
        raise AssertionError("second-order integrals computed for order=1")

    monkeypatch.setattr(fi, "second_order_basis", refuse)
    monkeypatch.setattr(kernel_module, "second_order_basis", refuse)
    sv.solve(200.0, 100.0, np.array([0.0, 1.0, np.pi]), order=1)
    sv.solve_vectors(200.0, 100.0, (0, 0, 1), drain_direction(1.0), order=1)


@pytest.mark.parametrize("order", [1, 2])
def test_angular_form_equals_general_kernel(order: int) -> None:
    """solve (angular polynomial kernel) and solve_vectors (general 72-coefficient kernel) agree. Order 1
    at a sequential-tunnelling point (in blockade its generator is singular to rounding, §4.3)."""
    sv = SpinValve(**PAPER)
    theta = np.array([1e-3, 0.4, 1.3, 2.9, np.pi - 1e-3])
    eps, bias = (250.0, -150.0) if order == 2 else (400.0, 400.0)
    a = sv.solve(eps, bias, theta, order=order)
    b = sv.solve_vectors(eps, bias, (0, 0, 1), drain_direction(theta), order=order)
    for name in (
        "charge_current",
        "torque_field_like",
        "torque_damping_like",
        "source_field_like",
        "source_damping_like",
        "dot_spin",
        "occupations",
    ):
        x, y = getattr(a, name), getattr(b, name)
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-11 * np.abs(y).max(), err_msg=name)


def test_solve_independent_of_batch_composition() -> None:
    """A point's result is bit-identical whether solved alone or inside a larger batch."""
    sv = SpinValve(**PAPER)
    theta = np.array([0.0, 0.3, 2.0, np.pi])
    alone = sv.solve(200.0, 100.0, theta)
    batch = sv.solve(np.array([-300.0, 200.0, 450.0])[:, None], np.array([50.0, 100.0, -20.0])[:, None], theta[None, :])
    np.testing.assert_array_equal(batch.torque_field_like[1], alone.torque_field_like)
    np.testing.assert_array_equal(batch.charge_current[1], alone.charge_current)


def test_bad_backend_and_order_rejected() -> None:
    with pytest.raises(ValueError, match="backend"):
        SpinValve(**PAPER, backend="torch")
    with pytest.raises(ValueError, match="order"):
        SpinValve(**PAPER).solve(0.0, 0.0, 1.0, order=3)


def test_table_nodes_near_collinear_are_not_limits(monkeypatch) -> None:
    """The first and last table nodes (θ ≈ 7.7e-7, π − 7.7e-7) are solved directly, not as collinear limits."""
    from gpuqd.transport import TorqueTable

    def refuse(*args, **kwargs):
        raise AssertionError("collinear path used for a table node")

    monkeypatch.setattr("gpuqd.transport.spin_valve.collinear_limits", refuse)
    table = TorqueTable.build(SpinValve(**PAPER), [250.0], [-150.0])
    assert 0 < table.theta_nodes[0] < 1e-6 and np.isfinite(table.field_like).all()

"""Deterministic limit (σ² = 0): order-2 convergence, free precession, FMR χ (docs/physics.md §6.3, §6.5)."""

from __future__ import annotations

import numpy as np
import pytest
from llg_oracles import deterministic_trajectory, fmr_susceptibility

from gpuqd.dynamics import ConstantTorque, Macrospin, run_ensemble


def _rotation(angle_z: float, angle_x: float) -> np.ndarray:
    cz, sz, cx, sx = np.cos(angle_z), np.sin(angle_z), np.cos(angle_x), np.sin(angle_x)
    rz = np.array([[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]])
    return rx @ rz


def test_heun_converges_at_order_two_against_solve_ivp() -> None:
    axes = _rotation(0.3, 0.2)
    model = dict(
        S=1.3,
        alpha=0.15,
        KV=0.5,
        field=np.array([0.1, 0.05, 0.2]),
        K_cubic=0.1,
        axes=axes,
        ac=(0.05, 0.7),
        fl=0.1,
        dl=0.03,
    )
    magnet = Macrospin(
        S=1.3,
        KV=0.5,
        alpha=0.15,
        sigma2=0.0,
        K_cubic=0.1,
        cubic_axes=axes,
        field=(0.1, 0.05, 0.2),
        ac_field=(0.05, 0.7),
    )
    torque = ConstantTorque(field_like=0.1, damping_like=0.03)
    theta0, t_end = 1.0, 12.0
    exact = deterministic_trajectory(np.array([np.sin(theta0), 0.0, np.cos(theta0)]), t_end, **model)
    steps = np.array([0.16, 0.08, 0.04, 0.02])
    errors = []
    for dt in steps:
        res = run_ensemble(magnet, torque, n_traj=1, dt=dt, t_end=t_end, seed=0, backend="numpy", initial_theta=theta0)
        n = res.final_direction[0]
        assert abs(np.linalg.norm(n) - 1.0) < 1e-14
        errors.append(np.linalg.norm(n - exact))
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert 1.85 < slope < 2.15, (slope, errors)
    assert errors[-1] < 1e-4


def test_undamped_precession_frequency() -> None:
    S, KV, field_z, theta0 = 2.0, 0.5, 0.1, 0.6
    magnet = Macrospin(S=S, KV=KV, alpha=0.0, sigma2=0.0, field=(0.0, 0.0, field_z))
    res = run_ensemble(
        magnet,
        ConstantTorque(0.0, 0.0),
        n_traj=1,
        dt=0.01,
        t_end=100.0,
        seed=0,
        backend="numpy",
        initial_theta=theta0,
        sample_every=10,
        sample_trajectories=[0],
    )
    n = res.sample_directions[0]
    omega = (KV * np.cos(theta0) + field_z) / S
    phase = np.unwrap(np.arctan2(-n[:, 1], n[:, 0]))  # n = (sin θ cos ωt, −sin θ sin ωt, cos θ)
    fitted = np.polyfit(res.sample_times, phase, 1)[0]
    assert fitted == pytest.approx(omega, rel=1e-5)
    np.testing.assert_allclose(n[:, 2], np.cos(theta0), atol=1e-10)


def _lock_in_susceptibility(
    omega: float, steps_per_period: int = 1600, transient_periods: int = 20, lock_in_periods: int = 8
) -> tuple[complex, complex]:
    S, alpha, H0, fl, dl, h = 1.0, 0.1, 0.5, 0.2, 0.01, 1e-5
    dt = 2.0 * np.pi / (omega * steps_per_period)
    n_steps = (transient_periods + lock_in_periods) * steps_per_period
    magnet = Macrospin(S=S, KV=H0, alpha=alpha, sigma2=0.0, ac_field=(h, omega))
    res = run_ensemble(
        magnet,
        ConstantTorque(fl, dl),
        n_traj=1,
        dt=dt,
        t_end=n_steps * dt,
        seed=0,
        backend="numpy",
        sample_every=1,
        sample_trajectories=[0],
    )
    window = slice(transient_periods * steps_per_period, n_steps)
    n_x, t = res.sample_directions[0, window, 0], res.sample_times[window]
    norm = 2.0 / (h * lock_in_periods * steps_per_period)  # whole periods: rectangle rule is exact
    measured = norm * np.sum(n_x * np.cos(omega * t)) + 1j * norm * np.sum(n_x * np.sin(omega * t))
    return measured, fmr_susceptibility(S, alpha, H0, fl, dl, omega)


@pytest.mark.slow
def test_fmr_susceptibility_at_resonance() -> None:
    measured, exact = _lock_in_susceptibility(0.7)
    assert abs(measured.real / exact.real - 1.0) < 1e-3
    assert abs(measured.imag / exact.imag - 1.0) < 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("omega", [0.5, 0.9])
def test_fmr_susceptibility_off_resonance(omega: float) -> None:
    measured, exact = _lock_in_susceptibility(omega)
    assert abs(measured - exact) / abs(exact) < 1e-3
    assert abs(measured.real / exact.real - 1.0) < 2e-3

"""The noise guard is derived from the engines' own 5 % norm check (docs/physics.md §15).

* the χ²₃ tail used by the guard against scipy's χ² distribution (an independent implementation);
* the critical rotation solves its defining equation;
* the issue's case (KV = 1, T_m = 0.25, α = 0.5, S = 1): dt = 0.1 is refused by the guard and does trip
  the engine's norm check (the guard is needed), while the largest dt the guard admits runs 4.5·10⁶
  trajectory-steps without tripping it. False-positive rate of the last test: the guard bounds the
  probability of any trip in 10¹³ trajectory-steps by 10⁻³, so in 4.5·10⁶ by < 10⁻⁹ (fixed seed anyway).
"""

from __future__ import annotations

import math
import warnings

import pytest
from scipy import stats

from gpuqd.dynamics import ConstantTorque, EnsembleRunner, Macrospin
from gpuqd.dynamics.stability import (
    NORM_DRIFT_LIMIT,
    chi2_3_tail,
    critical_rotation,
    max_noise_rotation,
    time_step_limits,
)

ISSUE_MAGNET = Macrospin(S=1.0, KV=1.0, alpha=0.5, sigma2=2 * 0.5 * 0.25)


@pytest.mark.parametrize("y", [0.5, 3.0, 20.0, 77.6, 150.0])
def test_chi2_tail_matches_scipy(y):
    assert chi2_3_tail(y) == pytest.approx(stats.chi2.sf(y, 3), rel=1e-9)


@pytest.mark.parametrize(("S", "alpha"), [(1.0, 0.1), (1.0, 0.5), (2.0, 0.017)])
def test_critical_rotation_solves_its_equation(S, alpha):
    rho = critical_rotation(S, alpha)
    g = (S + alpha) ** 2 / (S * S + alpha * alpha)
    assert 0.25 * g * rho**4 * (1 + rho) ** 2 == pytest.approx(NORM_DRIFT_LIMIT, rel=1e-9)
    assert 0 < max_noise_rotation(S, alpha) < rho / 8  # the 10¹³-draw quantile of |ξ| is ≈ 8.8


def _run(dt: float, n_traj: int, steps: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runner = EnsembleRunner(
            ISSUE_MAGNET, ConstantTorque(0.0, 0.0), n_traj=n_traj, dt=dt, t_end=steps * dt, seed=1, backend="numpy"
        )
    while not runner.done:
        runner.advance(500)


def test_refused_dt_of_the_issue_trips_the_engine_check(monkeypatch):
    _, _, per_sqrt_dt, dt_noise = time_step_limits(ISSUE_MAGNET, 0.0)
    assert dt_noise == pytest.approx(0.01456, rel=1e-3) and 0.1 > dt_noise
    assert per_sqrt_dt * math.sqrt(0.1) == pytest.approx(0.1414, rel=1e-3)  # the issue's 0.14 rad
    with pytest.raises(ValueError, match="too large for the noise"):
        _run(0.1, 10, 10)  # the engine's own guard refuses it up front
    monkeypatch.setattr("gpuqd.dynamics.engine_config.check_time_step", lambda *a, **k: None)  # run it anyway
    with pytest.raises(RuntimeError, match="drift"):
        _run(0.1, 4000, 1000)


@pytest.mark.slow
def test_largest_admitted_dt_does_not_trip_the_engine_check():
    _, _, _, dt_noise = time_step_limits(ISSUE_MAGNET, 0.0)
    _run(math.floor(dt_noise * 1e4) / 1e4, 1500, 3000)

"""Stochastic oracles on NumPy: Boltzmann distribution (spec §6.3) and the exact mean first-passage
time (spec §10). Seeds are fixed; the stated false-positive rates apply to fresh seeds."""

from __future__ import annotations

import numpy as np
import pytest
from llg_oracles import boltzmann_nz_cdf, mean_first_passage_time
from scipy import stats

from gpuqd.dynamics import ConstantTorque, EnsembleRunner, Macrospin, run_ensemble

# Relative O(dt) bias allowance of the first-passage mean. Measured: dt = 0.2, 0.1, 0.05 agree with
# the exact τ within 1 standard error (≈1.1 %) at both parameter sets, i.e. |bias| ≲ 1 %.
MFPT_DT_BIAS = 0.01


def _equilibrium_nz(field_like: float, backend: str = "numpy", n_traj: int = 4000) -> np.ndarray:
    """n_z of many independent trajectories at t = 20 ≈ 10 relaxation times (one sample each)."""
    magnet = Macrospin(S=1.0, KV=1.0, alpha=1.0, T_m=0.5)
    initial = np.where(np.arange(n_traj) % 2 == 0, 0.0, np.pi)
    res = run_ensemble(
        magnet,
        ConstantTorque(field_like, 0.0),
        n_traj=n_traj,
        dt=0.01,
        t_end=20.0,
        seed=11,
        backend=backend,
        initial_theta=initial,
    )
    return res.final_direction[:, 2]


@pytest.mark.parametrize("field_like", [0.0, 0.3])
def test_boltzmann_distribution_of_nz(field_like: float) -> None:
    """KS test of p(n_z) ∝ exp[(KV n_z²/2 + I_FL n_z)/T_m] (I_DL = 0); false-positive rate 1e-3."""
    u = _equilibrium_nz(field_like)
    result = stats.kstest(u, lambda x: boltzmann_nz_cdf(x, KV=1.0, T_m=0.5, fl=field_like))
    assert result.pvalue > 1e-3, result


def _first_passage_mean(params: dict, dt: float, n_traj: int, seed: int, backend: str = "numpy"):
    tau = mean_first_passage_time(**params, u_start=1.0, u_target=-0.5)
    magnet = Macrospin(S=params["S"], KV=params["KV"], alpha=params["alpha"], sigma2=params["sigma2"])
    t_end = dt * round(40.0 * tau / dt)
    runner = EnsembleRunner(
        magnet,
        ConstantTorque(params["fl"], params["dl"]),
        n_traj=n_traj,
        dt=dt,
        t_end=t_end,
        seed=seed,
        backend=backend,
        switch_threshold=0.5,
    )
    chunk = round(tau / dt)
    while not runner.done:  # stop once every trajectory has switched
        runner.advance(chunk)
        if np.all(runner.get_state()["first_switch_step"] >= 0):
            break
    fpt = runner.result().first_passage_time
    assert np.all(np.isfinite(fpt))
    return tau, fpt.mean(), fpt.std(ddof=1) / np.sqrt(n_traj)


MFPT_CASES = {
    # thermally assisted anti-damping switching, τ ≈ 145
    "antidamping": dict(S=1.0, alpha=0.2, KV=0.1, sigma2=0.008, fl=0.03, dl=0.025),
    # field-like torque favouring AP (I_DL = 0), τ ≈ 515
    "fieldlike": dict(S=1.0, alpha=0.1, KV=0.05, sigma2=0.004, fl=-0.03, dl=0.0),
}


@pytest.mark.parametrize(
    ("case", "dt"), [("antidamping", 0.1), pytest.param("fieldlike", 0.2, marks=pytest.mark.slow)]
)
def test_mean_first_passage_time_matches_exact_formula(case: str, dt: float) -> None:
    tau, mean, sem = _first_passage_mean(MFPT_CASES[case], dt=dt, n_traj=3000, seed=5)
    assert abs(mean - tau) < 3.0 * sem + MFPT_DT_BIAS * tau, (tau, mean, sem)

"""Helpers shared by the engine tests (tests/dynamics): a small synthetic torque table, the Boltzmann
sample, the P→AP first-passage mean with its standard error, the parameter sets and the dt-bias allowance
(docs/physics.md §6.3, §10). A plain module, not a test."""

from __future__ import annotations

import numpy as np
from llg_oracles import mean_first_passage_time

from gpuqd.dynamics import ConstantTorque, EnsembleRunner, Macrospin, run_ensemble
from gpuqd.transport import TorqueTable


def synthetic_table(n_theta: int, with_source: bool = True) -> TorqueTable:
    """Two grid points of smooth I_FL, I_DL, I_C(θ) (Γ); with source coefficients different from the
    drain's (used with free="both")."""
    table = TorqueTable.from_functions(
        [lambda th, a=a: (0.05 * np.cos(th) + a, 0.03 * np.sin(th) ** 2 - 0.01, 1.0 + a * th) for a in (0.02, -0.04)],
        n_theta=n_theta,
    )
    if with_source:
        theta = table.theta_nodes
        table.source_field_like = np.stack([0.04 - 0.02 * np.cos(theta), -0.01 + 0.0 * theta])
        table.source_damping_like = np.stack([-0.02 * np.sin(theta) ** 2, 0.015 * np.cos(theta)])
    return table


# Relative O(dt) bias allowance of the first-passage mean. Measured: dt = 0.2, 0.1, 0.05 agree with
# the exact τ within 1 standard error (≈1.1 %) at both parameter sets, i.e. |bias| ≲ 1 %.
MFPT_DT_BIAS = 0.01


def equilibrium_nz(field_like: float, backend: str = "numpy", n_traj: int = 4000) -> np.ndarray:
    """n_z of many independent trajectories at t = 20 ≈ 10 relaxation times (one sample each)."""
    magnet = Macrospin(S=1.0, KV=1.0, alpha=1.0, T_m=0.5)
    initial = np.where(np.arange(n_traj) % 2 == 0, 0.0, np.pi)
    res = run_ensemble(
        magnet,
        ConstantTorque(field_like, 0.0),
        n_traj=n_traj,
        dt=0.00625,  # per-step noise rotation 0.056 rad: within the noise guard (gpuqd.dynamics.stability)
        t_end=20.0,
        seed=11,
        backend=backend,
        initial_theta=initial,
    )
    return res.final_direction[:, 2]


def first_passage_mean(params: dict, dt: float, n_traj: int, seed: int, backend: str = "numpy"):
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

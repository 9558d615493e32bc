"""Simulated FMR and the torques the small-angle motion sees (docs/physics.md §6.5); no files, no config.

Units: energies and frequencies in Γ (ħ = 1), times in 1/Γ, S in ħ; χ per unit drive energy h (1/Γ).

* **Linearised torques.** The macrospin precesses about n = +e_z (P) or −e_z (AP). Its small-angle
  response only sees the torque coefficients at the equilibrium direction, i.e. the collinear limits
  I_FL(θ → 0), I_DL(θ → 0) for P and I_FL(θ → π), I_DL(θ → π) for AP. The maps use
  ``SpinValve.solve`` at θ = 0 and θ = π exactly (it returns these limits, Richardson-extrapolated),
  not the torque table and not the θ = 0.01π / 0.99π readout solves (near π the coefficients still
  change by ~10 % between 0.99π and π).
* **Stiffness.** H_0 = KV (uniaxial easy axis); a static external field B along +e_z has the torque of
  a field-like term, so I_FL + B enters ω_0 (``gpuqd.observables.fmr`` module docstring): P: ω_0 = KV + I_FL + B,
  AP: ω_0 = KV − I_FL − B, I_DL,eff = ±I_DL.
* **Simulated FMR** (:func:`simulate_fmr`): the ensemble engine is driven by −h cos(Ωt) n_x
  (``Macrospin.ac_field``); after a settling time of ``settle_decays`` relaxation times 1/Γ_relax the
  response n_x(t) is locked in over whole periods: χ' = (2/hT) ∫ n_x cos Ωt, χ'' = (2/hT) ∫ n_x sin Ωt.
  The engine has one drive frequency per run, so frequencies are looped (one EnsembleRunner per Ω);
  all points (and trajectories) of one Ω run in one batch.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from gpuqd.observables import fmr

__all__ = [
    "STATE_THETA",
    "SimulatedFMR",
    "collinear_torques",
    "frequency_steps",
    "linearised_torques",
    "samples_per_period",
    "simulate_fmr",
    "simulation_omegas",
    "spectrum_window",
]

STATE_THETA = MappingProxyType({"parallel": 0.0, "antiparallel": math.pi})


# --------------------------------------------------------------------------------------- torques
def collinear_torques(spin_valve: Any, eps_tilde: np.ndarray, V: np.ndarray, order: int = 2) -> dict[str, np.ndarray]:
    """I_FL, I_DL (Γ) at θ = 0 and θ = π exactly (collinear limits of ``SpinValve.solve``).

    ``eps_tilde`` and ``V`` (Γ) broadcast; returns ``field_like_parallel``, ``damping_like_parallel``,
    ``field_like_antiparallel``, ``damping_like_antiparallel`` of the broadcast shape.
    """
    eps = np.asarray(eps_tilde, dtype=float)[..., None]
    volt = np.asarray(V, dtype=float)[..., None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = spin_valve.solve(eps, volt, np.array([0.0, math.pi]), order=order)
    out = {}
    for j, state in enumerate(fmr.STATES):
        out[f"field_like_{state}"] = np.asarray(r.torque_field_like[..., j], dtype=float)
        out[f"damping_like_{state}"] = np.asarray(r.torque_damping_like[..., j], dtype=float)
    return out


def linearised_torques(torque: Any, state: str = "parallel", points: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """(I_FL, I_DL) in Γ that the small-angle motion about the ``state`` direction sees.

    ConstantTorque: its coefficients (shape (1,)). TorqueTable: the table interpolant at cos θ = +1
    (P) or −1 (AP) at ``points`` (table point indices; default all), i.e. the table's collinear ends.
    """
    from gpuqd.dynamics import ConstantTorque

    cos_theta = 1.0 if fmr.state_sign(state) > 0 else -1.0
    if isinstance(torque, ConstantTorque):
        return np.array([torque.field_like]), np.array([torque.damping_like])
    idx = np.arange(torque.n_points) if points is None else np.asarray(points, dtype=np.int64).ravel()
    i_fl, i_dl, _ = torque.evaluate(idx, np.full(idx.shape, cos_theta))
    return np.asarray(i_fl, dtype=float), np.asarray(i_dl, dtype=float)


# --------------------------------------------------------------------------------------- simulation
@dataclass
class SimulatedFMR:
    """Lock-in response of the driven ensemble (one row per simulated point).

    omega : (n_omega,) drive frequencies Ω (Γ).
    chi : (n_points, n_omega) complex χ = χ' + iχ'' (mean over trajectories), per unit h (1/Γ).
    chi_stderr : (n_points, n_omega) complex standard error over trajectories (NaN for one trajectory).
    chi_formula : (n_points, n_omega) exact linear-response χ (``gpuqd.observables.fmr.susceptibility``) with the
        linearised torques ``field_like``, ``damping_like`` (n_points,) (Γ; external field folded in).
    drive : h_x (Γ). settle_time, lockin_time, dt : (n_omega,) in 1/Γ; steps : (n_omega,) engine steps.
    """

    omega: np.ndarray
    chi: np.ndarray
    chi_stderr: np.ndarray
    chi_formula: np.ndarray
    field_like: np.ndarray
    damping_like: np.ndarray
    drive: float
    settle_time: np.ndarray
    lockin_time: np.ndarray
    dt: np.ndarray
    steps: np.ndarray
    state: str

    @property
    def relative_error(self) -> np.ndarray:
        """|χ_sim − χ_formula| / |χ_formula| per point and frequency."""
        return np.abs(self.chi - self.chi_formula) / np.abs(self.chi_formula)


def frequency_steps(omegas: Any, rate: float, settle_decays: float, periods: int, steps_per_period: int) -> np.ndarray:
    """Engine steps per drive frequency Ω (Γ) of :func:`simulate_fmr`: whole periods 2π/Ω lasting at least
    ``settle_decays``/``rate`` (``rate``: the slowest point's decay rate Γ_relax, in Γ), then ``periods``
    lock-in periods, ``steps_per_period`` steps each."""
    period = 2.0 * math.pi / np.atleast_1d(np.asarray(omegas, dtype=float))
    n_settle = np.ceil(float(settle_decays) / float(rate) / period - 1e-9).astype(np.int64)
    return (n_settle + int(periods)) * int(steps_per_period)


def simulate_fmr(
    torque: Any,
    omegas: Any,
    *,
    S: float,
    alpha: float,
    KV: float,
    field_z: float = 0.0,
    state: fmr.State = "parallel",
    points: Any = None,
    drive: float | None = None,
    drive_angle: float = 1e-6,
    periods: int = 20,
    settle_decays: float = 12.0,
    steps_per_period: int = 800,
    samples_per_period: int = 40,
    trajectories: int = 1,
    sigma2: float = 0.0,
    seed: int = 0,
    backend: str = "numpy",
    threads: int | None = None,
) -> SimulatedFMR:
    """Drive the ensemble engine with −h cos(Ωt) n_x and lock in on n_x (simulated FMR).

    torque : ``ConstantTorque`` (one point) or ``TorqueTable`` with ``points`` (table point indices,
        default all); every point is simulated with ``trajectories`` trajectories in one engine run
        per frequency (frequencies are looped). omegas : drive frequencies Ω > 0 (Γ).
    S (ħ), alpha ([G] form), KV (Γ), field_z (static field along +e_z, Γ): the magnet.
    state : "parallel" (start at +e_z) or "antiparallel" (start at −e_z).
    drive : h_x (Γ); None: h_x = drive_angle / max|χ| (formula at the points' resonances and at
        ``omegas``), so the precession cone stays ≈ drive_angle rad (linear regime).
    periods : lock-in periods; settle_decays : wait (whole periods) ≥ settle_decays/Γ_relax first,
        Γ_relax = the slowest point's decay rate, so the transient is suppressed by e^(−settle_decays).
    steps_per_period : dt = 2π/(Ω steps_per_period); samples_per_period : n_x samples per period
        used by the lock-in (must divide steps_per_period; the rectangle rule over whole periods is
        exact for harmonics below samples_per_period).
    sigma2 : thermal field variance (Γ²/Γ); > 0 averages the response over ``trajectories`` noisy
        trajectories (the result is then the thermal average, which deviates from the T = 0 formula).
    seed, backend, threads : noise key, engine and the cpu engine's OpenMP threads (None: its default;
        results do not depend on it), as in :class:`gpuqd.dynamics.EnsembleRunner`.

    Raises ValueError if a point is linearly unstable (no steady state to lock in on).
    """
    from gpuqd.dynamics import ConstantTorque, EnsembleRunner, EnsembleSpec, Macrospin

    omegas = np.atleast_1d(np.asarray(omegas, dtype=float))
    if omegas.ndim != 1 or not np.all(np.isfinite(omegas)) or np.any(omegas <= 0):
        raise ValueError("omegas must be a 1-D array of finite frequencies > 0 (Γ)")
    if steps_per_period < 8 or samples_per_period < 4 or steps_per_period % samples_per_period:
        raise ValueError("need steps_per_period >= 8, samples_per_period >= 4 dividing steps_per_period")
    if periods < 1 or trajectories < 1 or settle_decays < 0:
        raise ValueError("periods and trajectories must be >= 1, settle_decays >= 0")
    i_fl, i_dl = linearised_torques(torque, state, points)
    fl_total = i_fl + field_z
    params: dict[str, Any] = {
        "S": S,
        "alpha": alpha,
        "field": KV,
        "field_like": fl_total,
        "damping_like": i_dl,
        "state": state,
    }
    stable = fmr.is_stable(**params)
    if not np.all(stable):
        raise ValueError(
            f"{state} state is linearly unstable at points {np.flatnonzero(~stable).tolist()} "
            f"(α_eff ω_0 <= 0): no steady-state response to lock in on"
        )
    rate = fmr.relaxation_rate(**params)
    chi_formula = fmr.susceptibility(
        omegas[None, :], **{**params, "field_like": fl_total[:, None], "damping_like": i_dl[:, None]}
    )
    if drive is None:
        omega_r = np.abs(fmr.resonance_frequency(S=S, field=KV, field_like=fl_total, state=state))
        chi_res = fmr.susceptibility(omega_r, **params)
        drive = float(drive_angle / max(np.abs(chi_formula).max(), np.abs(chi_res).max()))
    n_points = fl_total.size
    if isinstance(torque, ConstantTorque):
        point_index = None
    else:
        idx = np.arange(torque.n_points) if points is None else np.asarray(points, dtype=np.int64).ravel()
        point_index = np.repeat(idx, trajectories)
    n_traj = n_points * trajectories
    theta0 = STATE_THETA[state]
    sample_every = steps_per_period // samples_per_period
    chi = np.empty((n_points, omegas.size), dtype=complex)
    stderr = np.full((n_points, omegas.size), complex(np.nan, np.nan))
    out_dt, out_settle, out_lock, out_steps = (np.empty(omegas.size) for _ in range(4))
    all_steps = frequency_steps(omegas, float(rate.min()), settle_decays, periods, steps_per_period)
    for k, omega in enumerate(omegas):
        period = 2.0 * math.pi / omega
        steps = int(all_steps[k])
        n_settle = steps // steps_per_period - periods
        dt = period / steps_per_period
        magnet = Macrospin(S=S, KV=KV, alpha=alpha, sigma2=sigma2, field=(0.0, 0.0, field_z), ac_field=(drive, omega))
        spec = EnsembleSpec(
            magnet,
            torque,
            n_traj,
            dt,
            steps * dt,
            seed,
            initial_theta=theta0,
            point_index=point_index,
            sample_every=sample_every,
            sample_trajectories=np.arange(n_traj),
        )
        runner = EnsembleRunner(spec, backend=backend, threads=threads)
        while not runner.done:
            runner.advance(50_000)
        res = runner.result()
        first = n_settle * samples_per_period
        window = slice(first, first + periods * samples_per_period)
        n_x = np.asarray(res.sample_directions[:, window, 0], dtype=float)  # (n_traj, samples)
        phase = omega * np.asarray(res.sample_times[window], dtype=float)
        norm = 2.0 / (drive * n_x.shape[1])
        per_traj = norm * (n_x @ np.cos(phase) + 1j * (n_x @ np.sin(phase)))
        per_point = per_traj.reshape(n_points, trajectories)
        chi[:, k] = per_point.mean(axis=1)
        if trajectories > 1:
            sd = per_point.real.std(axis=1, ddof=1) + 1j * per_point.imag.std(axis=1, ddof=1)
            stderr[:, k] = sd / math.sqrt(trajectories)
        out_dt[k], out_settle[k], out_lock[k], out_steps[k] = dt, n_settle * period, periods * period, steps
    return SimulatedFMR(
        omega=omegas,
        chi=chi,
        chi_stderr=stderr,
        chi_formula=chi_formula,
        field_like=fl_total,
        damping_like=i_dl,
        drive=drive,
        settle_time=out_settle,
        lockin_time=out_lock,
        dt=out_dt,
        steps=out_steps.astype(np.int64),
        state=state,
    )


def spectrum_window(
    omega_r: float, rate: float, span: float, omega_min: float | None = None, omega_max: float | None = None
) -> tuple[float, float]:
    """Frequency window (Γ) of a spectrum: |Ω_R| ± span·Γ_relax, clipped at 0, unless given explicitly."""
    lo = max(0.0, abs(omega_r) - span * rate) if omega_min is None else omega_min
    hi = abs(omega_r) + span * rate if omega_max is None else omega_max
    return lo, hi


def simulation_omegas(lo: float, hi: float, centre: float, count: int) -> np.ndarray:
    """``count`` frequencies in (lo, hi], symmetric about ``centre`` where the window allows, > 0."""
    if count == 1:
        return np.array([centre if lo < centre <= hi else 0.5 * (lo + hi)])
    half = min(centre - lo, hi - centre)
    if lo < centre < hi and half > 0.2 * (hi - lo) and lo > 0:
        values = centre + half * np.linspace(-1.0, 1.0, count)
    else:
        values = np.linspace(lo, hi, count + 1)[1:] if lo <= 0 else np.linspace(lo, hi, count)
    return values[values > 0]


def samples_per_period(steps_per_period: int) -> int:
    """Largest divisor of steps_per_period that is <= 64 (lock-in samples per period)."""
    divisors = [d for d in range(4, 65) if steps_per_period % d == 0]
    return max(divisors) if divisors else steps_per_period

"""FMR readout of a run: susceptibility maps from the transport torques and simulated FMR (issue 6).

Units: energies and frequencies in Γ (ħ = 1), times in 1/Γ, S in ħ; χ per unit drive energy h (1/Γ).

* **Linearised torques.** The macrospin precesses about n = +e_z (P) or −e_z (AP). Its small-angle
  response only sees the torque coefficients at the equilibrium direction, i.e. the collinear limits
  I_FL(θ → 0), I_DL(θ → 0) for P and I_FL(θ → π), I_DL(θ → π) for AP. The maps use
  ``SpinValve.solve`` at θ = 0 and θ = π exactly (it returns these limits, Richardson-extrapolated),
  not the torque table and not the θ = 0.01π / 0.99π readout solves (near π the coefficients still
  change by ~10 % between 0.99π and π).
* **Stiffness.** H_0 = KV (uniaxial easy axis); a static external field B along +e_z has the torque of
  a field-like term, so I_FL + B enters ω_0 (``gpuqd.fmr`` module docstring): P: ω_0 = KV + I_FL + B,
  AP: ω_0 = KV − I_FL − B, I_DL,eff = ±I_DL.
* **Simulated FMR** (:func:`simulate_fmr`): the ensemble engine is driven by −h cos(Ωt) n_x
  (``Macrospin.ac_field``); after a settling time of ``settle_decays`` relaxation times 1/Γ_relax the
  response n_x(t) is locked in over whole periods: χ' = (2/hT) ∫ n_x cos Ωt, χ'' = (2/hT) ∫ n_x sin Ωt.
  The engine has one drive frequency per run, so frequencies are looped (one EnsembleRunner per Ω);
  all points (and trajectories) of one Ω run in one batch.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gpuqd import fmr
from gpuqd.atomic_io import atomic_savez

__all__ = [
    "FMR_VARIABLES",
    "SimulatedFMR",
    "check_fmr_config",
    "collinear_torques",
    "fmr_stage",
    "linearised_torques",
    "simulate_fmr",
    "simulate_spectrum_unit",
    "spectrum_window",
]

STATE_THETA = {"parallel": 0.0, "antiparallel": math.pi}
#: Rows of the (ε̃, V) grid per collinear transport block (progress granularity).
_ROWS_PER_BLOCK = 8


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

    cos_theta = 1.0 if fmr._state_sign(state) > 0 else -1.0
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
    chi_formula : (n_points, n_omega) exact linear-response χ (``gpuqd.fmr.susceptibility``) with the
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


def simulate_fmr(
    torque: Any,
    omegas: Any,
    *,
    S: float,
    alpha: float,
    KV: float,
    field_z: float = 0.0,
    state: str = "parallel",
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

    Raises ValueError if a point is linearly unstable (no steady state to lock in on).
    """
    from gpuqd.dynamics import ConstantTorque, EnsembleRunner, Macrospin

    omegas = np.atleast_1d(np.asarray(omegas, dtype=float))
    if omegas.ndim != 1 or not np.all(np.isfinite(omegas)) or np.any(omegas <= 0):
        raise ValueError("omegas must be a 1-D array of finite frequencies > 0 (Γ)")
    if steps_per_period < 8 or samples_per_period < 4 or steps_per_period % samples_per_period:
        raise ValueError("need steps_per_period >= 8, samples_per_period >= 4 dividing steps_per_period")
    if periods < 1 or trajectories < 1 or settle_decays < 0:
        raise ValueError("periods and trajectories must be >= 1, settle_decays >= 0")
    i_fl, i_dl = linearised_torques(torque, state, points)
    fl_total = i_fl + field_z
    params = {"S": S, "alpha": alpha, "field": KV, "field_like": fl_total, "damping_like": i_dl, "state": state}
    stable = fmr.is_stable(**params)
    if not np.all(stable):
        raise ValueError(f"{state} state is linearly unstable at points {np.flatnonzero(~stable).tolist()} "
                         f"(α_eff ω_0 <= 0): no steady-state response to lock in on")
    rate = fmr.relaxation_rate(**params)
    chi_formula = fmr.susceptibility(omegas[None, :], **{**params, "field_like": fl_total[:, None],
                                                         "damping_like": i_dl[:, None]})
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
    settle_time = float(settle_decays / rate.min())
    chi = np.empty((n_points, omegas.size), dtype=complex)
    stderr = np.full((n_points, omegas.size), complex(np.nan, np.nan))
    out_dt, out_settle, out_lock, out_steps = (np.empty(omegas.size) for _ in range(4))
    for k, omega in enumerate(omegas):
        period = 2.0 * math.pi / omega
        n_settle = math.ceil(settle_time / period - 1e-9)
        steps = (n_settle + periods) * steps_per_period
        dt = period / steps_per_period
        magnet = Macrospin(S=S, KV=KV, alpha=alpha, sigma2=sigma2, field=(0.0, 0.0, field_z),
                           ac_field=(drive, omega))
        runner = EnsembleRunner(
            magnet, torque, n_traj, dt, steps * dt, seed, backend, initial_theta=theta0,
            point_index=point_index, sample_every=sample_every, sample_trajectories=np.arange(n_traj),
        )
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
    return SimulatedFMR(omega=omegas, chi=chi, chi_stderr=stderr, chi_formula=chi_formula, field_like=fl_total,
                        damping_like=i_dl, drive=drive, settle_time=out_settle, lockin_time=out_lock, dt=out_dt,
                        steps=out_steps.astype(np.int64), state=state)


def spectrum_window(omega_r: float, rate: float, span: float, omega_min: float | None = None,
                    omega_max: float | None = None) -> tuple[float, float]:
    """Frequency window (Γ) of a spectrum: |Ω_R| ± span·Γ_relax, clipped at 0, unless given explicitly."""
    lo = max(0.0, abs(omega_r) - span * rate) if omega_min is None else omega_min
    hi = abs(omega_r) + span * rate if omega_max is None else omega_max
    return lo, hi


def _simulation_omegas(lo: float, hi: float, centre: float, count: int) -> np.ndarray:
    """``count`` frequencies in (lo, hi], symmetric about ``centre`` where the window allows, > 0."""
    if count == 1:
        return np.array([centre if lo < centre <= hi else 0.5 * (lo + hi)])
    half = min(centre - lo, hi - centre)
    if lo < centre < hi and half > 0.2 * (hi - lo) and lo > 0:
        values = centre + half * np.linspace(-1.0, 1.0, count)
    else:
        values = np.linspace(lo, hi, count + 1)[1:] if lo <= 0 else np.linspace(lo, hi, count)
    return values[values > 0]


# --------------------------------------------------------------------------------------- config
def check_fmr_config(data: dict, fail: Any) -> None:
    """Cross-key checks of the ``fmr:`` section; ``fail(key_path, message)`` raises ConfigError."""
    f, mg = data["fmr"], data["magnet"]
    if len(f["spectra_eps_tilde"]) != len(f["spectra_V"]):
        fail("fmr.spectra_V", f"has {len(f['spectra_V'])} values but fmr.spectra_eps_tilde has "
                              f"{len(f['spectra_eps_tilde'])}; allowed: lists of equal length (one (ε̃, V) per point)")
    if f["omega_min"] is not None and f["omega_max"] is not None and f["omega_min"] >= f["omega_max"]:
        fail("fmr.omega_max", f"omega_max = {f['omega_max']:g} must be > omega_min = {f['omega_min']:g}")
    if "fmr" not in data["outputs"]:
        return
    if mg["anisotropy"] != "uniaxial":
        fail("magnet.anisotropy", "output fmr linearises about ±e_z with H_0 = KV; allowed: uniaxial")
    if mg["free"] != "drain":
        fail("magnet.free", "output fmr describes the drain macrospin with the source fixed; allowed: drain")
    if mg["field"][0] != 0.0 or mg["field"][1] != 0.0:
        fail("magnet.field", f"output fmr needs a static field along e_z only (±e_z must stay equilibria); "
                             f"got {mg['field']}, allowed: [0, 0, B_z]")


# --------------------------------------------------------------------------------------- pipeline
_G = ["eps_tilde", "V"]
_SP = ["spectrum_point", "state"]
FMR_VARIABLES: dict[str, dict] = {
    "fmr_states": {"dims": ["state"], "units": "",
                   "description": "state index of the fmr_* spectra arrays: 0 = parallel (n = +e_z), "
                                  "1 = antiparallel (n = −e_z); stored as +1 / −1"},
    "fmr_stiffness": {"dims": [], "units": "Gamma", "description": "H_0 = KV used in ω_0 = H_0 ± (I_FL + B_z)"},
    "fmr_external_field_z": {"dims": [], "units": "Gamma",
                             "description": "static field B_z (magnet.field[2]), folded into I_FL"},
}
for _s, _sign in (("parallel", "+"), ("antiparallel", "−")):
    FMR_VARIABLES |= {
        f"fmr_field_like_{_s}": {"dims": _G, "units": "Gamma",
                                 "description": f"collinear limit of I_FL at θ = {'0' if _sign == '+' else 'π'} "
                                                "(SpinValve.solve at θ exactly collinear)"},
        f"fmr_damping_like_{_s}": {"dims": _G, "units": "Gamma",
                                   "description": f"collinear limit of I_DL at θ = {'0' if _sign == '+' else 'π'}"},
        f"fmr_stable_{_s}": {"dims": _G, "units": "bool",
                             "description": f"{_s} state linearly stable (α_eff ω_0 > 0, gpuqd.fmr.is_stable)"},
        f"fmr_resonance_frequency_{_s}": {"dims": _G, "units": "Gamma",
                                          "description": f"Ω_R = (KV {_sign} (I_FL + B_z))/S; NaN where unstable"},
        f"fmr_effective_damping_{_s}": {"dims": _G, "units": "1",
                                        "description": f"α_eff = α/S {'−' if _sign == '+' else '+'} "
                                                       f"I_DL/(S Ω_R); NaN where unstable"},
        f"fmr_relaxation_rate_{_s}": {"dims": _G, "units": "Gamma",
                                      "description": "Γ_relax = (α ω_0 − S I_DL,eff)/(S² + α²), everywhere "
                                                     "(<= 0 where unstable)"},
        f"fmr_peak_frequency_{_s}": {"dims": _G, "units": "Gamma",
                                     "description": "Ω of the numerical extremum of the exact χ''; NaN where "
                                                    "unstable"},
        f"fmr_peak_chi_imag_{_s}": {"dims": _G, "units": "1/Gamma",
                                    "description": "χ'' at its extremum (signed), per unit drive energy; NaN "
                                                   "where unstable"},
        f"fmr_linewidth_{_s}": {"dims": _G, "units": "Gamma",
                                "description": "numerical HWHM of |χ''(Ω)|; NaN where unstable"},
    }
FMR_VARIABLES |= {
    "fmr_spectra_point_over_U": {"dims": ["spectrum_point", "xy"], "units": "U",
                                 "description": "(ε̃, V) of the spectra (exact points, not grid points)"},
    "fmr_spectra_field_like": {"dims": _SP, "units": "Gamma",
                               "description": "collinear I_FL at the spectra points (θ = 0 for P, π for AP)"},
    "fmr_spectra_damping_like": {"dims": _SP, "units": "Gamma", "description": "collinear I_DL there"},
    "fmr_spectra_stable": {"dims": _SP, "units": "bool", "description": "linear stability there"},
    "fmr_spectra_resonance_frequency": {"dims": _SP, "units": "Gamma", "description": "Ω_R there (NaN: unstable)"},
    "fmr_spectra_effective_damping": {"dims": _SP, "units": "1", "description": "α_eff there (NaN: unstable)"},
    "fmr_spectra_omega": {"dims": _SP + ["omega"], "units": "Gamma",
                          "description": "frequency axis of each spectrum (own window per point and state)"},
    "fmr_spectra_chi_real": {"dims": _SP + ["omega"], "units": "1/Gamma",
                             "description": "χ' of the exact linear response (NaN where unstable)"},
    "fmr_spectra_chi_imag": {"dims": _SP + ["omega"], "units": "1/Gamma", "description": "χ'' (exact)"},
    "fmr_spectra_chi_imag_approx": {"dims": _SP + ["omega"], "units": "1/Gamma",
                                    "description": "χ'' of [G]'s approximate form (spec §6.5)"},
}
FMR_SIM_VARIABLES: dict[str, dict] = {
    "fmr_sim_omega": {"dims": _SP + ["sim_omega"], "units": "Gamma",
                      "description": "drive frequencies of the simulated FMR (NaN-padded)"},
    "fmr_sim_chi_real": {"dims": _SP + ["sim_omega"], "units": "1/Gamma",
                         "description": "simulated χ' (lock-in of n_x over whole periods, trajectory mean)"},
    "fmr_sim_chi_imag": {"dims": _SP + ["sim_omega"], "units": "1/Gamma", "description": "simulated χ''"},
    "fmr_sim_chi_imag_stderr": {"dims": _SP + ["sim_omega"], "units": "1/Gamma",
                                "description": "standard error of the simulated χ'' over trajectories (NaN: "
                                               "one trajectory)"},
    "fmr_sim_relative_error": {"dims": _SP + ["sim_omega"], "units": "1",
                               "description": "|χ_sim − χ_formula| / |χ_formula|"},
    "fmr_sim_drive": {"dims": _SP, "units": "Gamma", "description": "drive amplitude h_x used"},
    "fmr_sim_steps": {"dims": _SP + ["sim_omega"], "units": "1", "description": "engine steps per frequency"},
}
FMR_VARIABLES |= FMR_SIM_VARIABLES
_SIM_KEYS = list(FMR_SIM_VARIABLES)


def _cached_collinear(cfg: Any, axes: dict, reporter: Any) -> dict[str, np.ndarray]:
    """Collinear torque maps over the grid, cached under ``<runs_dir>/.cache/maps``."""
    from gpuqd import pipeline

    tr = cfg.data["transport"]
    key = pipeline._transport_key(cfg, axes, "fmr_collinear", {"theta": [0.0, math.pi]})
    path = Path(cfg.data["runs_dir"]) / ".cache" / "maps" / f"{key}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as d:
                out = {k: d[k] for k in d.files}
            reporter.message(f"fmr: reusing collinear torque cache {path}")
            return out
        except Exception:
            pass
    sv = pipeline._make_spin_valve(tr)
    eps, V = axes["eps_tilde"], axes["V"]
    out = {f"{q}_{s}": np.empty((eps.size, V.size)) for q in ("field_like", "damping_like") for s in fmr.STATES}
    reporter.start("fmr transport (θ = 0, π)", eps.size * V.size, "points", work_per_unit=2.0)
    for i0 in range(0, eps.size, _ROWS_PER_BLOCK):
        i1 = min(i0 + _ROWS_PER_BLOCK, eps.size)
        block = collinear_torques(sv, eps[i0:i1, None], V[None, :], tr["order"])
        for k, v in block.items():
            out[k][i0:i1] = v
        reporter.update(i1 * V.size)
    reporter.finish()
    atomic_savez(path, **out)
    return out


def fmr_stage(cfg: Any, axes: dict, backend: str, reporter: Any, executor: Any = None, units_dir: Any = None,
              config_hash: str = "") -> tuple[dict[str, np.ndarray], list[str]]:
    """The ``fmr`` output of :func:`gpuqd.pipeline.run_pipeline`: (arrays for results.npz, notes).

    ``executor`` (optional, :mod:`gpuqd.run.execution`): run the simulated spectra as work units there,
    stored under ``units_dir`` (resume); None: in this process."""
    from gpuqd import pipeline

    f, mg, tr = cfg.data["fmr"], cfg.data["magnet"], cfg.data["transport"]
    S, alpha, KV, b_z = mg["S"], mg["alpha"], mg["KV"], mg["field"][2]
    coll = _cached_collinear(cfg, axes, reporter)
    arrays: dict[str, np.ndarray] = {
        "fmr_states": np.array([1, -1], dtype=np.int8),
        "fmr_stiffness": np.array(KV), "fmr_external_field_z": np.array(b_z),
    }
    for state in fmr.STATES:
        i_fl, i_dl = coll[f"field_like_{state}"], coll[f"damping_like_{state}"]
        maps = fmr.fmr_maps(i_fl + b_z, i_dl, S=S, alpha=alpha, field=KV, state=state)
        stable = maps["stable"]
        arrays[f"fmr_field_like_{state}"] = i_fl
        arrays[f"fmr_damping_like_{state}"] = i_dl
        arrays[f"fmr_stable_{state}"] = stable
        arrays[f"fmr_resonance_frequency_{state}"] = maps["resonance_frequency"]
        arrays[f"fmr_effective_damping_{state}"] = np.where(stable, maps["effective_damping"], np.nan)
        arrays[f"fmr_relaxation_rate_{state}"] = maps["relaxation_rate"]
        arrays[f"fmr_peak_frequency_{state}"] = maps["peak_frequency"]
        arrays[f"fmr_peak_chi_imag_{state}"] = maps["peak_chi_imag"]
        arrays[f"fmr_linewidth_{state}"] = maps["linewidth"]

    # spectra at the requested (exact) points
    unit = tr["U"] if tr["U"] > 0 else 1.0
    pts = np.array(list(zip(f["spectra_eps_tilde"], f["spectra_V"], strict=True)), dtype=float)
    sv = pipeline._make_spin_valve(tr)
    at = collinear_torques(sv, pts[:, 0] * unit, pts[:, 1] * unit, tr["order"])
    n_pts, n_om = len(pts), f["n_omega"]
    shape = (n_pts, 2)
    fl, dl = np.empty(shape), np.empty(shape)
    stable, omega_r, alpha_eff = np.zeros(shape, bool), np.full(shape, np.nan), np.full(shape, np.nan)
    omega_ax, chi_re, chi_im, chi_ap = (np.full(shape + (n_om,), np.nan) for _ in range(4))
    windows = {}
    for j, state in enumerate(fmr.STATES):
        fl[:, j], dl[:, j] = at[f"field_like_{state}"], at[f"damping_like_{state}"]
        for p in range(n_pts):
            params = {"S": S, "alpha": alpha, "field": KV, "field_like": fl[p, j] + b_z,
                      "damping_like": dl[p, j], "state": state}
            stable[p, j] = bool(fmr.is_stable(**params))
            w_r = float(fmr.resonance_frequency(S=S, field=KV, field_like=fl[p, j] + b_z, state=state))
            rate = float(fmr.relaxation_rate(**params))
            lo, hi = spectrum_window(w_r, abs(rate), f["span"], f["omega_min"], f["omega_max"])
            omega_ax[p, j] = np.linspace(lo, hi, n_om)
            if not stable[p, j]:
                continue
            omega_r[p, j] = w_r
            alpha_eff[p, j] = float(fmr.effective_damping(**params))
            chi = fmr.susceptibility(omega_ax[p, j], **params)
            chi_re[p, j], chi_im[p, j] = chi.real, chi.imag
            chi_ap[p, j] = fmr.approximate_susceptibility(omega_ax[p, j], **params).imag
            windows[p, j] = (lo, hi, abs(w_r))
    arrays |= {
        "fmr_spectra_point_over_U": pts if tr["U"] > 0 else pts * np.nan,
        "fmr_spectra_field_like": fl, "fmr_spectra_damping_like": dl, "fmr_spectra_stable": stable,
        "fmr_spectra_resonance_frequency": omega_r, "fmr_spectra_effective_damping": alpha_eff,
        "fmr_spectra_omega": omega_ax, "fmr_spectra_chi_real": chi_re, "fmr_spectra_chi_imag": chi_im,
        "fmr_spectra_chi_imag_approx": chi_ap,
    }
    notes = [
        "fmr_*: linear FMR about P (n = +e_z) and AP (n = −e_z) with the collinear torque limits at θ = 0, π "
        "(SpinValve.solve), H_0 = KV, B_z folded into I_FL; AP uses ω_0 = KV − I_FL, I_DL → −I_DL "
        "(gpuqd.fmr). Unstable points (α_eff ω_0 <= 0) are NaN in the resonance/linewidth maps.",
    ]
    if f["simulate"]:
        t0 = time.perf_counter()
        arrays |= _simulate_spectra(cfg, fl + b_z, dl, stable, windows, backend, reporter, executor, units_dir,
                                    config_hash)
        notes.append(f"fmr_sim_*: simulated FMR through the ensemble engine with the linearised (constant) "
                     f"torques, one engine run per frequency (frequencies looped), lock-in over "
                     f"{f['periods']} whole periods after >= {f['settle_decays']:g} relaxation times; "
                     f"{time.perf_counter() - t0:.1f} s.")
    return arrays, notes


def _simulate_spectra(cfg: Any, fl_total: np.ndarray, dl: np.ndarray, stable: np.ndarray, windows: dict,
                      backend: str, reporter: Any, executor: Any = None, units_dir: Any = None,
                      config_hash: str = "") -> dict[str, np.ndarray]:
    f, mg = cfg.data["fmr"], cfg.data["magnet"]
    n_sim = f["simulate_omegas"]
    shape = stable.shape + (n_sim,)
    out = {k: np.full(shape, np.nan) for k in ("fmr_sim_omega", "fmr_sim_chi_real", "fmr_sim_chi_imag",
                                                "fmr_sim_chi_imag_stderr", "fmr_sim_relative_error")}
    out["fmr_sim_steps"] = np.zeros(shape, dtype=np.int64)
    out["fmr_sim_drive"] = np.full(stable.shape, np.nan)
    sigma2 = 0.0
    if f["noise"]:
        sigma2 = mg["sigma2"] if mg["sigma2"] is not None else 2.0 * mg["alpha"] * mg["T_m"]
    jobs = sorted(windows)
    shared = {"fmr": dict(f), "magnet": dict(mg), "seed": cfg.data["seed"], "fl_total": fl_total, "dl": dl,
              "windows": dict(windows), "sigma2": sigma2, "backend": backend}
    if executor is None:
        reporter.start("fmr simulation", len(jobs), "spectra")
        results = []
        for n, (p, j) in enumerate(jobs):
            results.append(simulate_spectrum_unit(shared, n, 0, p, j))
            reporter.update(n + 1)
        reporter.finish()
    else:  # one work unit per spectrum (gpuqd.run.execution), stored in the run directory as it arrives
        from gpuqd.run.execution import UnitStore, run_chains

        store = UnitStore(units_dir, config_hash)
        results, stats = run_chains(executor, simulate_spectrum_unit, shared, len(jobs), 1, store,
                                    lambda n: jobs[n], lambda n, link, arrays: None, "fmr", reporter,
                                    label="fmr simulation")
        reporter.message(f"fmr simulation: units from the run directory {stats.reused}, computed {stats.computed}")
    for (p, j), res in zip(jobs, results, strict=True):
        k = res["omega"].size
        for name in ("omega", "chi_real", "chi_imag", "chi_imag_stderr", "relative_error", "steps"):
            out[f"fmr_sim_{name}"][p, j, :k] = res[name]
        out["fmr_sim_drive"][p, j] = res["drive"]
    return out


def simulate_spectrum_unit(shared: dict, n: int, link: int, p: int, j: int) -> dict[str, np.ndarray]:
    """Simulated FMR spectrum of point ``p`` in state ``j`` (the ``n``-th spectrum, noise seed = seed + n).

    ``shared``: the fmr and magnet sections, seed, linearised torques ``fl_total`` (B_z folded in) and
    ``dl`` (Γ), the frequency ``windows`` and σ²; a work unit of :func:`gpuqd.run.execution.run_chains`.
    """
    from gpuqd.dynamics import ConstantTorque

    f, mg = shared["fmr"], shared["magnet"]
    lo, hi, centre = shared["windows"][p, j]
    omegas = _simulation_omegas(lo, hi, centre, f["simulate_omegas"])
    # fl_total already contains B_z: pass it as the torque and field_z = 0
    sim = simulate_fmr(
        ConstantTorque(float(shared["fl_total"][p, j]), float(shared["dl"][p, j])), omegas, S=mg["S"],
        alpha=mg["alpha"], KV=mg["KV"], state=fmr.STATES[j], drive_angle=f["drive_angle"], periods=f["periods"],
        settle_decays=f["settle_decays"], steps_per_period=f["steps_per_period"],
        samples_per_period=_samples_per_period(f["steps_per_period"]), trajectories=f["trajectories"],
        sigma2=shared["sigma2"], seed=shared["seed"] + n, backend=shared["backend"],
    )
    return {"omega": omegas, "chi_real": sim.chi[0].real, "chi_imag": sim.chi[0].imag,
            "chi_imag_stderr": sim.chi_stderr[0].imag, "relative_error": sim.relative_error[0],
            "steps": sim.steps, "drive": np.array(sim.drive)}


def _samples_per_period(steps_per_period: int) -> int:
    """Largest divisor of steps_per_period that is <= 64 (lock-in samples per period)."""
    divisors = [d for d in range(4, 65) if steps_per_period % d == 0]
    return max(divisors) if divisors else steps_per_period


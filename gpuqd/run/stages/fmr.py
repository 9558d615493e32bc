"""Stage ``fmr`` (output ``fmr``): FMR readout maps from the collinear torques, spectra, simulated FMR.

The small-angle motion about P (n = +e_z) / AP (n = −e_z) sees the collinear torque limits at θ = 0, π
(``SpinValve.solve`` at exactly collinear θ; not the table, not the θ = 0.01π / 0.99π readout);
:mod:`gpuqd.observables.fmr` turns them into resonance frequency, effective damping, linewidth and
χ(Ω) (docs/physics.md §6.5). With ``fmr.simulate`` the ensemble engine is driven at a few frequencies
per spectrum (:func:`gpuqd.observables.fmr_simulation.simulate_fmr`; one work unit per spectrum,
:func:`simulate_spectrum`, mapped through ``context.executor``).

Units: energies and frequencies in Γ, χ per unit drive energy (1/Γ), times in 1/Γ.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from gpuqd.dynamics import ConstantTorque
from gpuqd.observables import fmr
from gpuqd.observables.fmr_simulation import (
    collinear_torques,
    frequency_steps,
    samples_per_period,
    simulate_fmr,
    simulation_omegas,
    spectrum_window,
)
from gpuqd.run.config.factories import make_spin_valve
from gpuqd.run.config.schema import Flag, Num, Section, Vec3
from gpuqd.run.config.typed import RunConfig, thermal_field_variance
from gpuqd.run.costs.coefficients import Costs
from gpuqd.run.costs.model import MAPS_PER_POINT, StageEstimate
from gpuqd.run.execute.checkpoint import kill_hook
from gpuqd.run.execute.execution import UnitStore
from gpuqd.run.stages.base import Fail, Stage, StageContext, StageResult
from gpuqd.run.stages.fmr_variables import VARIABLES
from gpuqd.run.store.results import point_coordinates

__all__ = ["STAGE", "FmrConfig", "SECTION", "check", "simulate_spectrum", "simulation_work"]

#: Rows of the (ε̃, V) grid per collinear transport block (progress granularity).
ROWS_PER_BLOCK = 8

SECTION = Section(
    {
        "spectra_eps_tilde": Vec3(
            default=[0.25, -0.3],
            unit="U",
            length=None,
            doc="ε̃ of the χ(Ω) spectra points (exact points, paired with spectra_V)",
        ),
        "spectra_V": Vec3(
            default=[-0.15, 0.1],
            unit="U",
            length=None,
            doc="V of the spectra points (same length as spectra_eps_tilde)",
        ),
        "span": Num(
            default=8.0,
            lo=0,
            hi=1e6,
            lo_open=True,
            doc="spectrum window |Ω_R| ± span·Γ_relax (Γ_relax ≈ linewidth), clipped at 0",
        ),
        "omega_min": Num(
            default=None,
            lo=0,
            hi=1e6,
            nullable=True,
            unit="Γ",
            doc="fixed lower end of every spectrum window (null: automatic)",
        ),
        "omega_max": Num(
            default=None,
            lo=0,
            hi=1e6,
            lo_open=True,
            nullable=True,
            unit="Γ",
            doc="fixed upper end of every spectrum window (null: automatic)",
        ),
        "n_omega": Num("int", default=401, lo=2, hi=100000, doc="formula points per spectrum"),
        "simulate": Flag(
            default=False,
            doc="also simulate FMR with the ensemble engine at the spectra points (markers over the formula)",
        ),
        "simulate_omegas": Num(
            "int", default=7, lo=1, hi=200, doc="simulated frequencies per spectrum (one engine run each)"
        ),
        "drive_angle": Num(
            default=1e-6,
            lo=0,
            hi=0.01,
            lo_open=True,
            unit="rad",
            doc="drive amplitude, as the cone angle it causes at resonance: h_x = drive_angle / max|χ|",
        ),
        "periods": Num("int", default=20, lo=1, hi=100000, doc="lock-in periods (whole periods)"),
        "settle_decays": Num(
            default=12.0,
            lo=0,
            hi=1000,
            doc="wait before the lock-in, in relaxation times 1/Γ_relax (transient suppressed by e^-settle_decays)",
        ),
        "steps_per_period": Num(
            "int", default=800, lo=64, hi=10**6, doc="time steps per drive period (dt = 2π/(Ω·steps_per_period))"
        ),
        "noise": Flag(
            default=False,
            doc="simulate at the magnet temperature (magnet.sigma2 / T_m), "
            "averaging over fmr.trajectories; false: σ² = 0",
        ),
        "trajectories": Num(
            "int", default=1, lo=1, hi=100000, doc="trajectories per simulated point (for noise: true)"
        ),
    },
    optional=True,
)


@dataclass(frozen=True)
class FmrConfig:
    """The ``fmr:`` section (points in units of U, Γ if U = 0; frequencies in Γ)."""

    spectra_eps_tilde: tuple[float, ...]
    spectra_V: tuple[float, ...]
    span: float
    omega_min: float | None
    omega_max: float | None
    n_omega: int
    simulate: bool
    simulate_omegas: int
    drive_angle: float
    periods: int
    settle_decays: float
    steps_per_period: int
    noise: bool
    trajectories: int


def check(data: dict, fail: Fail) -> None:
    """Cross-key checks of the ``fmr:`` section; ``fail(key_path, message)`` raises ConfigError."""
    f, mg = data["fmr"], data["magnet"]
    if len(f["spectra_eps_tilde"]) != len(f["spectra_V"]):
        fail(
            "fmr.spectra_V",
            f"has {len(f['spectra_V'])} values but fmr.spectra_eps_tilde has "
            f"{len(f['spectra_eps_tilde'])}; allowed: lists of equal length (one (ε̃, V) per point)",
        )
    if f["omega_min"] is not None and f["omega_max"] is not None and f["omega_min"] >= f["omega_max"]:
        fail("fmr.omega_max", f"omega_max = {f['omega_max']:g} must be > omega_min = {f['omega_min']:g}")
    if "fmr" not in data["outputs"]:
        return
    if mg["anisotropy"] != "uniaxial":
        fail("magnet.anisotropy", "output fmr linearises about ±e_z with H_0 = KV; allowed: uniaxial")
    if mg["free"] != "drain":
        fail("magnet.free", "output fmr describes the drain macrospin with the source fixed; allowed: drain")
    if mg["field"][0] != 0.0 or mg["field"][1] != 0.0:
        fail(
            "magnet.field",
            f"output fmr needs a static field along e_z only (±e_z must stay equilibria); "
            f"got {mg['field']}, allowed: [0, 0, B_z]",
        )


def _collinear_maps(ctx: StageContext) -> dict[str, np.ndarray]:
    """Collinear torque maps over the grid (cached under ``<runs_dir>/.cache/maps``)."""
    cfg, grid, reporter = ctx.cfg, ctx.cfg.grid, ctx.reporter
    key = ctx.cache.key("fmr_collinear", cfg.transport, grid, {"theta": [0.0, math.pi]})
    out = ctx.cache.load("maps", key)
    if out is not None:
        reporter.message(f"fmr: reusing collinear torque cache {ctx.cache.path('maps', key)}")
        return out
    sv = make_spin_valve(cfg.transport)
    eps, V = grid.eps_tilde, grid.V
    out = {f"{q}_{s}": np.empty((eps.size, V.size)) for q in ("field_like", "damping_like") for s in fmr.STATES}
    reporter.start("fmr transport (θ = 0, π)", eps.size * V.size, "points", work_per_unit=2.0)
    for i0 in range(0, eps.size, ROWS_PER_BLOCK):
        i1 = min(i0 + ROWS_PER_BLOCK, eps.size)
        block = collinear_torques(sv, eps[i0:i1, None], V[None, :], cfg.transport.order)
        for k, v in block.items():
            out[k][i0:i1] = v
        reporter.update(i1 * V.size)
    reporter.finish()
    ctx.cache.save("maps", key, out)
    return out


def _grid_maps(cfg: RunConfig, coll: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    mg = cfg.magnet
    b_z = mg.field[2]
    arrays: dict[str, np.ndarray] = {
        "fmr_states": np.array([1, -1], dtype=np.int8),
        "fmr_stiffness": np.array(mg.KV),
        "fmr_external_field_z": np.array(b_z),
    }
    for state in fmr.STATES:
        i_fl, i_dl = coll[f"field_like_{state}"], coll[f"damping_like_{state}"]
        maps = fmr.fmr_maps(i_fl + b_z, i_dl, S=mg.S, alpha=mg.alpha, field=mg.KV, state=state)
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
    return arrays


def _spectra(cfg: RunConfig) -> tuple[dict[str, np.ndarray], dict]:
    """Spectra at the requested (exact) points; also the windows of the stable ones for the simulation."""
    f, mg, grid = cfg.fmr, cfg.magnet, cfg.grid
    S, alpha, KV, b_z = mg.S, mg.alpha, mg.KV, mg.field[2]
    unit = grid.point_unit
    pts = np.array(list(zip(f.spectra_eps_tilde, f.spectra_V, strict=True)), dtype=float)
    sv = make_spin_valve(cfg.transport)
    at = collinear_torques(sv, pts[:, 0] * unit, pts[:, 1] * unit, cfg.transport.order)
    n_pts, n_om = len(pts), f.n_omega
    shape = (n_pts, 2)
    fl, dl = np.empty(shape), np.empty(shape)
    stable, omega_r, alpha_eff = np.zeros(shape, bool), np.full(shape, np.nan), np.full(shape, np.nan)
    omega_ax, chi_re, chi_im, chi_ap = (np.full(shape + (n_om,), np.nan) for _ in range(4))
    windows = {}
    for j, state in enumerate(fmr.STATES):
        fl[:, j], dl[:, j] = at[f"field_like_{state}"], at[f"damping_like_{state}"]
        for p in range(n_pts):
            params = {
                "S": S,
                "alpha": alpha,
                "field": KV,
                "field_like": fl[p, j] + b_z,
                "damping_like": dl[p, j],
                "state": state,
            }
            stable[p, j] = bool(fmr.is_stable(**params))
            w_r = float(fmr.resonance_frequency(S=S, field=KV, field_like=fl[p, j] + b_z, state=state))
            rate = float(fmr.relaxation_rate(**params))
            lo, hi = spectrum_window(w_r, abs(rate), f.span, f.omega_min, f.omega_max)
            omega_ax[p, j] = np.linspace(lo, hi, n_om)
            if not stable[p, j]:
                continue
            omega_r[p, j] = w_r
            alpha_eff[p, j] = float(fmr.effective_damping(**params))
            chi = fmr.susceptibility(omega_ax[p, j], **params)
            chi_re[p, j], chi_im[p, j] = chi.real, chi.imag
            chi_ap[p, j] = fmr.approximate_susceptibility(omega_ax[p, j], **params).imag
            windows[p, j] = (lo, hi, abs(w_r))
    arrays = {
        "fmr_spectra_point_over_U": grid.points_over_U(pts),
        **point_coordinates("fmr_spectra", grid.points_over_U(pts)),
        "fmr_spectra_field_like": fl,
        "fmr_spectra_damping_like": dl,
        "fmr_spectra_stable": stable,
        "fmr_spectra_resonance_frequency": omega_r,
        "fmr_spectra_effective_damping": alpha_eff,
        "fmr_spectra_omega": omega_ax,
        "fmr_spectra_chi_real": chi_re,
        "fmr_spectra_chi_imag": chi_im,
        "fmr_spectra_chi_imag_approx": chi_ap,
    }
    return arrays, windows


def simulate_spectrum(item: tuple) -> Any:
    """One work unit: (cfg, job number n, state index j, I_FL + B_z, I_DL, (lo, hi, |Ω_R|), backend,
    threads) → :class:`~gpuqd.observables.fmr_simulation.SimulatedFMR` of one spectrum (seed = cfg.seed + n)."""
    cfg, n, j, fl_total, dl, window, backend, threads = item
    f, mg = cfg.fmr, cfg.magnet
    lo, hi, centre = window
    omegas = simulation_omegas(lo, hi, centre, f.simulate_omegas)
    sigma2 = thermal_field_variance(mg) if f.noise else 0.0
    # fl_total already contains B_z: pass it as the torque and field_z = 0
    return simulate_fmr(
        ConstantTorque(float(fl_total), float(dl)),
        omegas,
        S=mg.S,
        alpha=mg.alpha,
        KV=mg.KV,
        state=fmr.STATES[j],
        drive_angle=f.drive_angle,
        periods=f.periods,
        settle_decays=f.settle_decays,
        steps_per_period=f.steps_per_period,
        samples_per_period=samples_per_period(f.steps_per_period),
        trajectories=f.trajectories,
        sigma2=sigma2,
        seed=cfg.seed + n,
        backend=backend,
        threads=threads,
    )


def simulation_work(cfg: RunConfig) -> tuple[int, int]:
    """Engine steps and engine runs of the simulated FMR (every stable spectrum, every frequency; one
    engine run of ``fmr.trajectories`` trajectories each), for the run estimate: solves the spectra
    points' collinear torques (a few transport solves)."""
    f, mg = cfg.fmr, cfg.magnet
    spectra, windows = _spectra(cfg)
    total, runs = 0, 0
    for (p, j), (lo, hi, centre) in windows.items():
        params = {
            "S": mg.S,
            "alpha": mg.alpha,
            "field": mg.KV,
            "field_like": spectra["fmr_spectra_field_like"][p, j] + mg.field[2],
            "damping_like": spectra["fmr_spectra_damping_like"][p, j],
            "state": fmr.STATES[j],
        }
        omegas = simulation_omegas(lo, hi, centre, f.simulate_omegas)
        total += int(
            frequency_steps(
                omegas, float(fmr.relaxation_rate(**params)), f.settle_decays, f.periods, f.steps_per_period
            ).sum()
        )
        runs += len(omegas)
    return total, runs


def _simulate_spectra(
    ctx: StageContext, fl_total: np.ndarray, dl: np.ndarray, stable: np.ndarray, windows: dict
) -> dict[str, np.ndarray]:
    n_sim = ctx.cfg.fmr.simulate_omegas
    shape = stable.shape + (n_sim,)
    out = {
        k: np.full(shape, np.nan)
        for k in (
            "fmr_sim_omega",
            "fmr_sim_chi_real",
            "fmr_sim_chi_imag",
            "fmr_sim_chi_imag_stderr",
            "fmr_sim_relative_error",
        )
    }
    out["fmr_sim_steps"] = np.zeros(shape, dtype=np.int64)
    out["fmr_sim_drive"] = np.full(stable.shape, np.nan)
    jobs = sorted(windows)
    # each spectrum is stored in the run directory as it arrives (work unit n); a resume maps only the rest
    store = UnitStore(ctx.checkpoint_dir / "units" / "fmr", ctx.config_hash)
    stored = store.intact()  # a damaged spectrum file is recomputed (one-line warning)
    missing = [n for n in range(len(jobs)) if n not in stored]
    ctx.reporter.start("fmr simulation", len(jobs), "spectra", done=len(jobs) - len(missing))
    items = (
        (ctx.cfg, n, jobs[n][1], fl_total[jobs[n]], dl[jobs[n]], windows[jobs[n]], ctx.backend, ctx.threads)
        for n in missing
    )
    computed = ctx.executor.map(simulate_spectrum, items)
    for n, (p, j) in enumerate(jobs):
        if n in stored:
            sim = store.load(n, 0)
        else:
            sim = _spectrum_arrays(next(computed))
            store.save(n, 0, sim)
            ctx.reporter.update(len(jobs) - len(missing) + missing.index(n) + 1)
            kill_hook("fmr", missing.index(n) + 1)
        k = sim["omega"].size
        for name in ("omega", "chi_real", "chi_imag", "chi_imag_stderr", "relative_error", "steps"):
            out[f"fmr_sim_{name}"][p, j, :k] = sim[name]
        out["fmr_sim_drive"][p, j] = sim["drive"]
    ctx.reporter.finish()
    return out


def _spectrum_arrays(sim: Any) -> dict[str, np.ndarray]:
    """The arrays of one simulated spectrum that the results keep (also its unit file)."""
    return {
        "omega": sim.omega,
        "chi_real": sim.chi[0].real,
        "chi_imag": sim.chi[0].imag,
        "chi_imag_stderr": sim.chi_stderr[0].imag,
        "relative_error": sim.relative_error[0],
        "steps": np.asarray(sim.steps),
        "drive": np.array(sim.drive),
    }


def run(ctx: StageContext) -> StageResult:
    cfg = ctx.cfg
    f = cfg.fmr
    arrays = _grid_maps(cfg, _collinear_maps(ctx))
    spectra, windows = _spectra(cfg)
    arrays |= spectra
    notes = [
        "fmr_*: linear FMR about P (n = +e_z) and AP (n = −e_z) with the collinear torque limits at θ = 0, π "
        "(SpinValve.solve), H_0 = KV, B_z folded into I_FL; AP uses ω_0 = KV − I_FL, I_DL → −I_DL "
        "(gpuqd.observables.fmr). Unstable points (α_eff ω_0 <= 0) are NaN in the resonance/linewidth maps.",
    ]
    if f.simulate:
        t0 = time.perf_counter()
        fl_total = spectra["fmr_spectra_field_like"] + cfg.magnet.field[2]
        arrays |= _simulate_spectra(
            ctx, fl_total, spectra["fmr_spectra_damping_like"], spectra["fmr_spectra_stable"], windows
        )
        notes.append(
            f"fmr_sim_*: simulated FMR through the ensemble engine with the linearised (constant) "
            f"torques, one engine run per frequency (frequencies looped), lock-in over "
            f"{f.periods} whole periods after >= {f.settle_decays:g} relaxation times; "
            f"{time.perf_counter() - t0:.1f} s."
        )
    return StageResult(arrays=arrays, notes=notes)


def estimate(cfg: RunConfig, costs: Costs, needs: frozenset[str]) -> StageEstimate:
    """Collinear solves at every grid point; with ``fmr.simulate`` the engine runs and steps of the
    simulated spectra (counted exactly by :func:`simulation_work`, a few transport solves)."""
    f, n_pts = cfg.fmr, cfg.grid.n_points
    work = f"{n_pts} points × 2 collinear solves"
    seconds: float | None = n_pts * costs.transport(cfg.transport.order).point(2)
    if f.simulate:
        (steps, runs), n = simulation_work(cfg), int(f.trajectories)
        work += f"; simulated FMR {runs} runs, {steps:.3g} steps × {n} trajectories"
        per, engine = costs.fmr(), costs.engine(table=False) if n > 1 else None
        if per is None or (n > 1 and engine is None):
            seconds = None
        else:
            per_step, per_run = per
            seconds = (seconds or 0.0) + runs * per_run + steps * (per_step + (n - 1) * (engine.d if engine else 0.0))
    return StageEstimate("fmr", work, seconds, int(MAPS_PER_POINT * 2 * n_pts * 8))


STAGE = Stage(
    name="fmr",
    order=20,
    run=run,
    outputs=("fmr",),
    section=("fmr", SECTION),
    section_class=FmrConfig,
    check=check,
    variables=VARIABLES,
    figures=("fmr_maps", "fmr_spectra"),
    estimate=estimate,
)

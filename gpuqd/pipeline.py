"""Run pipeline: validated config → transport maps / torque table → ensemble dynamics → results.npz → figures.

Stages (each resumable; wall times and throughput go to meta.json):

1. ``transport``: one O(Γ)+O(Γ²) solve per grid point and block of ε̃ rows at the torque-table nodes
   (only if the dynamics needs a table) and at θ = 0.01π, 0.99π (readout and torque maps), plus
   the linear conductance at V = 0, the Fig. 4 inset I(θ) and the resonance / partner lines.
   Results are cached in ``<runs_dir>/.cache/`` under a hash of the transport parameters and the
   grid; partially built caches survive interruptions block by block.
2. ``dynamics``: one :class:`gpuqd.dynamics.EnsembleRunner` for all grid points ×
   trajectories_per_point, checkpointed atomically every ``chunk_steps`` steps; ``--resume``
   continues bit-identically (counter-based noise).
3. ``results``: ``results.npz`` (see :data:`VARIABLES`) and figures.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gpuqd import __version__
from gpuqd.config import Config, grid_axes
from gpuqd.rundir import RunDir, atomic_savez, atomic_write_text, dumps_json, write_results

__all__ = ["run_pipeline", "Reporter", "resolve_backend", "device_info", "VARIABLES", "THETA_P", "THETA_AP",
           "RunError"]

THETA_P = 0.01 * math.pi  # "θ ≈ 0" of [G] Figs. 3, 4
THETA_AP = 0.99 * math.pi  # "θ ≈ π"
#: Grid points per transport block (checkpoint granularity of the transport stage).
TRANSPORT_BLOCK_POINTS = 2048
#: Number of ε̃ values on which the resonance / partner lines are drawn.
LINE_POINTS = 161
#: Cache format version (bump when the cached quantities change meaning).
CACHE_VERSION = 1
#: Test hook: "transport:K" or "dynamics:K" kills the process (SIGKILL) after K checkpoints.
KILL_HOOK_ENV = "GPUQD_TEST_KILL_AFTER"


class RunError(RuntimeError):
    """A run cannot proceed (state of the run directory, unavailable backend, ...); user-facing."""


class _DynamicsSetupError(RunError):
    """The ensemble could not be set up (e.g. dt too large for the tabulated torques)."""


# --------------------------------------------------------------------------------------- progress
class Reporter:
    """Progress sink; the CLI supplies a rich implementation. All methods are optional no-ops."""

    def start(self, stage: str, total: int, unit: str, work_per_unit: float = 1.0, done: int = 0) -> None:
        """Begin ``stage`` with ``total`` units (work_per_unit converts units to the rate unit)."""

    def update(self, done: int) -> None:
        """``done`` units finished so far."""

    def finish(self) -> None:
        """End of the current stage."""

    def message(self, text: str) -> None:
        """A one-line remark."""


class _PrintReporter(Reporter):
    def message(self, text: str) -> None:  # pragma: no cover - trivial
        print(text)


# --------------------------------------------------------------------------------------- backend
def resolve_backend(requested: str) -> str:
    """'auto' | 'numpy' | 'cupy' → 'numpy' or 'cupy' (RunError if cupy is asked for but unusable)."""
    from gpuqd.dynamics.runner import cupy_usable

    if requested == "numpy":
        return "numpy"
    if cupy_usable():
        return "cupy"
    if requested == "cupy":
        raise RunError("backend: cupy requested but CuPy is not installed or no CUDA device is usable "
                       "(pip install -e '.[gpu]', or use --backend numpy)")
    return "numpy"


def device_info(backend: str) -> dict:
    """Describe the compute device of ``backend`` (GPU name/memory and CuPy version, or the CPU)."""
    info: dict[str, Any] = {"backend": backend, "cpu": platform.processor() or platform.machine(),
                            "cpu_count": os.cpu_count(), "numpy": np.__version__}
    if backend == "cupy":
        try:
            import cupy

            dev = cupy.cuda.Device()
            props = cupy.cuda.runtime.getDeviceProperties(dev.id)
            name = props.get("name", b"")
            info["gpu"] = name.decode() if isinstance(name, bytes) else str(name)
            info["gpu_memory_GiB"] = round(props.get("totalGlobalMem", 0) / 2**30, 2)
            info["cupy"] = cupy.__version__
        except Exception as exc:  # pragma: no cover - depends on the machine
            info["gpu_error"] = str(exc)
    return info


def git_commit() -> str | None:
    """The git commit of the source tree gpuqd was imported from (with '-dirty'), if any."""
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return out + ("-dirty" if dirty else "")
    except Exception:
        return None


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _maybe_kill(stage: str, count: int) -> None:
    """Test hook: SIGKILL this process after ``count`` checkpoints of ``stage`` (simulates kill -9)."""
    hook = os.environ.get(KILL_HOOK_ENV, "")
    if hook and hook == f"{stage}:{count}":
        os.kill(os.getpid(), signal.SIGKILL)


# --------------------------------------------------------------------------------------- variables
_G = ["eps_tilde", "V"]
VARIABLES: dict[str, dict] = {
    "eps_tilde_over_U": {"dims": ["eps_tilde"], "units": "U", "description": "level position ε̃ = ε + U/2"},
    "V_over_U": {"dims": ["V"], "units": "U", "description": "bias voltage V (μ_S = +V/2, μ_D = −V/2)"},
    "eps_tilde": {"dims": ["eps_tilde"], "units": "Gamma", "description": "ε̃ in units of Γ"},
    "V": {"dims": ["V"], "units": "Gamma", "description": "V in units of Γ"},
    "theta_parallel": {"dims": [], "units": "rad", "description": "θ of the 'parallel' direct solves (0.01π)"},
    "theta_antiparallel": {"dims": [], "units": "rad",
                           "description": "θ of the 'antiparallel' direct solves (0.99π)"},
    "readout_current_parallel": {"dims": _G, "units": "Gamma (e Γ/ħ)",
                                 "description": "charge (particle) current I_C into the drain at θ = 0.01π"},
    "readout_current_antiparallel": {"dims": _G, "units": "Gamma (e Γ/ħ)",
                                     "description": "I_C at θ = 0.99π"},
    "readout_conductance_parallel": {"dims": _G, "units": "e^2/hbar",
                                     "description": "I_C/V at θ = 0.01π; V = 0 column: linear conductance "
                                                    "dI_C/dV from V = ±1e-3 U"},
    "readout_conductance_antiparallel": {"dims": _G, "units": "e^2/hbar",
                                         "description": "I_C/V at θ = 0.99π (V = 0: linear conductance)"},
    "torque_field_like_parallel": {"dims": _G, "units": "Gamma (ħΓ/ħ)",
                                   "description": "I_FL coefficient of e_FL = n_D × e_z at θ = 0.01π "
                                                  "(direct solve, not the table)"},
    "torque_field_like_antiparallel": {"dims": _G, "units": "Gamma", "description": "I_FL at θ = 0.99π"},
    "torque_damping_like_parallel": {"dims": _G, "units": "Gamma",
                                     "description": "I_DL coefficient of e_DL = n_D × (n_D × e_z) at θ = 0.01π"},
    "torque_damping_like_antiparallel": {"dims": _G, "units": "Gamma", "description": "I_DL at θ = 0.99π"},
    "resonance_V": {"dims": ["eps_tilde", "root"], "units": "Gamma",
                    "description": "roots V of the resonance Γ_D p_D Φ_D = Γ_S p_S Φ_S within the V range "
                                   "at each grid ε̃ (NaN-padded)"},
    "partner_V": {"dims": ["eps_tilde", "root"], "units": "Gamma",
                  "description": "roots V of the partner line Γ_D p_D Φ_D = −Γ_S p_S Φ_S (NaN-padded)"},
    "lines_eps_tilde_over_U": {"dims": ["line_eps"], "units": "U",
                               "description": "fine ε̃ axis of lines_resonance_V_over_U / lines_partner_V_over_U"},
    "lines_resonance_V_over_U": {"dims": ["line_eps", "root"], "units": "U",
                                 "description": "resonance line V(ε̃) on the fine axis (NaN-padded)"},
    "lines_partner_V_over_U": {"dims": ["line_eps", "root"], "units": "U",
                               "description": "partner line V(ε̃) on the fine axis (NaN-padded)"},
    "torque_inset_theta": {"dims": ["theta"], "units": "rad",
                           "description": "θ of the Fig. 4 inset (exact point torque_inset_point_over_U)"},
    "torque_inset_point_over_U": {"dims": ["xy"], "units": "U", "description": "(ε̃, V) of the Fig. 4 inset"},
    "torque_inset_field_like": {"dims": ["theta"], "units": "Gamma", "description": "I_FL(θ) at the inset point"},
    "torque_inset_damping_like": {"dims": ["theta"], "units": "Gamma", "description": "I_DL(θ) at the inset point"},
    "torque_inset_charge_current": {"dims": ["theta"], "units": "Gamma", "description": "I_C(θ) at the inset point"},
    "mean_theta": {"dims": _G, "units": "rad",
                   "description": "⟨θ⟩: time average of θ over [average_from, t_end), averaged over the "
                                  "trajectories of each point"},
    "mean_theta_per_trajectory": {"dims": _G + ["trajectory"], "units": "rad",
                                  "description": "time-averaged θ of each trajectory"},
    "readout_current_dynamic": {"dims": _G, "units": "Gamma",
                                "description": "time average of I_C(θ(t)) along the trajectories over the "
                                               "averaging window (mean over trajectories)"},
    "readout_conductance_dynamic": {"dims": _G, "units": "e^2/hbar",
                                    "description": "readout_current_dynamic / V (NaN at V = 0)"},
    "first_passage_time": {"dims": _G + ["trajectory"], "units": "1/Gamma",
                           "description": "time of the first switch away from the initial state "
                                          "(inf: no switch before t_end, right-censored)"},
    "n_switches": {"dims": _G + ["trajectory"], "units": "1",
                   "description": "number of hysteretic P↔AP switches (threshold ±switch_threshold on n_z)"},
    "switch_count": {"dims": _G, "units": "1", "description": "total switches over the trajectories of a point"},
    "switched_fraction": {"dims": _G, "units": "1",
                          "description": "fraction of trajectories that switched at least once"},
    "time_in_parallel": {"dims": _G + ["trajectory"], "units": "1/Gamma",
                         "description": "time spent in the P state (n_z > u_s, hysteretic) over [0, t_end]"},
    "time_in_antiparallel": {"dims": _G + ["trajectory"], "units": "1/Gamma",
                             "description": "time spent in the AP state over [0, t_end]"},
    "final_state": {"dims": _G + ["trajectory"], "units": "1", "description": "+1 P, −1 AP at t_end"},
    "inset_time": {"dims": ["sample"], "units": "1/Gamma", "description": "times of the inset θ(t) samples"},
    "inset_theta": {"dims": ["inset", "sample"], "units": "rad",
                    "description": "θ(t) of the first trajectory at the inset grid points"},
    "inset_point_over_U": {"dims": ["inset", "xy"], "units": "U",
                           "description": "(ε̃, V) of the grid points used for the insets (nearest to the "
                                          "requested figures.inset_* values)"},
    "inset_requested_over_U": {"dims": ["inset", "xy"], "units": "U",
                               "description": "requested inset points (figures.inset_eps_tilde, inset_V)"},
}


# --------------------------------------------------------------------------------------- transport
def _transport_key(cfg: Config, axes: dict, kind: str, extra: dict) -> str:
    tr = cfg.data["transport"]
    payload = {
        "cache_version": CACHE_VERSION,
        "gpuqd": __version__,
        "kind": kind,
        "transport": {k: tr[k] for k in ("U", "T", "gamma_S", "gamma_D", "p_S", "p_D", "order")},
        "eps_tilde": hashlib.sha256(np.ascontiguousarray(axes["eps_tilde"]).tobytes()).hexdigest(),
        "V": hashlib.sha256(np.ascontiguousarray(axes["V"]).tobytes()).hexdigest(),
        "n_eps": int(axes["eps_tilde"].size),
        "n_V": int(axes["V"].size),
    } | extra
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


def _make_spin_valve(tr: dict):
    from gpuqd.transport import SpinValve

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the Γ/T warning is issued by the config validation
        return SpinValve(U=tr["U"], T=tr["T"], gamma_S=tr["gamma_S"], gamma_D=tr["gamma_D"],
                         p_S=tr["p_S"], p_D=tr["p_D"])


def _solve(sv, eps, V, theta, order):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sv.solve(eps, V, theta, order=order)


def _table_nodes(n_theta: int) -> np.ndarray:
    from gpuqd.transport.torque_table import node_s, theta_of_s

    return theta_of_s(node_s(n_theta))


def _transport_stage(cfg: Config, axes: dict, need_table: bool, reporter: Reporter, times: dict) -> tuple:
    """Torque table (or None) and the dict of transport maps, from the cache or computed blockwise."""
    from gpuqd.transport import TorqueTable

    tr = cfg.data["transport"]
    order, n_theta = tr["order"], tr["n_theta"]
    cache = Path(cfg.data["runs_dir"]) / ".cache"
    nodes_hash = hashlib.sha256(_table_nodes(n_theta).tobytes()).hexdigest()
    table_key = _transport_key(cfg, axes, "table", {"n_theta": n_theta, "nodes": nodes_hash})
    maps_key = _transport_key(cfg, axes, "maps", {"theta": [THETA_P, THETA_AP]})
    table_path = cache / "tables" / f"{table_key}.npz"
    maps_path = cache / "maps" / f"{maps_key}.npz"

    table = None
    if need_table and table_path.exists():
        try:
            table = TorqueTable.load(table_path)
            if table.n_points != axes["eps_tilde"].size * axes["V"].size or table.n_theta != n_theta:
                table = None
        except Exception:
            table = None
        if table is not None:
            reporter.message(f"torque table: reusing cache {table_path}")
    maps = None
    if maps_path.exists():
        try:
            with np.load(maps_path, allow_pickle=False) as d:
                maps = {k: d[k] for k in d.files}
            reporter.message(f"transport maps: reusing cache {maps_path}")
        except Exception:
            maps = None
    compute_table = need_table and table is None
    if not compute_table and maps is not None:
        return table, maps

    t0 = time.perf_counter()
    sv = _make_spin_valve(tr)
    eps, V = axes["eps_tilde"], axes["V"]
    n_eps, n_V = eps.size, V.size
    thetas = [np.array([THETA_P, THETA_AP])]
    if compute_table:
        thetas.insert(0, _table_nodes(n_theta))
    theta_all = np.concatenate(thetas)
    n_tab = n_theta if compute_table else 0
    block_points = int(os.environ.get("GPUQD_TRANSPORT_BLOCK_POINTS", TRANSPORT_BLOCK_POINTS))
    rows_per_block = max(1, block_points // n_V)
    blocks = [(i, min(i + rows_per_block, n_eps)) for i in range(0, n_eps, rows_per_block)]
    job_key = hashlib.sha256(f"{table_key if compute_table else ''}:{maps_key}".encode()).hexdigest()[:24]
    partial = cache / "partial" / job_key
    n_points = n_eps * n_V
    reporter.start("transport", n_points, "points", work_per_unit=float(theta_all.size))
    done = 0
    n_saved = 0
    out = {k: np.empty((n_eps, n_V, theta_all.size)) for k in ("I_FL", "I_DL", "I_C")}
    for b, (i0, i1) in enumerate(blocks):
        bpath = partial / f"block_{b:05d}.npz"
        block = None
        if bpath.exists():
            try:
                with np.load(bpath, allow_pickle=False) as d:
                    block = {k: d[k] for k in ("I_FL", "I_DL", "I_C")}
                if block["I_C"].shape != (i1 - i0, n_V, theta_all.size):
                    block = None
            except Exception:
                block = None
        if block is None:
            r = _solve(sv, eps[i0:i1, None, None], V[None, :, None], theta_all[None, None, :], order)
            block = {"I_FL": r.torque_field_like, "I_DL": r.torque_damping_like, "I_C": r.charge_current}
            atomic_savez(bpath, **block)
            n_saved += 1
        for k in out:
            out[k][i0:i1] = block[k]
        done += (i1 - i0) * n_V
        reporter.update(done)
        if n_saved:
            _maybe_kill("transport", n_saved)
    reporter.finish()

    if compute_table:
        table = TorqueTable(
            field_like=out["I_FL"][..., :n_tab].reshape(n_points, n_tab),
            damping_like=out["I_DL"][..., :n_tab].reshape(n_points, n_tab),
            charge_current=out["I_C"][..., :n_tab].reshape(n_points, n_tab),
            eps_tilde=eps, V=V,
            metadata=_table_metadata(sv, order, n_tab, table_key),
        )
        table.save(table_path)
    if maps is None:
        maps = _extra_maps(cfg, sv, axes, out, n_tab)
        atomic_savez(maps_path, **maps)
    for f in sorted(partial.glob("block_*.npz")) if partial.exists() else []:
        f.unlink(missing_ok=True)
    if partial.exists():
        try:
            partial.rmdir()
        except OSError:
            pass
    times["transport_points_per_s"] = n_points / max(time.perf_counter() - t0, 1e-9)
    return table, maps


def _table_metadata(sv, order: int, n_theta: int, key: str) -> dict:
    from gpuqd.transport import torque_table as tt

    meta = {"transport": sv.parameters, "order": order, "n_theta": n_theta, "units": "Gamma",
            "layout": "point j = (eps[j // n_V], V[j % n_V])", "gpuqd": __version__, "cache_key": key,
            "built_by": "gpuqd.pipeline (direct SpinValve.solve at the table nodes)"}
    for name in ("THETA_MIN", "THETA_MID", "INTERPOLATION_ERROR_STATEMENT"):
        if hasattr(tt, name):
            meta[name.lower()] = getattr(tt, name)
    return meta


def _extra_maps(cfg: Config, sv, axes: dict, out: dict, n_tab: int) -> dict:
    """Readout/torque maps at θ ≈ 0, π, conductances, inset I(θ) and resonance lines."""
    tr, fig = cfg.data["transport"], cfg.data["figures"]
    order, U = tr["order"], tr["U"]
    eps, V = axes["eps_tilde"], axes["V"]
    maps: dict[str, np.ndarray] = {}
    for j, label in enumerate(("parallel", "antiparallel")):
        maps[f"readout_current_{label}"] = out["I_C"][..., n_tab + j].copy()
        maps[f"torque_field_like_{label}"] = out["I_FL"][..., n_tab + j].copy()
        maps[f"torque_damping_like_{label}"] = out["I_DL"][..., n_tab + j].copy()
    # conductance I_C/V; at V = 0 the linear conductance from a symmetric difference
    scale = U if U > 0 else tr["T"]
    delta = 1e-3 * scale
    zero = np.abs(V) <= 1e-12 * max(scale, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        for j, label in enumerate(("parallel", "antiparallel")):
            g = maps[f"readout_current_{label}"] / V[None, :]
            if np.any(zero):
                th = (THETA_P, THETA_AP)[j]
                plus = _solve(sv, eps, delta, th, order).charge_current
                minus = _solve(sv, eps, -delta, th, order).charge_current
                g[:, zero] = ((plus - minus) / (2 * delta))[:, None]
            maps[f"readout_conductance_{label}"] = g
    # Fig. 4 inset: I(θ) at the exact requested point, nodes clustered at θ = 0, π
    s = np.linspace(0.002, 0.998, 241)
    theta = 0.5 * np.pi * (1 - np.cos(np.pi * s))
    unit = U if U > 0 else 1.0  # figures.* are in units of U (Γ if U = 0)
    e_in, v_in = fig["torque_inset_eps_tilde"] * unit, fig["torque_inset_V"] * unit
    r = _solve(sv, e_in, v_in, theta, order)
    maps["torque_inset_theta"] = theta
    maps["torque_inset_point_over_U"] = np.array([e_in, v_in]) / U if U > 0 else np.array([np.nan, np.nan])
    maps["torque_inset_field_like"] = r.torque_field_like
    maps["torque_inset_damping_like"] = r.torque_damping_like
    maps["torque_inset_charge_current"] = r.charge_current
    # resonance / partner lines, on the grid ε̃ and on a fine axis for plotting
    v_lo, v_hi = float(V.min()), float(V.max())
    if v_hi - v_lo < 1e-9:
        v_lo, v_hi = v_lo - max(1.0, 0.5 * scale), v_hi + max(1.0, 0.5 * scale)
    fine = np.linspace(eps.min(), eps.max(), LINE_POINTS) if eps.size > 1 else eps.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kind in ("resonance", "partner"):
            maps[f"{kind}_V"] = sv.resonance_lines(eps, v_lo, v_hi, kind=kind, n_scan=801)
            lines = sv.resonance_lines(fine, v_lo, v_hi, kind=kind, n_scan=801)
            maps[f"lines_{kind}_V_over_U"] = lines / U if U > 0 else lines * np.nan
    maps["lines_eps_tilde_over_U"] = fine / U if U > 0 else fine * np.nan
    return maps


# --------------------------------------------------------------------------------------- dynamics
def _inset_points(cfg: Config, axes: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid point indices nearest to the requested inset points, and (requested, used) in units of U."""
    fig, U = cfg.data["figures"], cfg.data["transport"]["U"]
    unit = U if U > 0 else 1.0  # figures.* are in units of U (Γ if U = 0)
    eps, V = axes["eps_tilde"], axes["V"]
    idx, req, used = [], [], []
    for v in fig["inset_V"]:
        e_req, v_req = fig["inset_eps_tilde"] * unit, v * unit
        i = int(np.argmin(np.abs(eps - e_req)))
        j = int(np.argmin(np.abs(V - v_req)))
        idx.append(i * V.size + j)
        req.append((e_req, v_req))
        used.append((eps[i], V[j]))
    norm = U if U > 0 else np.nan
    return np.array(idx, dtype=np.int64), np.array(req) / norm, np.array(used) / norm


def _runner_spec(cfg: Config, backend: str, table, axes: dict):
    from gpuqd.dynamics import ConstantTorque, Macrospin
    from gpuqd.run.ensemble_units import EnsembleSpec

    mg, dyn, tq = cfg.data["magnet"], cfg.data["dynamics"], cfg.data["torque"]
    magnet = Macrospin(
        S=mg["S"], KV=mg["KV"], alpha=mg["alpha"], sigma2=mg["sigma2"], T_m=mg["T_m"],
        K_cubic=mg["K_cubic"] if mg["anisotropy"] == "cubic" else 0.0, field=tuple(mg["field"]), free=mg["free"],
    )
    n_points = axes["eps_tilde"].size * axes["V"].size
    tpp = dyn["trajectories_per_point"]
    n_traj = n_points * tpp
    if tq["model"] == "transport":
        torque, point_index = table, np.repeat(np.arange(n_points, dtype=np.int64), tpp)
    else:
        torque, point_index = ConstantTorque(tq["field_like"], tq["damping_like"]), None
    steps_total = int(round(dyn["t_end"] / dyn["dt"]))
    sample_every = dyn["sample_every"] or max(1, steps_total // 2000)
    inset_idx, _, _ = _inset_points(cfg, axes)
    sample_traj = inset_idx * tpp
    return EnsembleSpec(
        magnet, torque, n_traj, dyn["dt"], dyn["t_end"], cfg.data["seed"], backend,
        initial_theta=dyn["initial_theta"], switch_threshold=dyn["switch_threshold"],
        average_from=dyn["average_from"], point_index=point_index, sample_every=sample_every,
        sample_trajectories=sample_traj,
    )


def _make_runner(cfg: Config, backend: str, table, axes: dict):
    return _runner_spec(cfg, backend, table, axes).runner()


def _dynamics_by_units(cfg: Config, backend: str, table, axes: dict, rd: RunDir, reporter: Reporter,
                       times: dict, config_hash: str, executor):
    """The dynamics stage as (block, time-chunk) work units on ``executor`` (gpuqd.run.execution)."""
    from gpuqd.run.ensemble_units import run_ensemble_units
    from gpuqd.run.execution import UnitStore

    spec = _runner_spec(cfg, backend, table, axes)
    try:
        spec.runner()
    except ValueError as exc:
        raise _DynamicsSetupError(f"dynamics: {exc} (the torque coefficients of the table enter this bound; "
                                  f"lower dynamics.dt — the transport results are cached, so the rerun "
                                  f"is quick)") from None
    store = UnitStore(rd.checkpoint_dir / "units" / "dynamics", config_hash)
    try:
        res, stats, blocks = run_ensemble_units(executor, spec, cfg.data["dynamics"]["chunk_steps"], store,
                                                reporter)
    except ValueError as exc:
        raise RunError(f"{store.directory}: cannot resume from these units ({exc}); use --force") from None
    reporter.message(f"dynamics: {len(blocks)} block(s) of trajectories × time chunks of "
                     f"{cfg.data['dynamics']['chunk_steps']} steps; units from the run directory "
                     f"{stats.reused}, computed {stats.computed}")
    if stats.computed:
        times["trajectory_steps_per_s"] = stats.work_done / max(stats.wall_s, 1e-9)
    return res


def _dynamics_stage(cfg: Config, backend: str, table, axes: dict, rd: RunDir, reporter: Reporter,
                    times: dict, config_hash: str, executors=None):
    if executors is not None and executors.distributed:
        return _dynamics_by_units(cfg, backend, table, axes, rd, reporter, times, config_hash, executors.get())
    try:
        runner = _make_runner(cfg, backend, table, axes)
    except ValueError as exc:
        raise _DynamicsSetupError(f"dynamics: {exc} (the torque coefficients of the table enter this bound; "
                                  f"lower dynamics.dt — the transport results are cached, so the rerun "
                                  f"is quick)") from None
    state_path = rd.checkpoint_dir / "dynamics_state.npz"
    if state_path.exists():
        with np.load(state_path, allow_pickle=False) as d:
            stored_hash = str(d["_config_hash"]) if "_config_hash" in d.files else ""
            state = {k: d[k] for k in d.files if not k.startswith("_")}
        if stored_hash != config_hash:
            raise RunError(f"{state_path}: checkpoint belongs to a different configuration; use --force")
        try:
            runner.set_state(state)
        except ValueError as exc:
            raise RunError(f"{state_path}: cannot resume from this checkpoint ({exc}); use --force to start "
                           f"over") from None
        reporter.message(f"dynamics: resuming at step {runner.steps_done} of {runner.steps_total}")
    chunk = cfg.data["dynamics"]["chunk_steps"]
    n_traj = runner.config.n_traj
    reporter.start("dynamics", runner.steps_total, "steps", work_per_unit=float(n_traj), done=runner.steps_done)
    t0, s0 = time.perf_counter(), runner.steps_done
    n_saved = 0
    while not runner.done:
        runner.advance(chunk)
        atomic_savez(state_path, _config_hash=np.array(config_hash), **runner.get_state())
        n_saved += 1
        reporter.update(runner.steps_done)
        _maybe_kill("dynamics", n_saved)
    reporter.finish()
    elapsed = time.perf_counter() - t0
    if runner.steps_done > s0:
        times["trajectory_steps_per_s"] = (runner.steps_done - s0) * n_traj / max(elapsed, 1e-9)
    return runner.result()


def _dynamics_arrays(cfg: Config, res, axes: dict, maps: dict) -> dict:
    n_eps, n_V = axes["eps_tilde"].size, axes["V"].size
    tpp = cfg.data["dynamics"]["trajectories_per_point"]

    def per(a):
        return np.asarray(a).reshape(n_eps, n_V, tpp)

    out = {
        "mean_theta_per_trajectory": per(res.mean_theta),
        "first_passage_time": per(res.first_passage_time),
        "n_switches": per(res.n_switches).astype(np.int64),
        "time_in_parallel": per(res.time_in_parallel),
        "time_in_antiparallel": per(res.time_in_antiparallel),
        "final_state": per(res.final_state).astype(np.int8),
    }
    out["mean_theta"] = out["mean_theta_per_trajectory"].mean(axis=-1)
    out["switch_count"] = out["n_switches"].sum(axis=-1)
    out["switched_fraction"] = (out["n_switches"] > 0).mean(axis=-1)
    out["readout_current_dynamic"] = per(res.mean_charge_current).mean(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = out["readout_current_dynamic"] / axes["V"][None, :]
    g[:, axes["V"] == 0] = np.nan
    out["readout_conductance_dynamic"] = g
    _, req, used = _inset_points(cfg, axes)
    out["inset_time"] = np.asarray(res.sample_times, dtype=float)
    out["inset_theta"] = np.asarray(res.samples, dtype=float).reshape(len(req), -1)
    out["inset_point_over_U"] = used
    out["inset_requested_over_U"] = req
    return out


# --------------------------------------------------------------------------------------- run
def config_hash(cfg: Config) -> str:
    data = {k: v for k, v in cfg.data.items() if k not in ("runs_dir", "figures", "execution")}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _comparable(data: dict) -> dict:
    return {k: v for k, v in data.items() if k not in ("runs_dir", "backend", "execution")}


def prepare_run_dir(cfg: Config, resume: bool, force: bool) -> tuple[RunDir, str]:
    """Check the run directory state; returns (RunDir, 'new' | 'resume' | 'finished')."""
    rd = RunDir(cfg.run_dir)
    status = rd.status
    if status == "foreign":
        raise RunError(f"{rd.path} exists and is not a gpuqd run directory; choose another name or runs_dir")
    if force:
        if status in ("finished", "unfinished"):
            rd.remove()
        return rd, "new"
    if status == "finished":
        if resume:
            return rd, "finished"
        raise RunError(f"{rd.path} holds a finished run; use --force to overwrite it (or change 'name')")
    if status == "unfinished":
        if not resume:
            raise RunError(f"{rd.path} holds an unfinished run; use --resume to continue it or --force to "
                           f"start over")
        stored = rd.read_config()
        if stored is None or _comparable(stored) != _comparable(cfg.data):
            diff = _first_difference(stored or {}, cfg.data)
            raise RunError(f"{rd.path}: the configuration differs from the unfinished run's ({diff}); "
                           f"use --force to start over")
        return rd, "resume"
    return rd, "new"


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k in ("runs_dir", "backend", "execution") and not path:
                continue
            if a.get(k) != b.get(k):
                return _first_difference(a.get(k), b.get(k), f"{path}.{k}" if path else k)
        return path or "?"
    return f"{path}: {a!r} → {b!r}"


def run_pipeline(cfg: Config, resume: bool = False, force: bool = False, reporter: Reporter | None = None,
                 make_figures: bool = True, argv: list[str] | None = None) -> Path:
    """Execute (or resume) the run described by ``cfg``; returns the run directory.

    Raises :class:`RunError` for run-directory conflicts and unusable backends (before any
    computation or file is written).
    """
    reporter = reporter or Reporter()
    backend_req = cfg.data["backend"]
    rd, mode = prepare_run_dir(cfg, resume, force)
    if mode == "finished":
        reporter.message(f"{rd.path}: run already finished; nothing to do (use --force to recompute)")
        return rd.path
    meta = rd.read_meta() if mode == "resume" else {}
    if mode == "resume" and meta.get("backend"):
        backend = meta["backend"]
        if backend_req not in ("auto", backend):
            raise RunError(f"{rd.path}: the run was started with backend {backend!r}; resuming with "
                           f"{backend_req!r} would not reproduce it (use --force to start over)")
        if backend == "cupy":
            resolve_backend("cupy")
    else:
        backend = resolve_backend(backend_req)
    axes = grid_axes(cfg.data)

    # ---- from here on files are written
    rd.path.mkdir(parents=True, exist_ok=True)
    now = _now()
    if mode == "new":
        atomic_write_text(rd.config_path, cfg.to_yaml())
        meta = {
            "gpuqd_version": __version__, "git_commit": git_commit(), "name": cfg.name, "status": "running",
            "backend_requested": backend_req, "backend": backend, "device": device_info(backend),
            "seed": cfg.data["seed"], "config_hash": config_hash(cfg), "start_time": now, "end_time": None,
            "stages": {}, "throughput": {}, "sessions": [], "warnings": list(cfg.warnings),
            "python": platform.python_version(), "host": platform.node(),
        }
    meta["status"] = "running"
    meta.setdefault("sessions", []).append({"start": now, "resumed": mode == "resume", "argv": argv})
    rd.write_meta(meta)

    outputs = set(cfg.data["outputs"])
    need_dyn = cfg.needs_dynamics
    need_table = (need_dyn or "switching_times" in outputs) and cfg.data["torque"]["model"] == "transport"

    def stage_time(name: str, t0: float) -> None:
        st = meta["stages"].setdefault(name, {"wall_s": 0.0})
        st["wall_s"] = round(st["wall_s"] + time.perf_counter() - t0, 3)
        rd.write_meta(meta)

    from gpuqd.run.execution import ExecutorHandle, execution_settings

    executors = ExecutorHandle(execution_settings(cfg.data), backend, reporter.message)  # connected on first use
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    table, maps = _transport_stage(cfg, axes, need_table, reporter, times)
    stage_time("transport", t0)
    if "transport_points_per_s" in times:
        meta["throughput"]["transport_points_per_s"] = round(times["transport_points_per_s"], 3)

    arrays: dict[str, np.ndarray] = {
        "eps_tilde_over_U": axes["eps_tilde_over_U"], "V_over_U": axes["V_over_U"],
        "eps_tilde": axes["eps_tilde"], "V": axes["V"],
        "theta_parallel": np.array(THETA_P), "theta_antiparallel": np.array(THETA_AP),
    }
    arrays.update(maps)
    notes = [
        "Torque maps and P/AP readout are direct transport solves at θ = 0.01π and 0.99π (not the table).",
        "Torque coefficients I_FL, I_DL multiply the non-normalised e_FL, e_DL (|e| = sin θ), physics-spec §1.",
        "V = 0 column of readout_conductance_parallel/antiparallel: linear conductance from V = ±1e-3 U.",
    ]
    if need_dyn:
        t0 = time.perf_counter()
        try:
            res = _dynamics_stage(cfg, backend, table, axes, rd, reporter, times, config_hash(cfg), executors)
        except _DynamicsSetupError:
            if mode == "new":  # nothing of value in the run directory yet (transport is cached)
                rd.remove()
            raise
        stage_time("dynamics", t0)
        if "trajectory_steps_per_s" in times:
            meta["throughput"]["trajectory_steps_per_s"] = round(times["trajectory_steps_per_s"], 1)
        arrays.update(_dynamics_arrays(cfg, res, axes, maps))
        notes.append("Inset trajectories θ(t) are the first trajectory at the grid points nearest to the "
                     "requested inset points (inset_point_over_U vs inset_requested_over_U).")
        notes.append("readout_current_dynamic is the time average of I_C(θ(t)) over [average_from, t_end).")
    if "fmr" in outputs:  # FMR readout (gpuqd.fmr_run): collinear transport solves, no table, no dynamics stage
        from gpuqd.fmr_run import FMR_VARIABLES, fmr_stage

        t0 = time.perf_counter()
        fmr_arrays, fmr_notes = fmr_stage(cfg, axes, backend, reporter,
                                          executors.get() if executors.distributed else None,
                                          rd.checkpoint_dir / "units" / "fmr", config_hash(cfg))
        VARIABLES.update(FMR_VARIABLES)
        arrays.update(fmr_arrays)
        notes.extend(fmr_notes)
        stage_time("fmr", t0)
    if "switching_times" in outputs:  # switching-time statistics (gpuqd.switching_times), own checkpoint file
        from gpuqd.switching_times import SWITCHING_VARIABLES, switching_times_stage

        t0 = time.perf_counter()
        if executors.distributed:
            from gpuqd.run.first_passage_units import switching_times_by_units

            st_arrays, st_notes, st_rates = switching_times_by_units(
                cfg, backend, table, axes, rd.checkpoint_dir, reporter, config_hash(cfg), executors.get())
        else:
            st_arrays, st_notes, st_rates = switching_times_stage(cfg, backend, table, axes, rd.checkpoint_dir,
                                                                  reporter, config_hash(cfg))
        VARIABLES.update(SWITCHING_VARIABLES)
        arrays.update(st_arrays)
        notes.extend(st_notes)
        meta["throughput"].update({k: round(v, 1) for k, v in st_rates.items()})
        stage_time("switching_times", t0)

    executors.close()
    t0 = time.perf_counter()
    attrs = {
        "gpuqd_version": __version__, "name": cfg.name, "outputs": sorted(outputs), "config": cfg.data,
        "axes": {"eps_tilde": ["eps_tilde_over_U", "eps_tilde"], "V": ["V_over_U", "V"]},
        "units": {"energy": "Gamma = (Gamma_S + Gamma_D)/2", "time": "hbar/Gamma", "current": "e Gamma/hbar",
                  "spin_current": "Gamma (hbar * Gamma/hbar)", "conductance": "e^2/hbar", "angle": "rad"},
        "notes": notes,
    }
    write_results(rd.results_path, arrays, VARIABLES, attrs, _readme_text(arrays, attrs))
    stage_time("results", t0)
    if make_figures:
        t0 = time.perf_counter()
        from gpuqd.plotting import make_figures as _figs

        written, skipped = _figs(rd.path)
        for s in skipped:
            reporter.message(s)
        for p in written:
            reporter.message(f"figure: {p}")
        stage_time("figures", t0)
    # finished: remove the checkpoint, mark the run complete
    state = rd.checkpoint_dir / "dynamics_state.npz"
    state.unlink(missing_ok=True)
    (rd.checkpoint_dir / "switching_state.npz").unlink(missing_ok=True)  # switching_times stage
    shutil.rmtree(rd.checkpoint_dir / "units", ignore_errors=True)  # work units (gpuqd.run.execution)
    if rd.checkpoint_dir.exists() and not any(rd.checkpoint_dir.iterdir()):
        rd.checkpoint_dir.rmdir()
    meta["status"] = "finished"
    meta["end_time"] = _now()
    meta["sessions"][-1]["end"] = meta["end_time"]
    meta["wall_s_total"] = round(sum(s["wall_s"] for s in meta["stages"].values()), 3)
    rd.write_meta(meta)
    return rd.path


def _readme_text(arrays: dict, attrs: dict) -> str:
    lines = [
        f"gpuqd results ({attrs['gpuqd_version']}), run '{attrs['name']}'.",
        "Read with NumPy alone: d = np.load('results.npz'); attrs = json.loads(str(d['attrs'])).",
        "Axes: eps_tilde_over_U / eps_tilde (Γ) index dimension 0, V_over_U / V (Γ) dimension 1 of all maps.",
        "Units: energies in Γ = (Γ_S+Γ_D)/2, times in ħ/Γ, currents in eΓ/ħ, conductance in e²/ħ, angles rad.",
        "",
    ]
    for k, v in arrays.items():
        var = VARIABLES[k]
        lines.append(f"{k} {list(np.shape(v))} [{var['units']}] dims={var['dims']}: {var['description']}")
    lines += ["", "Notes:"] + [f"- {n}" for n in attrs["notes"]]
    return "\n".join(lines) + "\n"


def regenerate_figures(run_dir: str | os.PathLike, reporter: Reporter | None = None) -> list[Path]:
    """(Re)draw the figures of a finished run directory."""
    from gpuqd.plotting import make_figures as _figs

    reporter = reporter or Reporter()
    written, skipped = _figs(Path(run_dir))
    for s in skipped:
        reporter.message(s)
    return written


ProgressCallback = Callable[[int, int], None]
dumps = dumps_json

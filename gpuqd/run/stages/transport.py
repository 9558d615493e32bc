"""Stage ``transport`` (always runs; output ``torque_maps``): torque table and transport maps.

One O(Γ)+O(Γ²) solve per grid point and block of ε̃ rows at the torque-table nodes (only if a later
stage needs the table) and at θ = 0.01π, 0.99π (readout and torque maps), plus the linear
conductance at V = 0, the Fig. 4 inset I(θ) and the resonance / partner lines (docs/physics.md §5).
Everything is built by :meth:`gpuqd.transport.TorqueTable.build` (the table nodes plus θ = 0.01π, 0.99π
for the maps; each (ε̃, V) kernel once), its blocks computed through the run's executor (a local run: on
threads over every usable core, :func:`gpuqd.run.execute.device.transport_workers`; the same numbers as on
one). Results are cached in ``<runs_dir>/.cache/`` (:class:`gpuqd.run.store.cache.TransportCache`); the blocks
of a computation in progress survive interruptions.

Units: energies and torque coefficients in Γ, currents in eΓ/ħ, conductance in e²/ħ, angles in rad.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from types import MappingProxyType
from typing import Any

import numpy as np

from gpuqd.atomic_io import checksum_ok
from gpuqd.run.config.factories import make_spin_valve, solve, table_nodes
from gpuqd.run.config.typed import RunConfig
from gpuqd.run.costs.coefficients import Costs
from gpuqd.run.costs.model import MAPS_PER_POINT, StageEstimate, table_bytes
from gpuqd.run.execute.checkpoint import kill_hook
from gpuqd.run.execute.device import transport_backend, transport_workers
from gpuqd.run.stages.base import Stage, StageContext, StageResult
from gpuqd.run.store.cache import TransportCache
from gpuqd.run.store.file_errors import RunFileError
from gpuqd.transport import TorqueTable
from gpuqd.transport.torque_table import threaded_map

__all__ = ["STAGE", "THETA_P", "THETA_AP", "TRANSPORT_BLOCK_POINTS", "VARIABLES"]

THETA_P = 0.01 * math.pi  # "θ ≈ 0" of [G] Figs. 3, 4
THETA_AP = 0.99 * math.pi  # "θ ≈ π"
#: Grid points per transport block (checkpoint granularity; env GPUQD_TRANSPORT_BLOCK_POINTS overrides).
TRANSPORT_BLOCK_POINTS = 2048
#: Number of ε̃ values on which the resonance / partner lines are drawn.
LINE_POINTS = 161
#: Table nodes built when no later stage needs the table (maps only): the smallest table; the (ε̃, V)
#: kernel is built once either way.
MAPS_ONLY_NODES = 4
#: θ values of the Fig. 4 inset I(θ)
INSET_THETA = 241

_G = ["eps_tilde", "V"]
VARIABLES = MappingProxyType(
    {
        "theta_parallel": {"dims": [], "units": "rad", "description": "θ of the 'parallel' direct solves (0.01π)"},
        "theta_antiparallel": {
            "dims": [],
            "units": "rad",
            "description": "θ of the 'antiparallel' direct solves (0.99π)",
        },
        "readout_current_parallel": {
            "dims": _G,
            "units": "Gamma (e Γ/ħ)",
            "description": "charge (particle) current I_C into the drain at θ = 0.01π",
        },
        "readout_current_antiparallel": {"dims": _G, "units": "Gamma (e Γ/ħ)", "description": "I_C at θ = 0.99π"},
        "dot_state_unphysical": {
            "dims": _G,
            "units": "1",
            "description": "order 1 only: 1 where the dot state at θ = 0.01π or 0.99π is not a density matrix "
            "(|S| > P1/2 or a probability outside [0, 1]); torques there are not physical",
        },
        "readout_conductance_parallel": {
            "dims": _G,
            "units": "e^2/hbar",
            "description": "I_C/V at θ = 0.01π; V = 0 column: linear conductance dI_C/dV from V = ±1e-3 U",
        },
        "readout_conductance_antiparallel": {
            "dims": _G,
            "units": "e^2/hbar",
            "description": "I_C/V at θ = 0.99π (V = 0: linear conductance)",
        },
        "torque_field_like_parallel": {
            "dims": _G,
            "units": "Gamma (ħΓ/ħ)",
            "description": "I_FL coefficient of e_FL = n_D × e_z at θ = 0.01π (direct solve, not the table)",
        },
        "torque_field_like_antiparallel": {"dims": _G, "units": "Gamma", "description": "I_FL at θ = 0.99π"},
        "torque_damping_like_parallel": {
            "dims": _G,
            "units": "Gamma",
            "description": "I_DL coefficient of e_DL = n_D × (n_D × e_z) at θ = 0.01π",
        },
        "torque_damping_like_antiparallel": {"dims": _G, "units": "Gamma", "description": "I_DL at θ = 0.99π"},
        "resonance_V": {
            "dims": ["eps_tilde", "root"],
            "units": "Gamma",
            "description": "roots V of the resonance Γ_D p_D Φ_D = Γ_S p_S Φ_S within the V range "
            "at each grid ε̃ (NaN-padded)",
        },
        "partner_V": {
            "dims": ["eps_tilde", "root"],
            "units": "Gamma",
            "description": "roots V of the partner line Γ_D p_D Φ_D = −Γ_S p_S Φ_S (NaN-padded)",
        },
        "lines_eps_tilde_over_U": {
            "dims": ["line_eps"],
            "units": "U",
            "description": "fine ε̃ axis of lines_resonance_V_over_U / lines_partner_V_over_U",
            "coordinate": "dimension",
        },
        "lines_resonance_V_over_U": {
            "dims": ["line_eps", "root"],
            "units": "U",
            "description": "resonance line V(ε̃) on the fine axis (NaN-padded)",
        },
        "lines_partner_V_over_U": {
            "dims": ["line_eps", "root"],
            "units": "U",
            "description": "partner line V(ε̃) on the fine axis (NaN-padded)",
        },
        "torque_inset_theta": {
            "dims": ["theta"],
            "units": "rad",
            "description": "θ of the Fig. 4 inset (exact point torque_inset_point_over_U)",
            "coordinate": "dimension",
        },
        "torque_inset_point_over_U": {"dims": ["xy"], "units": "U", "description": "(ε̃, V) of the Fig. 4 inset"},
        "torque_inset_field_like": {"dims": ["theta"], "units": "Gamma", "description": "I_FL(θ) at the inset point"},
        "torque_inset_damping_like": {"dims": ["theta"], "units": "Gamma", "description": "I_DL(θ) at the inset point"},
        "torque_inset_charge_current": {
            "dims": ["theta"],
            "units": "Gamma",
            "description": "I_C(θ) at the inset point",
        },
    }
)
NOTES = (
    "Torque maps and P/AP readout are direct transport solves at θ = 0.01π and 0.99π (not the table).",
    "Torque coefficients I_FL, I_DL multiply the non-normalised e_FL, e_DL (|e| = sin θ), docs/physics.md §1.",
    "V = 0 column of readout_conductance_parallel/antiparallel: linear conductance from V = ±1e-3 U.",
)


def _load_table(cache: TransportCache, key: str, n_points: int, n_theta: int) -> TorqueTable | None:
    path = cache.path("tables", key)
    if not path.exists():
        return None
    if not checksum_ok(path):
        warnings.warn(f"cache entry {path} is damaged (checksum mismatch); recomputing it", stacklevel=2)
        return None
    try:
        table = TorqueTable.load(path)
    except Exception as exc:
        cause = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise RunFileError(
            f"cache file {path} is corrupt or unreadable ({cause}); delete it (it is recomputed)"
        ) from None
    return table if table.n_points == n_points and table.n_theta == n_theta else None


def _build(ctx: StageContext, sv: Any, n_theta: int, table_key: str, job_key: str) -> TorqueTable:
    """:meth:`TorqueTable.build` on the run's grid (its nodes plus θ = 0.01π, 0.99π for the maps), block
    by block through the run's executor; blocks kept in the cache until the stage is done."""
    grid = ctx.cfg.grid
    block_points = int(os.environ.get("GPUQD_TRANSPORT_BLOCK_POINTS", TRANSPORT_BLOCK_POINTS))
    map_blocks: Callable[[Callable[[Any], Any], Iterable[Any]], Iterator[Any]] = ctx.executor.map
    workers = transport_workers(ctx.threads)
    if getattr(ctx.executor, "name", "") == "local" and workers > 1:
        # every core of this machine: the blocks on threads (the blocking itself never depends on the
        # number of threads: BLAS-batched sums are reproducible for the same blocks only)
        map_blocks = threaded_map(workers)
    ctx.reporter.start("transport", grid.n_points, "points", work_per_unit=float(n_theta + 2))
    table = TorqueTable.build(
        sv,
        grid.eps_tilde,
        grid.V,
        ctx.cfg.transport.order,
        n_theta,
        extra_theta=[THETA_P, THETA_AP],
        block_points=block_points,
        cache_dir=ctx.cache.blocks(job_key).root,
        cache_key=table_key,
        map_blocks=map_blocks,
        progress=lambda done, total: ctx.reporter.update(done),
        on_block_saved=lambda n: kill_hook("transport", n),
    )
    ctx.reporter.finish()
    return table


#: tolerance of the dot-state bounds (probabilities in [0, 1], |⟨S⟩| ≤ P1/2)
DOT_STATE_TOLERANCE = 1e-9


def unphysical_dot_state(result: Any) -> np.ndarray:
    """(ε̃, V) mask, 1 where the stationary dot state at any solved angle violates a bound that every
    density matrix obeys: occupations P0, P1, P2 in [0, 1] and |⟨S⟩| ≤ P1/2 (spin ½, single occupation)."""
    occ, spin = np.asarray(result.occupations), np.asarray(result.dot_spin)
    tol = DOT_STATE_TOLERANCE
    bad = np.any((occ < -tol) | (occ > 1 + tol), axis=-1) | (np.linalg.norm(spin, axis=-1) > 0.5 * occ[..., 1] + tol)
    return np.any(bad, axis=-1).astype(np.int8)


def _extra_maps(cfg: RunConfig, sv: Any, table: TorqueTable) -> dict:
    """Readout/torque maps at θ ≈ 0, π (the table's extra angles), conductances, inset I(θ), resonance lines."""
    tr, fig, grid = cfg.transport, cfg.figures, cfg.grid
    order, U = tr.order, tr.U
    eps, V = grid.eps_tilde, grid.V
    maps: dict[str, np.ndarray] = {}
    for j, label in enumerate(("parallel", "antiparallel")):
        maps[f"readout_current_{label}"] = table.extra["charge_current"][:, j].reshape(grid.shape)
        maps[f"torque_field_like_{label}"] = table.extra["field_like"][:, j].reshape(grid.shape)
        maps[f"torque_damping_like_{label}"] = table.extra["damping_like"][:, j].reshape(grid.shape)
    if order == 1:  # deep blockade: flag where the first-order dot state is unphysical (docs/physics.md §16)
        maps["dot_state_unphysical"] = unphysical_dot_state(
            solve(sv, eps[:, None, None], V[None, :, None], np.array([THETA_P, THETA_AP]), order)
        )
    # conductance I_C/V; at V = 0 the linear conductance from a symmetric difference
    scale = U if U > 0 else tr.T
    delta = 1e-3 * scale
    zero = np.abs(V) <= 1e-12 * max(scale, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        for j, label in enumerate(("parallel", "antiparallel")):
            g = maps[f"readout_current_{label}"] / V[None, :]
            if np.any(zero):
                th = (THETA_P, THETA_AP)[j]
                plus = solve(sv, eps, delta, th, order).charge_current
                minus = solve(sv, eps, -delta, th, order).charge_current
                g[:, zero] = ((plus - minus) / (2 * delta))[:, None]
            maps[f"readout_conductance_{label}"] = g
    # Fig. 4 inset: I(θ) at the exact requested point, nodes clustered at θ = 0, π
    s = np.linspace(0.002, 0.998, INSET_THETA)
    theta = 0.5 * np.pi * (1 - np.cos(np.pi * s))
    unit = grid.point_unit
    e_in, v_in = fig.torque_inset_eps_tilde * unit, fig.torque_inset_V * unit
    r = solve(sv, e_in, v_in, theta, order)
    maps["torque_inset_theta"] = theta
    maps["torque_inset_point_over_U"] = grid.over_U(np.array([e_in, v_in]))
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
            maps[f"lines_{kind}_V_over_U"] = grid.over_U(lines)
    maps["lines_eps_tilde_over_U"] = grid.over_U(fine)
    return maps


def _cache_keys(cfg: RunConfig) -> tuple[str, str]:
    """Cache keys of the torque table and of the transport maps of the run ``cfg``."""
    tr, grid = cfg.transport, cfg.grid
    nodes_hash = hashlib.sha256(table_nodes(tr.n_theta).tobytes()).hexdigest()
    table_key = TransportCache.key("table", tr, grid, {"n_theta": tr.n_theta, "nodes": nodes_hash})
    return table_key, TransportCache.key("maps", tr, grid, {"theta": [THETA_P, THETA_AP]})


def estimate(cfg: RunConfig, costs: Costs, needs: frozenset[str]) -> StageEstimate:
    """The table nodes (all of ``transport.n_theta`` if a later stage needs the table, else
    :data:`MAPS_ONLY_NODES`) plus θ = 0.01π, 0.99π at every grid point, block by block on the local run's
    threads (:meth:`gpuqd.run.costs.coefficients.TransportCosts.blocks_seconds`), and the maps' extras
    (inset I(θ), lines, V = 0 conductances); no time where the cache holds the results."""
    tr, grid = cfg.transport, cfg.grid
    need_table = "torque_table" in needs
    n_pts, (n_eps, n_V) = grid.n_points, grid.shape
    n_th = (tr.n_theta if need_table else MAPS_ONLY_NODES) + 2
    block = min(n_pts, max(1, TRANSPORT_BLOCK_POINTS // n_V) * n_V)
    tc = costs.transport(tr.order)
    held = table_bytes(n_pts, n_th) + MAPS_PER_POINT * n_pts * 8
    working = tc.block_bytes(block, n_th)
    # the table's blocks on the local run's threads (a Dask run: one thread's time, not divided by its workers)
    workers = transport_workers(cfg.execution.threads) if cfg.execution.engine == "local" else 1
    seconds = (
        tc.blocks_seconds(n_pts, n_th, block, workers)
        + tc.point(INSET_THETA)
        + 2 * (n_eps + LINE_POINTS) * tc.line_s
        + 4 * n_eps * tc.point(1)
    )
    cache = TransportCache(cfg.runs_dir / ".cache")
    table_key, maps_key = _cache_keys(cfg)
    cached = cache.path("maps", maps_key).is_file() and (not need_table or cache.path("tables", table_key).is_file())
    work = f"{n_pts} points × {n_th} θ = {n_pts * n_th:.3g} solves (order {tr.order})"
    if cached:
        return StageEstimate("transport", work, 0.0, int(held), note="from the cache")
    return StageEstimate("transport", work, seconds, int(held + working))


def run(ctx: StageContext) -> StageResult:
    """Torque table (into ``ctx.products['torque_table']`` if needed) and the transport maps."""
    cfg, grid = ctx.cfg, ctx.cfg.grid
    tr = cfg.transport
    need_table = "torque_table" in ctx.needs
    n_theta = tr.n_theta
    table_key, maps_key = _cache_keys(cfg)
    table = _load_table(ctx.cache, table_key, grid.n_points, n_theta) if need_table else None
    if table is not None:
        ctx.reporter.message(f"torque table: reusing cache {ctx.cache.path('tables', table_key)}")
    maps = ctx.cache.load("maps", maps_key)
    if maps is not None:
        ctx.reporter.message(f"transport maps: reusing cache {ctx.cache.path('maps', maps_key)}")
    compute_table = need_table and table is None
    result = StageResult(notes=list(NOTES))
    if compute_table or maps is None:
        t0 = time.perf_counter()
        sv = make_spin_valve(tr, transport_backend(ctx.backend))
        n_build = n_theta if compute_table else MAPS_ONLY_NODES
        job_key = hashlib.sha256(f"{table_key if compute_table else n_build}:{maps_key}".encode()).hexdigest()[:24]
        built = _build(ctx, sv, n_build, table_key, job_key)
        if compute_table:
            table = built
            table.save(ctx.cache.path("tables", table_key), checksum=True)
        if maps is None:
            maps = _extra_maps(cfg, sv, built)
            ctx.cache.save("maps", maps_key, maps)
        ctx.cache.blocks(job_key).clear()
        result.throughput["transport_points_per_s"] = round(grid.n_points / max(time.perf_counter() - t0, 1e-9), 3)
    bad = int(np.sum(maps.get("dot_state_unphysical", 0)))
    if bad:  # once per run, also when the maps come from the cache
        warnings.warn(
            f"transport: the order-1 dot state is unphysical (|S| > P1/2 or a probability outside [0, 1]) at "
            f"{bad} of {grid.n_points} grid points; see the mask dot_state_unphysical in the results",
            RuntimeWarning,
            stacklevel=2,
        )
        result.notes.append(f"dot_state_unphysical: {bad} of {grid.n_points} grid points (order 1, deep blockade).")
    ctx.products["torque_table"] = table
    ctx.products["transport_maps"] = maps
    result.arrays = {"theta_parallel": np.array(THETA_P), "theta_antiparallel": np.array(THETA_AP)} | maps
    return result


STAGE = Stage(
    name="transport",
    order=0,
    run=run,
    outputs=("torque_maps",),
    always=True,
    variables=VARIABLES,
    figures=("fig4_torques",),
    provides=("torque_table", "transport_maps"),
    estimate=estimate,
)

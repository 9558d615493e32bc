"""Work, memory and time of the ``write_error`` stage before it runs (docs/physics.md §16), counted from the
typed configuration as the stage does the work:

* the exact axial Fokker–Planck answer (axial models only): at one write point
  :func:`gpuqd.observables.write_error.legendre_work` — at the two Legendre sizes L and 1.5 L the set-up
  on the quadrature nodes, the generators and one matrix exponential per segment —, for a map
  :func:`gpuqd.observables.write_error.legendre_map_work` (the shared segments once, one generator and one
  exponential per write point, those divided by the measured speed-up of the run's threads), priced with
  :meth:`gpuqd.run.costs.coefficients.Costs.legendre`;
* the simulated ensemble (one write point, ``trajectories`` > 0): per chunk every trajectory runs the
  segments before the write, the longest width once and, per width, the segments after it; priced with
  the engine's step cost for a tabulated torque, ``c + d·n`` per step of a chunk of n trajectories;
* the rare-event (splitting) estimate, as a bound: ``particles × repeats`` trajectories through the whole
  protocol per width on the same engine (resampling between stages not counted).

Memory: the torque table as the engine holds it, the per-trajectory state of one chunk (engine state, the
copy branched at every width, the per-width results) and the Fokker–Planck matrices.
"""

from __future__ import annotations

import math

from gpuqd.observables.fp_legendre import theta_panels
from gpuqd.observables.pulse_ensemble import segment_steps, steps_of
from gpuqd.observables.write_error import legendre_map_work, legendre_work
from gpuqd.run.config.factories import table_nodes
from gpuqd.run.config.typed import RunConfig
from gpuqd.run.costs.coefficients import Costs, EngineCosts
from gpuqd.run.costs.model import StageEstimate, engine_table_bytes
from gpuqd.run.execute.device import transport_workers
from gpuqd.run.stages.write_error_protocol import protocol_for

__all__ = ["estimate"]

#: bytes per trajectory and width of the ensemble's results (failed: bool, final u, read-out current: float64)
RESULT_BYTES_PER_WIDTH = 17
#: n × n float64 matrices alive in one Legendre solve (generators, the read-out propagator, expm work space)
LEGENDRE_MATRICES = 10


def _axial(cfg: RunConfig) -> bool:
    mg = cfg.magnet
    return mg.free == "drain" and mg.cubic_anisotropy == 0.0 and mg.field[0] == 0.0 and mg.field[1] == 0.0


def _fokker_planck(cfg: RunConfig, costs: Costs, write: int | None) -> tuple[str, float, int]:
    """(work, seconds, bytes) of the exact answer: the curve at ``write``, or the map (None): the work the
    write points share once, theirs side by side on the run's threads."""
    we = cfg.write_error
    lc = costs.legendre()
    nodes = table_nodes(cfg.transport.n_theta)
    if write is None:
        protocol = protocol_for(cfg, 0)
        shared = legendre_map_work(protocol, we.map_width, we.fp_degree, 0)
        works = legendre_map_work(protocol, we.map_width, we.fp_degree, cfg.grid.n_points)
        speedup = lc.parallel_speedup(transport_workers(cfg.execution.threads))
    else:
        shared = []
        works = legendre_work(protocol_for(cfg, write), we.widths, we.fp_degree)
        speedup = 1.0
    seconds, exponentials, peak = 0.0, 0, 0
    for k, w in enumerate(works):
        q = theta_panels(nodes, 2.0 * math.pi / (3.0 * w.size))[0].size
        alone = lc.solve(w.size, q, w.generators, len(w.durations))
        common = lc.solve(w.size, q, shared[k].generators, len(shared[k].durations)) if shared else alone
        seconds += common + (alone - common) / speedup
        exponentials += len(w.durations)
        peak = max(peak, 8 * (LEGENDRE_MATRICES * w.size**2 + 3 * w.size * q))
    sizes = " and ".join(str(w.size) for w in works)
    what = f"map of {cfg.grid.n_points} write points" if write is None else f"{len(we.widths)} widths"
    return f"Fokker–Planck {what}: {exponentials} exponentials of size {sizes}", seconds, peak


def _ensemble(cfg: RunConfig, ec: EngineCosts | None, write: int) -> tuple[str, float | None, int]:
    """(work, seconds, bytes) of the simulated trajectories (chunks of ``chunk_trajectories``)."""
    we, dt = cfg.write_error, cfg.dynamics.dt
    protocol = protocol_for(cfg, write)
    before = sum(s for _, s in segment_steps(protocol.before(), dt))
    after = sum(s for _, s in segment_steps(protocol.after(), dt))
    longest = steps_of("pulse width", float(we.widths[-1]), dt)
    per_traj = before + longest + len(we.widths) * after
    full, rest = divmod(int(we.trajectories), int(we.chunk_trajectories))
    chunks = [(full, int(we.chunk_trajectories))] + ([(1, rest)] if rest else [])
    seconds = None if ec is None else sum(k * per_traj * ec.step(n) for k, n in chunks)
    n_chunk = min(int(we.trajectories), int(we.chunk_trajectories))
    per_bytes = 2 * (ec.bytes_per_traj if ec else 0.0) + RESULT_BYTES_PER_WIDTH * len(we.widths)
    work = f"{we.trajectories} trajectories × {per_traj} steps = {we.trajectories * per_traj:.3g} trajectory-steps"
    return work, seconds, int(n_chunk * per_bytes)


def _rare_event(cfg: RunConfig, ec: EngineCosts | None, write: int) -> tuple[str, float | None, int]:
    """(work, seconds, bytes) of the splitting estimate, an upper bound: every particle of every replica
    through the whole protocol at every width, in one ensemble."""
    we, dt = cfg.write_error, cfg.dynamics.dt
    protocol = protocol_for(cfg, write)
    n = int(we.splitting_particles) * int(we.splitting_repeats)
    fixed = sum(s for _, s in segment_steps(protocol.before() + protocol.after(), dt))
    steps = sum(fixed + steps_of("pulse width", float(w), dt) for w in we.widths)
    seconds = None if ec is None else steps * ec.step(n)
    work = f"splitting ≤ {n} particles × {steps} steps ({len(we.widths)} widths) = {n * steps:.3g} trajectory-steps"
    return work, seconds, int(n * 2 * (ec.bytes_per_traj if ec else 0.0))


def estimate(cfg: RunConfig, costs: Costs, needs: frozenset[str]) -> StageEstimate:
    """The write-error stage (module docstring): Fokker–Planck solves, ensemble, splitting bound."""
    we, grid = cfg.write_error, cfg.grid
    unit = grid.point_unit
    write = (
        None
        if we.write_eps_tilde is None
        else grid.flat_index(*grid.nearest(we.write_eps_tilde * unit, we.write_V * unit))
    )
    table = engine_table_bytes(grid.n_points, cfg.transport.n_theta, cfg.magnet.free == "both")
    parts: list[tuple[str, float | None, int]] = []
    if _axial(cfg):
        parts.append(_fokker_planck(cfg, costs, write))
    ec = (
        costs.engine(True, cfg.magnet)
        if write is not None and (we.trajectories > 0 or we.splitting_particles > 0)
        else None
    )
    if write is not None and we.trajectories > 0:
        parts.append(_ensemble(cfg, ec, write))
    bound = write is not None and we.splitting_particles > 0
    if write is not None and bound:
        parts.append(_rare_event(cfg, ec, write))
    times = [s for _, s, _ in parts]
    seconds = None if any(s is None for s in times) else float(sum(s or 0.0 for s in times))
    memory = table + max((b for _, _, b in parts), default=0) + 8 * grid.n_points
    work = "; ".join(w for w, _, _ in parts) or "nothing to compute"
    return StageEstimate("write_error", work, seconds, memory, bound=bound)

"""Stage ``write_error`` (output ``write_error``): write-error rates of gate/bias pulses (docs/physics.md §16).

Protocol (:class:`gpuqd.observables.write_error.PulseProtocol`): equilibrium at the rest point (ε̃, V) in
the initial state, ``rest_before`` at rest, an optional rise staircase, the write point for the pulse width,
the staircase back, ``settle`` at rest, then the read: the write failed when n_z is still in the initial
hemisphere. All points are grid points (the nearest to the requested values) of the run's torque table.

Per pulse width: ``write_error_rate_fp``, the exact axial Fokker–Planck answer (Legendre–Galerkin,
exp(Mt) per segment; axial models only, else NaN), the simulated ``write_error_rate`` of
``trajectories`` trajectories with the exact Clopper–Pearson interval, optionally the
committor-weighted splitting estimate (any model; docs/physics.md §16.3), and the readout current
before/after. With ``write_eps_tilde`` and ``write_V`` null, every grid point is a write point and
``write_error_rate_fp_map`` holds the Fokker–Planck map at ``map_width``. The ensemble is run in chunks of
``chunk_trajectories`` (trajectory ids are global, so the result does not depend on the chunking), each
chunk's counts checkpointed to ``checkpoint/write_error.npz``. Units: times in 1/Γ, currents in Γ (e = 1).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from gpuqd.observables.pulse_ensemble import clopper_pearson, run_pulse_ensemble, steps_of
from gpuqd.observables.splitting import splitting_write_error
from gpuqd.observables.write_error import write_error_rate_fp, write_error_rate_fp_map
from gpuqd.run.config.factories import make_magnet
from gpuqd.run.config.schema import Choice, Num, Section, Vec3
from gpuqd.run.execute.device import transport_workers
from gpuqd.run.stages.base import Fail, Stage, StageContext, StageResult
from gpuqd.run.stages.write_error_estimate import estimate
from gpuqd.run.stages.write_error_protocol import protocol_for
from gpuqd.transport.torque_table import threaded_map

__all__ = ["STAGE", "SECTION", "WriteErrorConfig", "VARIABLES", "check"]

_POINT: dict[str, Any] = {"lo": -1e6, "hi": 1e6, "unit": "U"}
SECTION = Section(
    {
        "rest_eps_tilde": Num(default=-0.45, **_POINT, doc="ε̃ of the rest point (nearest grid point)"),
        "rest_V": Num(default=0.0, **_POINT, doc="V of the rest point (nearest grid point)"),
        "write_eps_tilde": Num(default=-0.45, nullable=True, **_POINT, doc="ε̃ of the write pulse (null: map)"),
        "write_V": Num(default=-0.45, nullable=True, **_POINT, doc="V of the write pulse (null: map)"),
        "read_V": Num(default=None, nullable=True, **_POINT, doc="V of the readout at rest ε̃ (null: rest V)"),
        "initial_state": Choice(("P", "AP"), default="P", doc="state before the pulse"),
        "rest_before": Num(default=0.0, lo=0, hi=1e9, unit="1/Γ", doc="time at rest before the pulse"),
        "settle": Num(default=10.0, lo=0, hi=1e9, unit="1/Γ", doc="time at rest after the pulse, before the read"),
        "rise_time": Num(default=0.0, lo=0, hi=1e9, unit="1/Γ", doc="rise (and fall) time of the pulse"),
        "rise_steps": Num("int", default=2, lo=1, hi=64, doc="grid points of the rise staircase"),
        "widths": Vec3(default=[20.0, 30.0, 40.0], length=None, bound=1e9, unit="1/Γ", doc="pulse widths"),
        "trajectories": Num("int", default=10000, lo=0, hi=10**12, doc="simulated trajectories per width"),
        "chunk_trajectories": Num("int", default=20000, lo=1, hi=10**9, doc="trajectories per checkpoint"),
        "confidence": Num(default=0.99, lo=0.5, hi=1, hi_open=True, doc="level of the binomial interval"),
        "fp_degree": Num("int", default=192, lo=16, hi=2048, doc="Legendre polynomials of the exact answer"),
        "map_width": Num(default=None, nullable=True, lo=0, hi=1e9, unit="1/Γ", doc="width of the WER map"),
        "splitting_particles": Num("int", default=0, lo=0, hi=10**8, doc="splitting particles (0: off)"),
        "splitting_stages": Num("int", default=40, lo=1, hi=10**5, doc="resampling stages in the write"),
        "splitting_repeats": Num("int", default=20, lo=2, hi=10**5, doc="independent splitting replicas"),
    },
    optional=True,
)


@dataclass(frozen=True)
class WriteErrorConfig:
    """The ``write_error:`` section (points in U or Γ as the grid's point unit, times in 1/Γ)."""

    rest_eps_tilde: float
    rest_V: float
    write_eps_tilde: float | None
    write_V: float | None
    read_V: float | None
    initial_state: str
    rest_before: float
    settle: float
    rise_time: float
    rise_steps: int
    widths: tuple
    trajectories: int
    chunk_trajectories: int
    confidence: float
    fp_degree: int
    map_width: float | None
    splitting_particles: int
    splitting_stages: int
    splitting_repeats: int


def _axial(data: dict) -> bool:
    mg = data["magnet"]
    cubic = mg["anisotropy"] != "uniaxial" and mg["K_cubic"] != 0.0
    return mg["free"] == "drain" and not cubic and mg["field"][0] == 0.0 and mg["field"][1] == 0.0


def check(data: dict, fail: Fail) -> None:
    """Cross-key checks; ``fail(key_path, message)`` raises ConfigError."""
    we = data["write_error"]
    if "write_error" not in data["outputs"]:
        return
    widths = np.asarray(we["widths"], dtype=float)
    if widths.min() < 0 or np.any(np.diff(widths) <= 0):
        fail("write_error.widths", f"got {list(widths)}; allowed: increasing widths >= 0 (1/Γ)")
    if data["torque"]["model"] != "transport":
        fail("torque.model", "output write_error needs the torque table over (ε̃, V); allowed: transport")
    if (we["write_eps_tilde"] is None) != (we["write_V"] is None):
        fail("write_error.write_V", "give both write_eps_tilde and write_V, or neither (map over the grid)")
    if we["write_eps_tilde"] is None and we["map_width"] is None:
        fail("write_error.map_width", "a WER map (write point null) needs map_width (1/Γ)")
    dt = data["dynamics"]["dt"]
    rise = [("rise_time", we["rise_time"] / we["rise_steps"])] if we["rise_time"] > 0 else []
    for key, value in [("rest_before", we["rest_before"]), ("settle", we["settle"]), *rise]:
        ratio = value / dt
        if abs(ratio - round(ratio)) > 1e-9 * max(1.0, ratio):
            fail(f"write_error.{key}", f"{value} is not a whole number of steps of dt = {dt}")
    for w in widths:
        if abs(w / dt - round(w / dt)) > 1e-9 * max(1.0, w / dt):
            fail("write_error.widths", f"width {w} is not a whole number of steps of dt = {dt}")
    if not _axial(data) and we["trajectories"] == 0 and we["splitting_particles"] == 0:
        fail(
            "write_error.trajectories",
            "this model has no exact axial answer; allowed: trajectories > 0 or splitting_particles > 0",
        )


_W = ["pulse_width"]
VARIABLES = MappingProxyType(
    {
        "pulse_width": {
            "dims": _W,
            "units": "1/Gamma",
            "description": "width of the write pulse",
            "coordinate": "dimension",
        },
        "write_error_rate": {
            "dims": _W,
            "units": "1",
            "description": "simulated write-error rate: fraction of trajectories still in the initial state",
        },
        "write_error_rate_lower": {"dims": _W, "units": "1", "description": "Clopper–Pearson lower limit"},
        "write_error_rate_upper": {"dims": _W, "units": "1", "description": "Clopper–Pearson upper limit"},
        "write_error_trajectories": {"dims": _W, "units": "1", "description": "simulated trajectories per width"},
        "write_error_rate_fp": {
            "dims": _W,
            "units": "1",
            "description": "exact axial Fokker–Planck write-error rate (NaN: model not axial)",
        },
        "write_error_rate_fp_error": {
            "dims": _W,
            "units": "1",
            "description": "absolute change of write_error_rate_fp from 2/3 of the Legendre degree",
        },
        "write_error_rate_splitting": {"dims": _W, "units": "1", "description": "splitting estimate (§16.3)"},
        "write_error_rate_splitting_se": {"dims": _W, "units": "1", "description": "its standard error"},
        "readout_current_before": {"dims": [], "units": "Gamma", "description": "mean I_C at the read point before"},
        "readout_current_after": {"dims": _W, "units": "Gamma", "description": "mean I_C at the read point after"},
        "write_error_points": {
            "dims": ["role", "axis"],
            "units": "Gamma",
            "description": "(ε̃, V) of the grid points used: rest, write (NaN for a map), read",
        },
        "write_error_map_width": {"dims": [], "units": "1/Gamma", "description": "pulse width of the map"},
        "write_error_rate_fp_map": {
            "dims": ["eps_tilde", "V"],
            "units": "1",
            "description": "exact write-error rate at map_width for every grid point as the write point",
        },
    }
)


class _Counts:
    """Failures and readout sums over finished chunks (checkpointed)."""

    def __init__(self, n_widths: int) -> None:
        self.state = {
            "chunks_done": np.array(0),
            "failures": np.zeros(n_widths, dtype=np.int64),
            "trials": np.zeros(n_widths, dtype=np.int64),
            "current_sum": np.zeros(n_widths),
            "current_before_sum": np.array(0.0),
        }

    #: the Checkpoint protocol's stepping API; the counts are filled chunk by chunk by the stage itself
    done = False

    def advance(self, n_steps: int) -> int:
        return 0

    def set_state(self, state: dict) -> None:
        self.state = {k: np.asarray(state[k]) for k in self.state}

    def get_state(self) -> dict:
        return dict(self.state)


def run(ctx: StageContext) -> StageResult:
    cfg = ctx.cfg
    we, grid, dyn = cfg.write_error, cfg.grid, cfg.dynamics
    table = ctx.products["torque_table"]
    magnet = make_magnet(cfg.magnet)
    axial = magnet.free == "drain" and magnet.K_cubic == 0.0 and magnet.field[:2] == (0.0, 0.0)
    widths = np.asarray(we.widths, dtype=float)
    unit = grid.point_unit
    arrays: dict[str, np.ndarray] = {"pulse_width": widths}
    notes = []
    nan = np.full(widths.size, np.nan)
    t0 = time.perf_counter()
    if we.write_eps_tilde is None:  # map over write points (exact answer only)
        protocol = protocol_for(cfg, 0)
        wer_map = np.full(grid.n_points, np.nan)
        if axial:
            protocols = [protocol_for(cfg, p) for p in range(grid.n_points)]
            ctx.reporter.start("write_error map", 2 * grid.n_points, "solves (2 sizes per write point)")
            progress = iter(range(1, 2 * grid.n_points + 1))
            map_points = threaded_map(transport_workers(ctx.threads))

            def reported(fn: Callable[[int], Any], items: Iterable[int]) -> Iterator[Any]:
                for value in map_points(fn, items):
                    ctx.reporter.update(next(progress))
                    yield value

            # the write points side by side on the run's threads, each solve on one BLAS thread (gpuqd.blas)
            fp_map = write_error_rate_fp_map(magnet, table, protocols, we.map_width, we.fp_degree, reported)
            wer_map[:] = fp_map["write_error_rate"]
            ctx.reporter.finish()
        arrays["write_error_rate_fp_map"] = wer_map.reshape(grid.shape)
        arrays["write_error_map_width"] = np.array(float(we.map_width))
        write = None
    else:
        write = grid.flat_index(*grid.nearest(we.write_eps_tilde * unit, we.write_V * unit))
        protocol = protocol_for(cfg, write)
    # a map has no write point of its own: no curve (its protocol only gives the rest and read points)
    fp = write_error_rate_fp(magnet, table, protocol, widths, we.fp_degree) if axial and write is not None else None
    arrays["write_error_rate_fp"] = nan if fp is None else fp["write_error_rate"]
    arrays["write_error_rate_fp_error"] = nan if fp is None else fp["error_estimate"]
    arrays["readout_current_before"] = np.array(np.nan if fp is None else fp["readout_current_before"])
    arrays["readout_current_after"] = nan if fp is None else fp["readout_current_after"]
    fp_seconds = time.perf_counter() - t0
    for key in ("write_error_rate", "write_error_rate_lower", "write_error_rate_upper"):
        arrays[key] = nan.copy()
    arrays["write_error_trajectories"] = np.zeros(widths.size)
    if write is not None and we.trajectories > 0:
        counts = _Counts(widths.size)
        checkpoint = ctx.checkpoint("write_error.npz", "write_error")
        checkpoint.restore(counts)
        n_chunks = math.ceil(we.trajectories / we.chunk_trajectories)
        t1 = time.perf_counter()
        for chunk in range(int(counts.state["chunks_done"]), n_chunks):
            lo = chunk * we.chunk_trajectories
            n = min(we.chunk_trajectories, we.trajectories - lo)
            out = run_pulse_ensemble(
                magnet, table, protocol, widths, n, dyn.dt, cfg.seed, ctx.backend, lo, threads=ctx.threads
            )
            s = counts.state
            s["failures"] = s["failures"] + out["failed"].sum(1)
            s["trials"] = s["trials"] + n
            s["current_sum"] = s["current_sum"] + out["readout_current_after"].sum(1)
            s["current_before_sum"] = s["current_before_sum"] + out["readout_current_before"].sum()
            s["chunks_done"] = np.array(chunk + 1)
            checkpoint.save(counts.get_state())
            ctx.reporter.message(f"write_error: {lo + n}/{we.trajectories} trajectories")
        s = counts.state
        lower, upper = clopper_pearson(s["failures"], s["trials"], we.confidence)
        arrays["write_error_rate"] = s["failures"] / s["trials"]
        arrays["write_error_rate_lower"], arrays["write_error_rate_upper"] = lower, upper
        arrays["write_error_trajectories"] = s["trials"].astype(float)
        if fp is None:
            arrays["readout_current_after"] = s["current_sum"] / s["trials"]
            arrays["readout_current_before"] = np.array(float(s["current_before_sum"]) / we.trajectories)
        steps = [steps_of("width", w, dyn.dt) for w in widths]
        notes.append(
            f"write_error: {we.trajectories} trajectories per width in {time.perf_counter() - t1:.1f} s "
            f"({we.trajectories * (steps[-1] + len(steps) * round(we.settle / dyn.dt))} trajectory-steps at most)."
        )
    arrays["write_error_rate_splitting"], arrays["write_error_rate_splitting_se"] = nan.copy(), nan.copy()
    if write is not None and we.splitting_particles > 0:
        for i, w in enumerate(widths):
            est = splitting_write_error(
                magnet,
                table,
                protocol,
                float(w),
                dyn.dt,
                cfg.seed,
                we.splitting_particles,
                we.splitting_stages,
                we.splitting_repeats,
                ctx.backend,
                trajectory_offset=2**40 + i * we.splitting_particles * we.splitting_repeats,
                threads=ctx.threads,
            )
            arrays["write_error_rate_splitting"][i] = est["estimate"]
            arrays["write_error_rate_splitting_se"][i] = est["standard_error"]
    points = [protocol.rest, write, protocol.read_point]
    arrays["write_error_points"] = np.array(
        [[np.nan, np.nan] if p is None else [grid.eps_tilde[p // grid.V.size], grid.V[p % grid.V.size]] for p in points]
    )
    notes.append(
        f"write_error: exact axial Fokker–Planck answer (docs/physics.md §16) with {we.fp_degree} Legendre "
        f"polynomials in {fp_seconds:.1f} s" + ("" if axial else " — not available: the model is not axial")
    )
    return StageResult(arrays=arrays, notes=notes)


STAGE = Stage(
    name="write_error",
    order=40,
    run=run,
    outputs=("write_error",),
    section=("write_error", SECTION),
    section_class=WriteErrorConfig,
    check=check,
    variables=VARIABLES,
    figures=("write_error_vs_width", "write_error_map"),
    needs=lambda cfg: frozenset({"torque_table"}),
    estimate=estimate,
)

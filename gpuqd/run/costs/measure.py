"""Short measurements of this machine's speed, each bounded in time by construction. Every function here
takes a ``deadline`` (a :func:`time.perf_counter` value) and returns a :class:`Measurement`: the fitted
coefficients plus the process CPU time and the wall time the timed parts took (the caller refuses to
cache a measurement whose CPU time is well below its wall time: the machine was busy). Each piece of
work is small (≈ 0.02–0.3 s on a quiet 2-core x86-64 VM) and starts only before the deadline (else
:class:`OutOfTime`: the measurement is abandoned), so a measurement ends at most one piece after its
deadline; the caller only starts a measurement whose predicted duration fits the budget that is left
(:mod:`gpuqd.run.costs.coefficients`). The fastest of the repeats is kept: other processes only ever
slow a measurement down.

Cost models (seconds):

* transport, per grid point solved at n directions: ``p0 + p1·n`` (one O(Γ)/O(Γ²) solve through
  :meth:`gpuqd.transport.TorqueTable.build`, a 4 × 128-point block at 6 and 22 directions), on W > 1
  threads ``q0 + q1·n`` per point while W such blocks are solved at once (the transport stage's threads), ``line_s``
  per ε̃ value of a resonance-line scan, and the working memory of a block of P points at n directions,
  ``bytes_fixed + P·(bytes_per_point + bytes_per_solve·n)`` (:mod:`tracemalloc` peaks of 8- and 32-point
  blocks at 6 and 22 directions);
* engine, per step of n trajectories: ``c + d·n`` (the stochastic LLG ensemble on the backend, 256 and
  4096 trajectories, a 32-node torque table or a constant torque) and the memory per trajectory;
* simulated FMR: seconds per engine step of one driven trajectory and per engine run (one frequency);
* Legendre–Galerkin Fokker–Planck of the write-error rates (:mod:`gpuqd.observables.fp_legendre`), at
  n = 192 and 288 polynomials (the default degree's two sizes): seconds per n·Q of the set-up (Legendre
  tables on Q quadrature nodes), per n²·Q of a generator, per n³ of one matrix exponential
  (:func:`scipy.linalg.expm` of a generator × 40/Γ, a pulse's time scale), on one BLAS thread, and the
  speed-up of a map's write points on W threads;
* axial Fokker–Planck maps of n grid points: ``s_fixed + s_per_point·n`` (batches of points; 16 and 64);
* start-up: a fresh interpreter importing what ``gpuqd run`` imports.
"""

from __future__ import annotations

import functools
import os
import resource
import subprocess
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "Measurement",
    "OutOfTime",
    "ENGINE_TRAJECTORIES",
    "TABLE_NODES",
    "engine",
    "fmr",
    "fokker_planck",
    "legendre",
    "LEGENDRE_SIZES",
    "startup_imports",
    "timed_repeats",
    "transport",
]

#: trajectories of the two engine timings (per backend)
ENGINE_TRAJECTORIES = {"numpy": (256, 4096), "cpu": (256, 4096), "cupy": (8192, 262144)}
#: nodes of the torque table the engine is timed with (the interpolation cost hardly depends on them)
TABLE_NODES = 32
#: Legendre sizes of the write-error Fokker–Planck timing (the default fp_degree 192 and 1.5 × 192)
LEGENDRE_SIZES = (192, 288)
_BLOCK = (4, 128)  # (ε̃, V) points of the timed transport block
_THETAS = (6, 22)  # directions of the two transport timings
_PIECE_S = 0.1  # wall seconds of one timed piece of engine work
#: periods of the longer simulated-FMR timing (400 steps each; the shorter has 2): ≈ 0.3 s of steps
_FMR_LONG_PERIODS = {"numpy": 10, "cpu": 160, "cupy": 160}
_STARTUP_CODE = (
    "import gpuqd.cli, gpuqd.run.pipeline, gpuqd.run.stages, gpuqd.run.costs.estimate; gpuqd.run.stages.all_stages()"
)


@dataclass
class Measurement:
    """Fitted coefficients (``values``), and process CPU seconds / wall seconds of the timed work;
    ``threads``: threads the timed work may keep busy, on average over its wall time (the CPU time of an
    uncontended measurement is ≈ wall × threads for perfectly parallel work, ≈ wall for one thread)."""

    values: dict[str, float]
    cpu_s: float = 0.0
    wall_s: float = 0.0
    threads: float = 1.0
    notes: list[str] = field(default_factory=list)


class OutOfTime(Exception):
    """A measurement reached its deadline before it was complete (the caller uses the static model)."""


class _Clock:
    """Accumulates the CPU and wall time of timed calls (children's CPU time included); every piece of
    work starts through :meth:`step`, which raises :class:`OutOfTime` once ``deadline`` has passed."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.cpu_s = 0.0
        self.wall_s = 0.0

    @staticmethod
    def _cpu() -> float:
        child = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + child.ru_utime + child.ru_stime

    def step(self) -> None:
        if time.perf_counter() >= self.deadline:
            raise OutOfTime

    def time(self, fn: Callable[[], Any]) -> float:
        self.step()
        c0, t0 = self._cpu(), time.perf_counter()
        fn()
        wall = time.perf_counter() - t0
        self.cpu_s += self._cpu() - c0
        self.wall_s += wall
        return wall


def timed_repeats(fn: Callable[[], Any], clock: _Clock, repeats: int = 3) -> float:
    """Fastest wall time of up to ``repeats`` calls of ``fn``: one call at least (:class:`OutOfTime` if
    the deadline has passed before it), no further call after the deadline."""
    best = clock.time(fn)
    for _ in range(repeats - 1):
        if time.perf_counter() >= clock.deadline:
            break
        best = min(best, clock.time(fn))
    return best


def transport(order: int, deadline: float, workers: int = 1) -> Measurement:
    """Transport coefficients at ``order`` (see the module docstring); with ``workers`` > 1 also ``q0``,
    ``q1``: wall seconds per grid point at n directions, ``q0 + q1·n``, while ``workers`` blocks are solved
    at once on threads (:func:`gpuqd.transport.torque_table.threaded_map`, as the transport stage does),
    which holds the speed-up and the threads' interference (shared cores, BLAS threads) together."""
    from gpuqd.transport import SpinValve, TorqueTable
    from gpuqd.transport.torque_table import threaded_map

    clock = _Clock(deadline)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sv = SpinValve(U=100.0, T=10.0, gamma_S=2 / 3, gamma_D=4 / 3, p_S=0.9, p_D=0.9)
        scale = sv.U
        eps = np.linspace(-0.5 * scale, 0.5 * scale, _BLOCK[0])
        V = np.linspace(-0.5 * scale, 0.5 * scale, _BLOCK[1])
        n_pts = eps.size * V.size
        extra = [0.01 * np.pi, 0.99 * np.pi]

        def build(n: int, e: np.ndarray = eps) -> None:
            TorqueTable.build(sv, e, V, order, n - len(extra), extra_theta=extra, block_points=n_pts)

        clock.step()
        build(_THETAS[0], eps[:1])  # one-off set-up (frequency grids, caches): not a per-point cost
        t_lo = timed_repeats(lambda: build(_THETAS[0]), clock, 2) / n_pts
        t_hi = timed_repeats(lambda: build(_THETAS[1]), clock, 2) / n_pts
        p1 = max(t_hi - t_lo, 0.0) / (_THETAS[1] - _THETAS[0])
        slopes, fixed = [], 0.0  # working memory: fixed + points·(a + b·n_θ), from blocks of 8 and 32 points
        for n_th in _THETAS:
            peaks = []
            for n in (8, 32):
                clock.step()
                tracemalloc.start()
                TorqueTable.build(sv, eps[:1], V[:n], order, n_th - len(extra), extra_theta=extra, block_points=n)
                peaks.append(tracemalloc.get_traced_memory()[1])
                tracemalloc.stop()
            slopes.append(max(peaks[1] - peaks[0], 0) / 24)
            fixed = max(fixed, peaks[0] - 8 * slopes[-1])
        per_solve = max(slopes[1] - slopes[0], 0.0) / (_THETAS[1] - _THETAS[0])
        per_point = max(slopes[0] - _THETAS[0] * per_solve, 0.0)
        serial_wall = clock.wall_s
        threaded: dict[str, float] = {}
        if workers > 1:
            eps_w = np.linspace(-0.5 * scale, 0.5 * scale, _BLOCK[0] * workers)

            def build_threaded(n: int) -> None:
                TorqueTable.build(
                    sv,
                    eps_w,
                    V,
                    order,
                    n - len(extra),
                    extra_theta=extra,
                    block_points=n_pts,
                    map_blocks=threaded_map(workers),
                )

            u_lo = timed_repeats(lambda: build_threaded(_THETAS[0]), clock, 2) / (n_pts * workers)
            u_hi = timed_repeats(lambda: build_threaded(_THETAS[1]), clock, 2) / (n_pts * workers)
            q1 = max(u_hi - u_lo, 0.0) / (_THETAS[1] - _THETAS[0])
            threaded = {"q0": max(u_lo - _THETAS[0] * q1, 0.0), "q1": q1, "workers": float(workers)}
        threaded_wall = clock.wall_s - serial_wall
        e_line = eps[:2]
        clock.step()
        sv.resonance_lines(e_line[:1], -0.5 * scale, 0.5 * scale, kind="resonance", n_scan=801)  # set-up
        line_s = (
            timed_repeats(
                lambda: sv.resonance_lines(e_line, -0.5 * scale, 0.5 * scale, kind="resonance", n_scan=801),
                clock,
                1,
            )
            / e_line.size
        )
    values = {
        "p0": max(t_lo - _THETAS[0] * p1, 0.0),
        "p1": p1,
        "line_s": line_s,
        "bytes_per_point": per_point,
        "bytes_per_solve": per_solve,
        "bytes_fixed": max(fixed, 0.0),
    } | threaded
    # the threaded part may keep ``workers`` cores busy, the rest one
    busy = (clock.wall_s + (workers - 1) * threaded_wall) / max(clock.wall_s, 1e-12)
    return Measurement(values, clock.cpu_s, clock.wall_s, busy)


def _synced(runner: Any, backend: str, steps: int) -> None:
    runner.advance(steps)
    if backend == "cupy":
        import cupy

        cupy.cuda.Device().synchronize()


def engine(backend: str, table: bool, deadline: float, threads: int = 1) -> Measurement:
    """Engine coefficients ``c``, ``d``, ``bytes_per_traj`` on ``backend`` with a tabulated (``table``)
    or constant torque; a magnet of the paper's parameters (docs/physics.md §6), dt = 0.01/Γ; the cpu
    engine on ``threads`` OpenMP threads."""
    from gpuqd.dynamics import ConstantTorque, EnsembleRunner, EnsembleSpec, Macrospin
    from gpuqd.transport import TorqueTable

    clock = _Clock(deadline)
    rng = np.random.default_rng(0)
    n_pts = 16
    torque: Any = (
        TorqueTable(
            field_like=1e-3 * rng.standard_normal((n_pts, TABLE_NODES)),
            damping_like=1e-3 * rng.standard_normal((n_pts, TABLE_NODES)),
            charge_current=rng.standard_normal((n_pts, TABLE_NODES)),
        )
        if table
        else ConstantTorque(1e-3, 1e-3)
    )
    magnet = Macrospin(S=1.0, KV=0.01, alpha=0.1, sigma2=1e-4)
    dt = 0.01

    def runner(n: int, steps: int) -> Any:
        index = np.arange(n) % n_pts if table else None
        spec = EnsembleSpec(magnet, torque, n, dt, dt * (steps + 10), 1, point_index=index, average_from=0.0)
        return EnsembleRunner(spec, backend=backend, threads=threads)

    sizes = ENGINE_TRAJECTORIES.get(backend, ENGINE_TRAJECTORIES["numpy"])
    times, mems = [], []
    for n in sizes:
        clock.step()
        probe = runner(n, 25)
        probe.advance(5)  # warm-up (kernel load, caches)
        t1 = clock.time(functools.partial(_synced, probe, backend, 10)) / 10
        steps = int(min(max(_PIECE_S / max(t1, 1e-9), 10), 20000))
        clock.step()
        r = runner(n, 4 * steps + 10)
        r.advance(2)
        times.append(timed_repeats(functools.partial(_synced, r, backend, steps), clock, 3) / steps)
        if backend in ("numpy", "cpu"):
            clock.step()
            tracemalloc.start()
            runner(n, 4).advance(2)
            mems.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
    d = max(times[1] - times[0], 0.0) / (sizes[1] - sizes[0])
    c = max(times[0] - d * sizes[0], 0.0)
    per = (mems[1] - mems[0]) / (sizes[1] - sizes[0]) if mems else 200.0
    return Measurement({"c": c, "d": d, "bytes_per_traj": max(per, 0.0)}, clock.cpu_s, clock.wall_s, threads)


def fmr(backend: str, deadline: float) -> Measurement:
    """``s_per_step`` and ``s_per_run``: wall time per engine step and per engine run (one frequency: the
    runner's set-up, its time-step guard, the lock-in) of the simulated FMR on ``backend``
    (:func:`gpuqd.observables.fmr_simulation.simulate_fmr`, one trajectory), from two runs of 2 frequencies
    each, of 2 and :data:`_FMR_LONG_PERIODS` periods (a straight line through the two)."""
    from gpuqd.dynamics import ConstantTorque
    from gpuqd.observables.fmr_simulation import simulate_fmr

    clock = _Clock(deadline)
    omegas = [0.0095, 0.0105]
    steps: dict[int, float] = {}

    def once(periods: int) -> None:
        sim = simulate_fmr(
            ConstantTorque(1e-4, 1e-5),
            omegas,
            S=1.0,
            alpha=0.1,
            KV=0.01,
            periods=periods,
            settle_decays=0.5,
            steps_per_period=400,
            backend=backend,
        )
        steps[periods] = float(np.sum(sim.steps))

    short, long = 2, _FMR_LONG_PERIODS.get(backend, _FMR_LONG_PERIODS["cpu"])
    t_short = timed_repeats(lambda: once(short), clock, 2)
    t_long = timed_repeats(lambda: once(long), clock, 2)
    per_step = max(t_long - t_short, 0.0) / (steps[long] - steps[short])
    per_run = max(t_short - steps[short] * per_step, 0.0) / len(omegas)
    return Measurement({"s_per_step": per_step, "s_per_run": per_run}, clock.cpu_s, clock.wall_s)


def fokker_planck(n_cells: int, deadline: float) -> Measurement:
    """``s_fixed`` and ``s_per_point``: wall time ``s_fixed + s_per_point·n`` of
    :func:`gpuqd.observables.fokker_planck.axial_maps` for n grid points with ``n_cells`` cells (the points
    are solved in batches, so a few points cost about as much as a batch), from 16 and 64 points of an O(Γ)
    torque table of the paper's transport parameters (U = 100 T = 1000 Γ, p = 0.99, ε̃, V ∈ [−0.5, 0.5] U on
    8 × 8 points, V = 0 not among them; the torques' structure sets the quadrature's refinement) and magnet
    (KV = 0.01, α = 0.1, σ² = 1e-4), window [1e4, 2e4)/Γ."""
    from gpuqd.dynamics import Macrospin
    from gpuqd.observables.fokker_planck import axial_maps
    from gpuqd.transport import SpinValve, TorqueTable

    clock = _Clock(deadline)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sv = SpinValve(U=1000.0, T=10.0, gamma_S=2 / 3, gamma_D=4 / 3, p_S=0.99, p_D=0.99)
        axis = np.linspace(-500.0, 500.0, 8)
        table = TorqueTable.build(sv, axis, axis, 1, TABLE_NODES)
        magnet = Macrospin(S=1.0, KV=0.01, alpha=0.1, sigma2=1e-4)
        sizes = (16, 64)
        times = []
        for n in sizes:
            points = np.arange(0, table.n_points, table.n_points // n)[:n]
            times.append(
                timed_repeats(
                    functools.partial(axial_maps, magnet, table, points, 0.5, 0.0, 1e4, 2e4, n_cells=n_cells), clock, 2
                )
            )
    per_point = max(times[1] - times[0], 0.0) / (sizes[1] - sizes[0])
    fixed = max(times[0] - sizes[0] * per_point, 0.0)
    return Measurement({"s_fixed": fixed, "s_per_point": per_point}, clock.cpu_s, clock.wall_s)


def legendre(deadline: float, workers: int = 1) -> Measurement:
    """``setup_s`` (per n·Q), ``generator_s`` (per n²·Q) and ``expm_s_<n>`` (per n³, n in
    :data:`LEGENDRE_SIZES`) of the Legendre–Galerkin Fokker–Planck solver
    (:class:`gpuqd.observables.fp_legendre.LegendreFokkerPlanck`) for a magnet of the paper's parameters
    (KV = 0.01, α = 0.1, σ² = 1e-4) and a constant torque; the exponential of M × 40/Γ. On one BLAS thread
    (:func:`gpuqd.blas.one_blas_thread`), as the write-error stage runs it. With ``workers`` > 1 also
    ``speedup``: the throughput of one write point's work (a generator and an exponential at n = 192) on
    ``workers`` threads at once (:func:`gpuqd.transport.torque_table.threaded_map`, as the stage's map
    runs them) over that on one."""
    from scipy.linalg import expm

    from gpuqd.blas import one_blas_thread
    from gpuqd.dynamics import ConstantTorque, Macrospin
    from gpuqd.observables.fp_legendre import LegendreFokkerPlanck
    from gpuqd.transport.torque_table import threaded_map

    clock = _Clock(deadline)
    magnet = Macrospin(S=1.0, KV=0.01, alpha=0.1, sigma2=1e-4)
    torque = ConstantTorque(1e-3, 1e-3)
    values: dict[str, float] = {}
    with one_blas_thread():
        for n in LEGENDRE_SIZES:
            solver = LegendreFokkerPlanck(magnet, torque, n)  # warm-up
            q = solver.u.size
            setup = timed_repeats(functools.partial(LegendreFokkerPlanck, magnet, torque, n), clock, 2)
            build = timed_repeats(lambda: solver.generator(0, keep=False), clock, 2)  # noqa: B023 - used at once
            values[f"expm_s_{n}"] = timed_repeats(functools.partial(expm, solver.generator(0) * 40.0), clock, 3) / n**3
            if n == LEGENDRE_SIZES[0]:
                values["setup_s"] = setup / (n * q)
                values["generator_s"] = build / (n * n * q)
        threaded_wall = 0.0
        if workers > 1:
            solver = LegendreFokkerPlanck(magnet, torque, LEGENDRE_SIZES[0])
            items = range(4 * workers)

            def point(_: int) -> None:  # one write point's work at one size
                expm(solver.generator(0, keep=False) * 40.0)

            one = timed_repeats(lambda: list(map(point, items)), clock, 2)
            before = clock.wall_s
            threaded = timed_repeats(lambda: list(threaded_map(workers)(point, items)), clock, 2)
            threaded_wall = clock.wall_s - before
            values |= {"speedup": one / max(threaded, 1e-12), "workers": float(workers)}
    # the threaded part may keep ``workers`` cores busy, the rest one
    busy = (clock.wall_s + (workers - 1) * threaded_wall) / max(clock.wall_s, 1e-12)
    return Measurement(values, clock.cpu_s, clock.wall_s, busy)


def startup_imports(deadline: float) -> Measurement:
    """``s``: wall time of a fresh interpreter importing what ``gpuqd run`` imports (the stages, the
    pipeline, NumPy, SciPy, rich); the rest of the start-up is in the static model."""
    root = str(Path(__file__).resolve().parents[3])
    path = os.environ.get("PYTHONPATH")
    env = dict(os.environ, PYTHONPATH=root + (os.pathsep + path if path else ""))
    clock = _Clock(deadline)
    cmd = [sys.executable, "-c", _STARTUP_CODE]

    def once() -> None:  # TimeoutExpired at the deadline: the caller falls back to the static model
        timeout = max(deadline - time.perf_counter(), 0.1)
        subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=timeout)

    best = timed_repeats(once, clock, 1)
    return Measurement({"s": best}, clock.cpu_s, clock.wall_s)

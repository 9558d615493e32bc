"""Short measurements of this machine's speed for the run estimates, cached per machine and backend.

Two cost models, each fitted to two timed measurements (the fastest of several repeats, each long
enough to time reliably: other processes only ever slow a measurement down, so the minimum is the
machine's own speed):

* transport: seconds per grid point = ``t2 + b·(n_θ − 2)`` for one O(Γ)/O(Γ²) solve of ``n_θ``
  directions (the frequency integrals per point dominate; measured at the configuration's order and the
  number of directions the run needs), plus the resonance-line scan per ε̃ value, and the working
  memory of a block (bytes per (point, θ) solve, from :mod:`tracemalloc`);
* engine: seconds per step = ``c + d·n_traj`` for the stochastic LLG ensemble on the backend with a
  tabulated torque, and the engine memory per trajectory;
* simulated FMR: seconds per engine step of one driven trajectory (:func:`fmr_costs`);
* start-up (:func:`startup_costs`) and figures (:func:`figure_costs`): timed in fresh interpreters, so
  that the estimate of a run is its whole wall time (``$GPUQD_CALIBRATE_FIXED_COSTS=0`` turns them off).

The cache is ``<user cache dir>/gpuqd/calibration.json`` (``$GPUQD_CACHE_DIR`` or
``$XDG_CACHE_HOME/gpuqd`` or ``~/.cache/gpuqd``, the directory of the host-engine builds;
``$GPUQD_CALIBRATION_FILE`` names the file directly), keyed by host, CPU, core count, NumPy version,
gpuqd version, backend and (cpu, cupy) the kernel source hash. Measurements taken while the machine is
busy give high estimates: delete the file to measure again.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gpuqd import __version__
from gpuqd.atomic_io import atomic_write_text
from gpuqd.dynamics.host_build import cache_dir  # the one user cache directory of gpuqd
from gpuqd.dynamics.kernel_source import source_hash

__all__ = [
    "cache_dir",
    "calibration_file",
    "machine_key",
    "transport_costs",
    "engine_costs",
    "machine_description",
    "startup_costs",
    "figure_costs",
    "fmr_costs",
    "fixed_costs_enabled",
    "MODEL_VERSION",
]

#: version of the cost models in the cache keys: entries of other versions are measured again
MODEL_VERSION = 2
_CAL_POINTS = (16, 64)  # points per transport memory measurement
_BLOCK_SHAPE = (8, 256)  # (ε̃, V) of the timed transport block (2048 points, the stage's block size)
#: what ``gpuqd run`` does before its first stage (see :func:`startup_costs`); argv: config JSON, backend
_STARTUP_CODE = """
import json, sys, tempfile
from pathlib import Path
import gpuqd.cli
from gpuqd.run.config.factories import make_spin_valve, solve
from gpuqd.run.pipeline import run_pipeline
from gpuqd.run.execute.progress import RichReporter
from gpuqd.run.config.validate import load_config
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "startup.yaml"
    path.write_text(sys.argv[1], encoding="utf-8")
    cfg = load_config(path, runs_dir=tmp, backend=sys.argv[2])
    solve(make_spin_valve(cfg.transport), 10.0, 10.0, 0.5, cfg.transport.order)
    run_dir = run_pipeline(cfg, reporter=RichReporter(quiet=True), make_figures=False, estimate=False)
    meta = json.loads((run_dir / "meta.json").read_text(encoding="utf-8"))
    print(sum(v["wall_s"] for k, v in meta["stages"].items() if k != "results"))
"""
_STARTUP_CONFIG = {
    "name": "startup",
    "transport": {
        "U": 100.0,
        "T": 10.0,
        "gamma_S": 0.6666667,
        "gamma_D": 1.3333333,
        "p_S": 0.9,
        "p_D": 0.9,
        "order": 2,
    },
    "grid": {"eps_tilde": {"start": 0.0, "stop": 0.1, "num": 2}, "V": {"start": 0.0, "stop": 0.1, "num": 2}},
    "outputs": ["torque_maps"],
}
_CAL_TRAJ = {"numpy": (256, 4096), "cpu": (256, 4096), "cupy": (8192, 262144)}
_CAL_STEPS = 20  # steps of the first, sizing measurement
_MIN_TIME_S = 0.3  # each timed repeat runs at least this long
_REPEATS = 5


def machine_description() -> str:
    """``host (cpu, N cores)`` for messages and the docs' "measured on ..." lines."""
    return f"{socket.gethostname()} ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def machine_key(backend: str) -> str:
    """Cache key: host, CPU, cores, NumPy and gpuqd versions, backend and, for the kernel engines, the
    hash of the kernel source (a changed kernel is measured again even within one gpuqd version)."""
    parts = [
        socket.gethostname(),
        platform.processor() or platform.machine(),
        str(os.cpu_count()),
        np.__version__,
        __version__,
        backend,
    ]
    if backend in ("cpu", "cupy"):
        parts.append(source_hash(host=backend == "cpu")[:12])
    return "|".join(parts)


def calibration_file() -> Path:
    """The calibration cache file (see the module docstring)."""
    env = os.environ.get("GPUQD_CALIBRATION_FILE")
    return Path(env) if env else cache_dir() / "calibration.json"


def _read_cache(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a corrupt calibration cache is just measured again
    return data if isinstance(data, dict) else {}


def _store(backend: str, entries: Mapping[str, dict]) -> None:
    """Add ``entries`` (name → dict, stamped with the time) under this machine and ``backend``."""
    path = calibration_file()
    data = _read_cache(path)
    key = machine_key(backend)
    if not isinstance(data.get(key), dict):
        data[key] = {}
    stamp = {"measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    data[key].update({name: stamp | dict(entry) for name, entry in entries.items()})
    try:
        atomic_write_text(path, json.dumps(data, indent=1) + "\n")
    except OSError:
        pass  # an unwritable cache only means measuring again next time


def _cached(backend: str, name: str, measure: Callable[[], dict]) -> dict:
    entry = _read_cache(calibration_file()).get(machine_key(backend), {}).get(name)
    if isinstance(entry, dict):
        return entry
    entry = measure() | {"measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    _store(backend, {name: entry})
    return entry


def _min_time(fn: Callable[[], Any], repeats: int = 3) -> float:
    """Fastest of ``repeats`` calls of ``fn`` (seconds)."""
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def _spin_valve(tr: Mapping[str, Any]):
    from gpuqd.transport import SpinValve

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SpinValve(
            U=tr["U"], T=tr["T"], gamma_S=tr["gamma_S"], gamma_D=tr["gamma_D"], p_S=tr["p_S"], p_D=tr["p_D"]
        )


def transport_costs(tr: Mapping[str, Any], n_theta: int) -> dict:
    """{"p0": s/point, "p1": s per (point, direction), "line_s": s per ε̃ of one line scan, "bytes_per_solve",
    "bytes_fixed"} at the transport parameters ``tr`` (order ``tr["order"]``): a grid point solved at n
    directions costs ``p0 + p1·n`` seconds. ``n_theta`` (≥ 6) is the number of directions the run's
    transport stage solves per point (the table nodes, or 4 for maps only, plus θ = 0.01π, 0.99π).

    Timed through :meth:`gpuqd.transport.TorqueTable.build` on one full transport block (8 × 256 points,
    the stage's block size): the cost per point grows with the block (memory traffic), so a few points
    would underestimate it.
    """
    from gpuqd.transport import TorqueTable

    order = int(tr["order"])
    n_theta = max(int(n_theta), 6)

    def measure() -> dict:
        sv = _spin_valve(tr)
        scale = tr["U"] if tr["U"] > 0 else tr["T"]
        eps = np.linspace(-0.5 * scale, 0.5 * scale, _BLOCK_SHAPE[0])
        V = np.linspace(-0.5 * scale, 0.5 * scale, _BLOCK_SHAPE[1])
        n_pts = eps.size * V.size
        extra = [0.01 * np.pi, 0.99 * np.pi]

        def build(n: int) -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                TorqueTable.build(sv, eps, V, order, n - len(extra), extra_theta=extra, block_points=n_pts)

        t_lo = _min_time(lambda: build(6), 2) / n_pts
        p1 = 0.0
        if n_theta > 6:
            p1 = max(_min_time(lambda: build(n_theta), 2) / n_pts - t_lo, 0.0) / (n_theta - 6)
        peaks = []
        th = np.linspace(0.01, np.pi - 0.01, n_theta)
        for n in _CAL_POINTS:
            e = np.linspace(-0.5 * scale, 0.5 * scale, n)
            tracemalloc.start()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sv.solve(e[:, None, None], V[None, :1, None], th[None, None, :], order=order)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        per = max(peaks[1] - peaks[0], 0) / ((_CAL_POINTS[1] - _CAL_POINTS[0]) * n_theta)
        eps_l = np.linspace(-0.5 * scale, 0.5 * scale, 8)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            line_s = (
                _min_time(
                    lambda: sv.resonance_lines(eps_l, -0.5 * scale, 0.5 * scale, kind="resonance", n_scan=801),
                    repeats=1,
                )
                / eps_l.size
            )
        return {
            "p0": max(t_lo - 6 * p1, 0.0),
            "p1": p1,
            "line_s": line_s,
            "bytes_per_solve": per,
            "bytes_fixed": max(peaks[0] - per * _CAL_POINTS[0] * n_theta, 0.0),
        }

    return _cached("transport", f"transport:v{MODEL_VERSION}:order={order}:n_theta={n_theta}", measure)


def fixed_costs_enabled() -> bool:
    """False when ``$GPUQD_CALIBRATE_FIXED_COSTS`` is 0: no start-up or figure measurement (they start
    other Python processes, ≈ 5 s and ≈ 2–20 s; the test suite turns them off)."""
    return os.environ.get("GPUQD_CALIBRATE_FIXED_COSTS", "1") != "0"


def _python_env() -> dict[str, str]:
    """Environment of the timing subprocesses: this gpuqd importable, no threads fighting the parent."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    return dict(os.environ, PYTHONPATH=root + (os.pathsep + path if path else ""))


def startup_costs(backend: str) -> dict | None:
    """{"s": seconds} of what every ``gpuqd run`` pays besides its stages: starting Python, the imports,
    reading and validating the configuration, choosing ``backend``, the first transport solve (its
    one-off set-up), the run directory, lock, metadata and results files. Timed from outside a fresh
    interpreter running a 2 × 2-point maps-only run, minus the stage times it records (fastest of 2;
    ≈ 6 s). None if that fails."""

    def measure() -> dict:
        cmd = [sys.executable, "-c", _STARTUP_CODE, json.dumps(_STARTUP_CONFIG), backend]
        env = _python_env()
        times = []
        for _ in range(2):
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, timeout=300)
            times.append(time.perf_counter() - t0 - float(proc.stdout.strip().splitlines()[-1]))
        return {"s": max(min(times), 0.0)}

    try:
        return _cached(backend, f"startup:v{MODEL_VERSION}", measure)
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return None  # the measurement failed: the estimate says "time not estimated" for the start-up


def figure_costs(outputs: Iterable[str]) -> dict | None:
    """{"fixed": s, <output>: s, ...}: drawing and saving the figures of each output (the plot modules of
    :mod:`gpuqd.plots`) and the one-off cost of the first figure in a process (matplotlib import, fonts),
    measured by ``python -m gpuqd.plots.timing`` in a fresh interpreter on a small run (≈ 3 s plus the
    figures: ≈ 1–7 s per output on a 2-core x86-64); each output once per machine (backend "figures").
    None if the measurement fails (no figure time in the estimate)."""
    outputs = sorted(set(outputs))

    def name(o: str) -> str:
        return f"figures:v{MODEL_VERSION}:{o}"

    def cached() -> dict:
        return _read_cache(calibration_file()).get(machine_key("figures"), {})

    have = cached()
    missing = [o for o in outputs if not isinstance(have.get(name(o)), dict)]
    if missing or not isinstance(have.get(name("fixed")), dict):
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "gpuqd.plots.timing", *(missing or ["switching_diagram"])],
                env=_python_env(),
                check=True,
                capture_output=True,
                text=True,
                timeout=900,
            )
            got = json.loads(proc.stdout.strip().splitlines()[-1])
        except (OSError, ValueError, IndexError, subprocess.SubprocessError):
            return None  # the measurement failed: the estimate says "time not estimated" for the figures
        new = {name(o): {"s": got["per_output"][o]} for o in missing}
        if not isinstance(have.get(name("fixed")), dict):
            new[name("fixed")] = {"s": got["fixed"]}
        _store("figures", new)
        have = have | new
    return {o: float(have[name(o)]["s"]) for o in ["fixed", *outputs]}


def fmr_costs(backend: str) -> dict:
    """{"s_per_step": s}: wall time per engine step of the simulated FMR on ``backend``
    (:func:`gpuqd.observables.fmr_simulation.simulate_fmr`: one trajectory, n_x sampled for the lock-in,
    one engine run per frequency, its set-up included), from 3 frequencies × ≈ 50 000 steps."""

    def measure() -> dict:
        from gpuqd.dynamics import ConstantTorque
        from gpuqd.observables.fmr_simulation import simulate_fmr

        sims = []

        def once() -> None:
            sims.append(
                simulate_fmr(
                    ConstantTorque(1e-4, 1e-5),
                    [0.009, 0.01, 0.011],
                    S=1.0,
                    alpha=0.1,
                    KV=0.01,
                    periods=60,
                    settle_decays=1.0,
                    steps_per_period=800,
                    backend=backend,
                )
            )

        return {"s_per_step": _min_time(once, 2) / float(np.sum(sims[-1].steps))}

    return _cached(backend, f"fmr:v{MODEL_VERSION}", measure)


def _advance_synced(runner: Any, backend: str, steps: int) -> None:
    runner.advance(steps)
    if backend == "cupy":
        import cupy

        cupy.cuda.Device().synchronize()


def engine_costs(backend: str, magnet: Mapping[str, Any], n_theta: int, dt: float) -> dict:
    """{"c": s/step, "d": s/(trajectory·step), "bytes_per_traj"} of the LLG ensemble on ``backend``
    with a tabulated torque of ``n_theta`` nodes (0: a constant torque), for the run's magnet.
    """

    def measure() -> dict:
        from gpuqd.dynamics import ConstantTorque, EnsembleRunner, Macrospin
        from gpuqd.transport import TorqueTable

        rng = np.random.default_rng(0)
        n_pts = 16
        table = (
            ConstantTorque(1e-3, 1e-3)
            if n_theta == 0
            else TorqueTable(
                field_like=1e-3 * rng.standard_normal((n_pts, n_theta)),
                damping_like=1e-3 * rng.standard_normal((n_pts, n_theta)),
                charge_current=rng.standard_normal((n_pts, n_theta)),
            )
        )
        sigma2 = magnet.get("sigma2") or 2 * magnet["alpha"] * (magnet.get("T_m") or 5e-4)
        mag = Macrospin(S=magnet["S"], KV=magnet["KV"], alpha=magnet["alpha"], sigma2=sigma2)

        def runner(n: int, steps: int = 10 * _CAL_STEPS):
            return EnsembleRunner(
                mag,
                table,
                n,
                dt,
                dt * (steps + 10),
                1,
                backend,
                point_index=None if n_theta == 0 else np.arange(n) % n_pts,
                average_from=0.0,
            )

        times, mems = [], []
        sizes = _CAL_TRAJ.get(backend, _CAL_TRAJ["numpy"])
        for n in sizes:
            r = runner(n)
            r.advance(5)  # warm-up (kernel compilation, caches)
            t = _min_time(lambda r=r: _advance_synced(r, backend, _CAL_STEPS), repeats=1) / _CAL_STEPS
            steps = int(min(max(_MIN_TIME_S / max(t, 1e-9), _CAL_STEPS), 20000))
            r = runner(n, steps * (_REPEATS + 1))
            r.advance(5)
            times.append(_min_time(lambda r=r, s=steps: _advance_synced(r, backend, s), _REPEATS) / steps)
            if backend in ("numpy", "cpu"):
                tracemalloc.start()
                runner(n).advance(2)
                mems.append(tracemalloc.get_traced_memory()[1])
                tracemalloc.stop()
        d = max(times[1] - times[0], 0.0) / (sizes[1] - sizes[0])
        c = max(times[0] - d * sizes[0], 0.0)
        per = (mems[1] - mems[0]) / (sizes[1] - sizes[0]) if mems else 200.0
        return {"c": c, "d": d, "bytes_per_traj": max(per, 0.0)}

    return _cached(backend, f"engine:{backend}:n_theta={n_theta}", measure)

"""Short measurements of this machine's speed for the run estimates, cached per machine and backend.

Two cost models, each fitted to two timed measurements (the fastest of several repeats, each long
enough to time reliably: other processes only ever slow a measurement down, so the minimum is the
machine's own speed):

* transport: seconds per grid point = ``t2 + b·(n_θ − 2)`` for one O(Γ)/O(Γ²) solve of ``n_θ``
  directions (the frequency integrals per point dominate; measured at the configuration's order and the
  number of directions the run needs), plus the resonance-line scan per ε̃ value, and the working
  memory of a block (bytes per (point, θ) solve, from :mod:`tracemalloc`);
* engine: seconds per step = ``c + d·n_traj`` for the stochastic LLG ensemble on the backend with a
  tabulated torque, and the engine memory per trajectory.

The cache is ``<user cache dir>/gpuqd/calibration.json`` (``$GPUQD_CACHE_DIR`` or
``$XDG_CACHE_HOME/gpuqd`` or ``~/.cache/gpuqd``, the directory of the host-engine builds;
``$GPUQD_CALIBRATION_FILE`` names the file directly), keyed by host, CPU, core count, NumPy version,
gpuqd version and backend. Measurements taken while the machine is busy give high estimates:
delete the file to measure again.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import time
import tracemalloc
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gpuqd import __version__
from gpuqd.atomic_io import atomic_write_text
from gpuqd.dynamics.host_build import cache_dir  # the one user cache directory of gpuqd

__all__ = ["cache_dir", "calibration_file", "machine_key", "transport_costs", "engine_costs", "machine_description"]

_CAL_POINTS = (16, 64)  # points per transport measurement
_CAL_TRAJ = {"numpy": (256, 4096), "cpu": (256, 4096), "cupy": (8192, 262144)}
_CAL_STEPS = 20  # steps of the first, sizing measurement
_MIN_TIME_S = 0.3  # each timed repeat runs at least this long
_REPEATS = 5


def machine_description() -> str:
    """``host (cpu, N cores)`` for messages and the docs' "measured on ..." lines."""
    return f"{socket.gethostname()} ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def machine_key(backend: str) -> str:
    return "|".join([socket.gethostname(), platform.processor() or platform.machine(), str(os.cpu_count()),
                     np.__version__, __version__, backend])


def calibration_file() -> Path:
    """The calibration cache file (see the module docstring)."""
    env = os.environ.get("GPUQD_CALIBRATION_FILE")
    return Path(env) if env else cache_dir() / "calibration.json"


def _cached(backend: str, name: str, measure: Callable[[], dict]) -> dict:
    path = calibration_file()
    key = machine_key(backend)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}  # a corrupt calibration cache is just measured again
    entry = data.get(key, {}).get(name)
    if isinstance(entry, dict):
        return entry
    entry = measure() | {"measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    data.setdefault(key, {})[name] = entry
    try:
        atomic_write_text(path, json.dumps(data, indent=1) + "\n")
    except OSError:
        pass  # an unwritable cache only means measuring again next time
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
        return SpinValve(U=tr["U"], T=tr["T"], gamma_S=tr["gamma_S"], gamma_D=tr["gamma_D"], p_S=tr["p_S"],
                         p_D=tr["p_D"])


def transport_costs(tr: Mapping[str, Any], n_theta: int) -> dict:
    """{"t2": s/point for 2 directions, "b": s per extra (point, θ), "line_s": s per ε̃ of one line scan,
    "bytes_per_solve", "bytes_fixed"} at the transport parameters ``tr`` (order ``tr["order"]``), for
    solves of ``n_theta`` ≥ 2 directions: a point with n directions costs ``t2 + b·(n − 2)``.
    """
    order = int(tr["order"])
    n_theta = max(int(n_theta), 2)

    def measure() -> dict:
        sv = _spin_valve(tr)
        scale = tr["U"] if tr["U"] > 0 else tr["T"]
        V = np.array([0.123 * scale])

        def solve(n_pts: int, n_th: int) -> None:
            eps = np.linspace(-0.5 * scale, 0.5 * scale, n_pts)
            th = np.linspace(0.01, np.pi - 0.01, n_th)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sv.solve(eps[:, None, None], V[None, :, None], th[None, None, :], order=order)

        n = _CAL_POINTS[1]
        t2 = _min_time(lambda: solve(n, 2), _REPEATS) / n
        b = 0.0
        if n_theta > 2:
            b = max(_min_time(lambda: solve(n, n_theta), _REPEATS) / n - t2, 0.0) / (n_theta - 2)
        peaks = []
        for n_pts in _CAL_POINTS:
            tracemalloc.start()
            solve(n_pts, n_theta)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        per = max(peaks[1] - peaks[0], 0) / ((_CAL_POINTS[1] - _CAL_POINTS[0]) * n_theta)
        eps_l = np.linspace(-0.5 * scale, 0.5 * scale, 8)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            line_s = _min_time(lambda: sv.resonance_lines(eps_l, -0.5 * scale, 0.5 * scale, kind="resonance",
                                                             n_scan=801), repeats=1) / eps_l.size
        return {"t2": t2, "b": b, "line_s": line_s, "bytes_per_solve": per,
                "bytes_fixed": max(peaks[0] - per * _CAL_POINTS[0] * n_theta, 0.0)}

    return _cached("transport", f"transport:order={order}:n_theta={n_theta}", measure)


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
        table = ConstantTorque(1e-3, 1e-3) if n_theta == 0 else TorqueTable(
            field_like=1e-3 * rng.standard_normal((n_pts, n_theta)),
            damping_like=1e-3 * rng.standard_normal((n_pts, n_theta)),
            charge_current=rng.standard_normal((n_pts, n_theta)))
        sigma2 = magnet.get("sigma2") or 2 * magnet["alpha"] * (magnet.get("T_m") or 5e-4)
        mag = Macrospin(S=magnet["S"], KV=magnet["KV"], alpha=magnet["alpha"], sigma2=sigma2)

        def runner(n: int, steps: int = 10 * _CAL_STEPS):
            return EnsembleRunner(mag, table, n, dt, dt * (steps + 10), 1, backend,
                                  point_index=None if n_theta == 0 else np.arange(n) % n_pts, average_from=0.0)

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

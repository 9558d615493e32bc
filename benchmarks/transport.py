"""Benchmark: transport cost on one core at the paper's parameters (and on CuPy when a GPU is present).

Rows: kernel build per (ε̃, V) point (frequency integrals alone and with the angular map); ``solve`` per
(ε̃, V) point on the 21 ε̃ × 13 V × 7 θ set including θ = 0, π; ``TorqueTable.build`` per point at 384 θ
nodes and the projected time of the 201 × 201 table. ``--full`` instead builds the whole 201 × 201 table as
a local run builds it, its blocks on threads over every usable core (``threaded_map``), once, and writes
benchmarks/results/transport_full.json. Each number is
the median of repeats, as wall time and as CPU time of this process (the CPU time is the robust one on a
shared machine; the full table's wall time on N cores is at best its CPU time / N).

Prints a table and writes benchmarks/results/transport.json. Run: python benchmarks/transport.py [--full]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from gpuqd import __version__  # noqa: E402
from gpuqd.transport import SpinValve, TorqueTable  # noqa: E402
from gpuqd.transport.kernel import integral_vector  # noqa: E402
from gpuqd.transport.torque_table import threaded_map, usable_cores  # noqa: E402

PAPER = dict(U=1000.0, T=10.0, gamma_S=2 / 3, gamma_D=4 / 3, p_S=0.99, p_D=0.99)
THETAS = np.array([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]) * np.pi  # includes the collinear θ = 0, π
GRID_EPS = np.linspace(-0.5, 0.5, 21) * PAPER["U"]
GRID_V = np.linspace(-0.5, 0.5, 13) * PAPER["U"]
TABLE_AXES = (np.linspace(-0.5, 0.5, 8) * PAPER["U"], np.linspace(-0.45, 0.45, 8) * PAPER["U"])
FULL_TABLE_POINTS = 201 * 201
TARGETS = {
    "solve_ms_per_point_7_angles": 0.5,
    "table_ms_per_point_384": 1.5,
    "table_201x201_s": 60.0,
    "table_201x201_all_cores_s": 20.0,
}


def _median_time(fn, repeats: int, sync=None) -> tuple[float, float]:
    """Median wall and CPU seconds of ``fn()`` over ``repeats`` runs (after one warm-up)."""
    fn()
    walls, cpus = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        if sync is not None:
            sync()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return float(np.median(walls)), float(np.median(cpus))


def measure(backend: str, repeats: int) -> dict:
    sv = SpinValve(**PAPER, backend=backend)
    xp, sync = sv.xp, None
    if backend == "cupy":  # pragma: no cover - needs a GPU
        sync = xp.cuda.runtime.deviceSynchronize
    n_grid = GRID_EPS.size * GRID_V.size
    e_flat = np.repeat(GRID_EPS, GRID_V.size)
    v_flat = np.tile(GRID_V, GRID_EPS.size)
    out = {}
    wall, cpu = _median_time(
        lambda: integral_vector(xp.asarray(e_flat), xp.asarray(v_flat), sv.U, sv.T, xp=xp), repeats, sync
    )
    out["integrals_ms_per_point"] = (wall / n_grid * 1e3, cpu / n_grid * 1e3)
    wall, cpu = _median_time(lambda: sv.angular_coefficients(e_flat, v_flat), repeats, sync)
    out["kernel_build_ms_per_point"] = (wall / n_grid * 1e3, cpu / n_grid * 1e3)
    wall, cpu = _median_time(
        lambda: sv.solve(GRID_EPS[:, None, None], GRID_V[None, :, None], THETAS[None, None, :]), repeats
    )
    out["solve_ms_per_point_7_angles"] = (wall / n_grid * 1e3, cpu / n_grid * 1e3)
    n_table = TABLE_AXES[0].size * TABLE_AXES[1].size
    wall, cpu = _median_time(lambda: TorqueTable.build(sv, *TABLE_AXES), max(1, repeats // 2))
    out["table_ms_per_point_384"] = (wall / n_table * 1e3, cpu / n_table * 1e3)
    out["table_201x201_s"] = tuple(v * 1e-3 * FULL_TABLE_POINTS for v in out["table_ms_per_point_384"])
    return out


def measure_full_table() -> tuple[float, float]:
    """(wall s, CPU s) of the 201 × 201 table at 384 nodes plus θ = 0.01π, 0.99π, blocks of 2048 points
    on threads over every usable core (as the transport stage of a local run builds it)."""
    sv = SpinValve(**PAPER)
    axis = np.linspace(-0.5, 0.5, 201) * PAPER["U"]
    w0, c0 = time.perf_counter(), time.process_time()
    TorqueTable.build(
        sv, axis, axis, extra_theta=[0.01 * np.pi, 0.99 * np.pi], block_points=2048,
        map_blocks=threaded_map(usable_cores()),
    )  # fmt: skip
    return time.perf_counter() - w0, time.process_time() - c0


def _gpu_available() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def main_full(load: float) -> dict:
    """``--full``: the whole 201 × 201 table on every usable core, once; writes results/transport_full.json."""
    wall, cpu = measure_full_table()
    print(f"201x201 table, 384 nodes + 2 angles, {usable_cores()} threads: wall {wall:.1f} s, CPU {cpu:.1f} s "
          f"(target <= {TARGETS['table_201x201_all_cores_s']:g} s wall), load average {load:.1f} at start")  # fmt: skip
    record = {
        "benchmark": "transport --full",
        "version": __version__,
        "processor": platform.processor() or platform.machine(),
        "numpy": np.__version__,
        "threads": usable_cores(),
        "load_average_at_start": load,
        "parameters": PAPER,
        "n_theta": 384,
        "extra_theta": ["0.01 pi", "0.99 pi"],
        "block_points": 2048,
        "table_201x201_all_cores_s": {"wall": wall, "cpu": cpu},
    }
    path = Path(__file__).resolve().parent / "results" / "transport_full.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2))
    print(f"wrote {path}")
    return record


def main() -> dict:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    if "--full" in sys.argv[1:]:
        return main_full(load)
    results = {"numpy": measure("numpy", repeats=5)}
    if _gpu_available():  # pragma: no cover - needs a GPU
        results["cupy"] = measure("cupy", repeats=5)
    cpu = platform.processor() or platform.machine()
    print(
        f"gpuqd {__version__} transport benchmark, paper parameters, 1 BLAS/OMP thread, {cpu}, "
        f"load average {load:.1f} at start"
    )
    print(f"{'backend':<7} {'quantity':<32} {'wall':>10} {'cpu':>10}  unit      target")
    for backend, rows in results.items():
        for name, (wall, cpu_time) in rows.items():
            unit = "s" if name.endswith("_s") else "ms"
            target = TARGETS.get(name)
            print(
                f"{backend:<7} {name:<32} {wall:10.3f} {cpu_time:10.3f}  {unit:<8}  "
                f"{'' if target is None else f'<= {target:g}'}"
            )
    if "cupy" not in results:
        print("cupy: not run (no CUDA device / CuPy on this machine)")
    record = {
        "version": __version__,
        "machine": platform.machine(),
        "processor": cpu,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "threads": 1,
        "load_average_at_start": load,
        "parameters": PAPER,
        "solve_set": {"n_eps": GRID_EPS.size, "n_V": GRID_V.size, "thetas_over_pi": (THETAS / np.pi).tolist()},
        "table_points": int(TABLE_AXES[0].size * TABLE_AXES[1].size),
        "table_n_theta": 384,
        "statistic": "median of repeats; each value [wall, cpu-of-process]",
        "targets": TARGETS,
        "results": {b: {k: list(v) for k, v in rows.items()} for b, rows in results.items()},
        "cupy_run": "cupy" in results,
    }
    path = Path(__file__).resolve().parent / "results" / "transport.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2))
    print(f"wrote {path}")
    return record


if __name__ == "__main__":
    main()

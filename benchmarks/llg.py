"""Throughput of the batched LLG engine: trajectory-steps per second.

NumPy on one core (threads pinned before NumPy is imported) at N = 10³, 10⁴, 10⁵, and, when CuPy
and a CUDA device are present, the fused FP64 kernel at N = 10⁴ … 10⁶ with the fraction of a
nominal FP64 bound. Prints a table and writes benchmarks/results/llg.json.

Usage: python benchmarks/llg.py [--quick]
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

from gpuqd.dynamics import ConstantTorque, EnsembleRunner, Macrospin  # noqa: E402
from gpuqd.transport import TorqueTable  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "llg.json"
MAGNET = Macrospin(S=1.0, KV=0.01, alpha=0.1, sigma2=1e-4)
DT = 0.01
# Nominal FP64 operations per trajectory-step of the fused kernel, counted from llg_kernel.cu with each
# transcendental (sqrt, division, log, sin, cos, acos) weighted as 20 operations: the constant-torque
# step has ≈150 arithmetic ops + 15 transcendentals, a table step ≈260 + 21 (incl. 2 table lookups).
FLOP_PER_STEP = {"constant": 150 + 15 * 20, "table": 260 + 21 * 20}


def _table(n_points: int = 100, n_theta: int = 384) -> TorqueTable:
    functions = [
        lambda th, a=a: (0.01 * np.cos(th) + a, 0.02 * np.sin(th) ** 2, 1.0 + a * th)
        for a in np.linspace(-0.02, 0.02, n_points)
    ]
    return TorqueTable.from_functions(functions, n_theta=n_theta)


def _torque(kind: str, n_traj: int):
    if kind == "constant":
        return ConstantTorque(0.0, 0.02, 1.0), None
    table = _table()
    return table, np.arange(n_traj) % table.n_points


def measure(kind: str, n_traj: int, n_steps: int, backend: str) -> float:
    """Trajectory-steps per second for one advance() of n_steps (after a short warm-up)."""
    torque, point_index = _torque(kind, n_traj)
    runner = EnsembleRunner(
        MAGNET,
        torque,
        n_traj=n_traj,
        dt=DT,
        t_end=DT * (n_steps + 10),
        seed=1,
        backend=backend,
        average_from=0.0,
        point_index=point_index,
    )
    runner.advance(10)  # warm-up (kernel compilation, caches)
    if backend == "cupy":
        import cupy

        cupy.cuda.Device().synchronize()
    start = time.perf_counter()
    runner.advance(n_steps)
    if backend == "cupy":
        cupy.cuda.Device().synchronize()
    return n_traj * n_steps / (time.perf_counter() - start)


def fp64_peak() -> tuple[float, str] | None:
    """Nominal FP64 peak (flop/s) of device 0 from SM count and clock; None if unknown."""
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(0)
    cc = (props["major"], props["minor"])
    flops_per_clock_per_sm = {(6, 0): 64, (7, 0): 64, (8, 0): 64, (9, 0): 128}.get(cc)
    if flops_per_clock_per_sm is None:
        return None
    peak = flops_per_clock_per_sm * props["multiProcessorCount"] * props["clockRate"] * 1e3
    return peak, props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])


def main(quick: bool = False) -> dict:
    budget = 2e6 if quick else 1e7  # trajectory-steps per NumPy measurement
    rows = []
    for kind in ("constant", "table"):
        for n_traj in (10**3, 10**4, 10**5):
            n_steps = max(20, int(budget // n_traj))
            rate = measure(kind, n_traj, n_steps, "numpy")
            rows.append(
                {
                    "backend": "numpy",
                    "torque": kind,
                    "n_traj": n_traj,
                    "steps": n_steps,
                    "traj_steps_per_s": rate,
                }
            )
            print(f"numpy  {kind:8s} N={n_traj:>8d}  {rate:12.4g} traj-steps/s", flush=True)
    gpu = None
    try:
        from gpuqd.dynamics.runner import cupy_usable

        if cupy_usable():
            peak = fp64_peak()
            gpu = {"device": peak[1] if peak else "unknown", "fp64_peak_flops": peak[0] if peak else None}
            for kind in ("constant", "table"):
                for n_traj in (10**4, 10**5, 10**6):
                    n_steps = 2000 if n_traj <= 10**5 else 500
                    rate = measure(kind, n_traj, n_steps, "cupy")
                    fraction = rate * FLOP_PER_STEP[kind] / peak[0] if peak else None
                    rows.append(
                        {
                            "backend": "cupy",
                            "torque": kind,
                            "n_traj": n_traj,
                            "steps": n_steps,
                            "traj_steps_per_s": rate,
                            "fraction_of_fp64_bound": fraction,
                        }
                    )
                    pct = f"{100 * fraction:5.1f}% of FP64 bound" if fraction is not None else ""
                    print(f"cupy   {kind:8s} N={n_traj:>8d}  {rate:12.4g} traj-steps/s  {pct}", flush=True)
    except Exception as exc:  # pragma: no cover - report and keep the NumPy numbers
        print(f"GPU benchmark skipped: {exc!r}", file=sys.stderr)
    report = {
        "benchmark": "llg",
        "dt": DT,
        "magnet": "S=1, KV=0.01, alpha=0.1, sigma2=1e-4",
        "numpy_threads": 1,
        "numpy_version": np.__version__,
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "flop_per_step_nominal": FLOP_PER_STEP,
        "gpu": gpu,
        "results": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    print(f"wrote {RESULTS}")
    return report


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)

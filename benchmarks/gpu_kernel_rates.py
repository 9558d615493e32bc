"""Kernel throughput of one engine for the GPU acceptance: trajectory-steps per second of the fused LLG
kernel with a constant torque, a 100-point table and a 40 401-point table (the Fig. 2 grid, 201 × 201),
384 nodes each, at N = 10⁴, 10⁵, 10⁶ trajectories (table points assigned round-robin).

Each entry is the median of ``--repeats`` timed advances of ``--steps`` steps from the same state,
after a warm-up advance (kernel compilation, table upload); the device is synchronised around each
timed advance. Prints a table and writes JSON to ``--out`` (default benchmarks/results/
gpu_kernel_rates.json, not tracked).

Usage: python benchmarks/gpu_kernel_rates.py [--backend cupy] [--steps 2000] [--repeats 3] [--out FILE]
       [--sizes 1e4,1e5,1e6]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from gpuqd.dynamics import ConstantTorque, EnsembleRunner, Macrospin
from gpuqd.dynamics.engines import registry as backends
from gpuqd.transport import TorqueTable

RESULTS = Path(__file__).resolve().parent / "results" / "gpu_kernel_rates.json"
MAGNET = Macrospin(S=1.0, KV=0.01, alpha=0.1, sigma2=1e-4)
DT = 0.01
N_THETA = 384
TORQUES = {"constant": 0, "table_100": 100, "table_40401": 201 * 201}


def synthetic_table(n_points: int, n_theta: int = N_THETA) -> TorqueTable:
    """Smooth I_FL, I_DL, I_C(θ) varying with the point (Γ); built vectorised (no per-point Python)."""
    from gpuqd.transport.torque_table import node_s, theta_of_s

    theta = theta_of_s(node_s(n_theta))[None, :]
    a = np.linspace(-0.02, 0.02, n_points)[:, None]
    return TorqueTable(
        field_like=0.01 * np.cos(theta) + a + 0.0 * theta,
        damping_like=0.02 * np.sin(theta) ** 2 + 0.0 * a,
        charge_current=1.0 + a * theta,
    )


def _synchronize(backend: str) -> None:
    if backend == "cupy":
        import cupy

        cupy.cuda.Device().synchronize()


def measure(backend: str, kind: str, n_traj: int, steps: int, repeats: int, table: TorqueTable | None) -> list[float]:
    """Trajectory-steps per wall second of ``repeats`` advances of ``steps`` steps."""
    torque = ConstantTorque(0.0, 0.02, 1.0) if table is None else table
    point_index = None if table is None else np.arange(n_traj) % table.n_points
    runner = EnsembleRunner(
        MAGNET,
        torque,
        n_traj=n_traj,
        dt=DT,
        t_end=DT * (steps + 10),
        seed=1,
        backend=backend,
        average_from=0.0,
        point_index=point_index,
    )
    runner.advance(10)
    state = runner.get_state()
    rates = []
    for _ in range(repeats):
        runner.set_state(state)
        _synchronize(backend)
        start = time.perf_counter()
        runner.advance(steps)
        _synchronize(backend)
        rates.append(n_traj * steps / (time.perf_counter() - start))
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="cupy", choices=backends.BACKENDS)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default="1e4,1e5,1e6", help="comma-separated trajectory counts")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    info = backends.describe(args.backend)
    if not info["available"]:
        print(f"backend {args.backend} not usable: {info['reason']}", file=sys.stderr)
        return 2
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    rows = []
    for kind, n_points in TORQUES.items():
        table = synthetic_table(n_points) if n_points else None
        for n_traj in sizes:
            steps = args.steps if n_traj <= 10**5 else max(10, args.steps // 4)
            rates = measure(args.backend, kind, n_traj, steps, args.repeats, table)
            rows.append(
                {
                    "torque": kind,
                    "table_points": n_points,
                    "n_traj": n_traj,
                    "steps": steps,
                    "traj_steps_per_s": float(np.median(rates)),
                    "repeats": rates,
                }
            )
            print(f"{args.backend:6s} {kind:12s} N={n_traj:>8d}  {rows[-1]['traj_steps_per_s']:10.3g} traj-steps/s")
    report = {
        "benchmark": "gpu_kernel_rates",
        "backend": args.backend,
        "device": info.get("description"),
        "dt": DT,
        "n_theta": N_THETA,
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "note": "medians of repeats, wall time with the device synchronised",
        "results": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ensemble rate of configs/fig2.yaml on the cpu engine, and the fig2 total derived from it.

The real Fig. 2 ensemble: 40401 trajectories, one per point of its 201 × 201 torque table (384 nodes,
≈ 0.6 GB), the paper's magnet, Δt = 0.01/Γ, window averages on; timed for ``steps`` steps on 1 and
2 OpenMP threads (median of 3), as trajectory-steps per CPU-second (process time: robust on a shared
machine) and per wall second. Derived total on C cores: 8.1·10¹⁰ trajectory-steps / (C × the
per-CPU-second rate), plus the table build and the start-up measured separately (README cost table).

The table comes from a run's cache: ``gpuqd run configs/fig2.yaml --set dynamics.t_end=200.0 --set
dynamics.average_from=100.0`` builds it into runs/.cache/tables/; pass that .npz.

Usage: python benchmarks/llg_fig2.py TABLE.npz [steps]   (writes benchmarks/results/llg_fig2.json)
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from gpuqd.dynamics import EnsembleRunner, Macrospin
from gpuqd.transport import TorqueTable

FIG2_TRAJECTORY_STEPS = 201 * 201 * 2_000_000
RESULTS = Path(__file__).resolve().parent / "results" / "llg_fig2.json"


def main(table_path: str, steps: int = 1000) -> dict:
    table = TorqueTable.load(table_path)
    magnet = Macrospin(S=1.0, KV=0.01, alpha=0.1, sigma2=1e-4)
    n = table.n_points
    rows = []
    for threads in (1, 2):
        runner = EnsembleRunner(
            magnet, table, n, 0.01, 0.01 * (3 * steps + 10), seed=1, backend="cpu",
            point_index=np.arange(n), average_from=0.0, switch_threshold=0.5, threads=threads,
        )  # fmt: skip
        runner.advance(10)
        cpu, wall = [], []
        for _ in range(3):
            c0, w0 = time.process_time(), time.perf_counter()
            runner.advance(steps)
            cpu.append(n * steps / (time.process_time() - c0))
            wall.append(n * steps / (time.perf_counter() - w0))
        row = {
            "threads": threads,
            "n_traj": n,
            "steps": steps,
            "traj_steps_per_cpu_s": float(np.median(cpu)),
            "traj_steps_per_s": float(np.median(wall)),
            "load_average": os.getloadavg(),
        }
        rows.append(row)
        print(f"fig2 ensemble, {threads} thread(s): {row['traj_steps_per_cpu_s']:.3g} /CPU-s, "
              f"{row['traj_steps_per_s']:.3g} /wall-s, load {row['load_average'][0]:.1f}", flush=True)  # fmt: skip
    per_core = rows[-1]["traj_steps_per_cpu_s"]
    derived = FIG2_TRAJECTORY_STEPS / (2 * per_core)
    total = f"{FIG2_TRAJECTORY_STEPS:.3g} / (2 x {per_core:.3g}) = {derived / 60:.1f} min"
    print(f"fig2 dynamics on 2 cores (derived): {total}")
    report = {"rows": rows, "fig2_trajectory_steps": FIG2_TRAJECTORY_STEPS, "derived_dynamics_s_on_2_cores": derived}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1000)

"""Benchmark: cost per (ε̃, V) grid point of the axial Fokker–Planck maps on one core.

Builds the paper's torque table on a 21×21 grid over [−0.5, 0.5]U (docs/physics.md §7), then times
``axial_maps`` (stationary ⟨θ⟩ and P(AP), both mean first-passage times; and additionally ⟨θ⟩ over the
Fig. 2 window [10⁴, 2·10⁴]/Γ). Medians of repeats. Prints a table and writes
benchmarks/results/fokker_planck.json. Run: python benchmarks/fokker_planck.py [n_grid]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from gpuqd import __version__  # noqa: E402
from gpuqd.dynamics import Macrospin  # noqa: E402
from gpuqd.observables.fokker_planck import N_CELLS, axial_maps  # noqa: E402
from gpuqd.transport import SpinValve, TorqueTable  # noqa: E402

PAPER = dict(U=1000.0, T=10.0, gamma_S=2 / 3, gamma_D=4 / 3, p_S=0.99, p_D=0.99)
TARGETS_MS = {"stationary + MFPT": 1.0, "all (with ⟨θ⟩ window)": 10.0}


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(n_grid: int = 21, repeats: int = 3) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sv = SpinValve(**PAPER)
    axis = np.linspace(-0.5, 0.5, n_grid) * PAPER["U"]
    table = TorqueTable.build(sv, axis, axis)
    magnet = Macrospin(S=1.0, KV=0.01, alpha=0.1, sigma2=1e-4)
    points = np.arange(table.n_points)
    rows = []
    for label, window in (("stationary + MFPT", False), ("all (with ⟨θ⟩ window)", True)):
        seconds = _median_time(
            lambda w=window: axial_maps(magnet, table, points, 0.5, 0.0, 1e4, 2e4, with_window=w), repeats
        )
        rows.append(
            {
                "quantities": label,
                "points": int(table.n_points),
                "seconds": seconds,
                "ms_per_point": 1e3 * seconds / table.n_points,
                "target_ms_per_point": TARGETS_MS[label],
            }
        )
    print(f"axial Fokker–Planck maps, {n_grid}×{n_grid} paper grid, {N_CELLS} cells, one core, median of {repeats}")
    print(f"{'quantities':<26}{'points':>8}{'s':>10}{'ms/point':>12}{'target':>10}")
    for r in rows:
        print(
            f"{r['quantities']:<26}{r['points']:>8}{r['seconds']:>10.2f}{r['ms_per_point']:>12.2f}"
            f"{r['target_ms_per_point']:>10.1f}"
        )
    result = {
        "benchmark": "fokker_planck",
        "version": __version__,
        "machine": platform.machine(),
        "python": platform.python_version(),
        "n_grid": n_grid,
        "n_cells": N_CELLS,
        "rows": rows,
        "note": "one core (BLAS threads = 1); other work may run on the machine: compare medians",
    }
    out = Path(__file__).resolve().parent / "results" / "fokker_planck.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 21)

"""Rare write-error rates by committor-weighted splitting (gpuqd.observables.splitting, docs/physics.md §16.3)
against the exact axial Fokker–Planck answer: bias, coverage of the stated error, and cost against brute force.

    python benchmarks/wer_rare_event.py [--runs 20] [--width 58.5] [--particles 200] [--stages 40]
                                         [--repeats 10] [--backend cpu]

Case: the paper device of tests/observables/test_write_error.py (rest (ε̃, V) = (−0.45U, 0), write V = −0.45U,
read V = 0.05U; S = 1, KV = 0.01, α = 0.1, σ² = 1e-4), settle 10/Γ, dt = 0.05. Each run is one call with
its own seed (``repeats`` replicas of ``particles`` particles); per run it records the estimate, the stated
standard error, z = (estimate − exact)/SE and the cost ratio trajectory-steps / brute-force trajectory-steps
for the same relative standard error ((1 − p)/(p ε²) trajectories of the protocol's length). Prints a table
and writes benchmarks/results/wer_rare_event_<particles>x<repeats>.json (with machine, cores and load).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path

import numpy as np
from scipy import stats

from gpuqd.dynamics import Macrospin
from gpuqd.observables.splitting import splitting_write_error
from gpuqd.observables.write_error import PulseProtocol, write_error_rate_fp
from gpuqd.transport.spin_valve import SpinValve
from gpuqd.transport.torque_table import TorqueTable

HERE = Path(__file__).resolve().parent
PAPER_POINTS = [(-450.0, 0.0), (-450.0, -450.0), (-450.0, 50.0)]


def paper_table() -> TorqueTable:
    sv = SpinValve(U=1000.0, T=10.0, gamma_S=2 / 3, gamma_D=4 / 3, p_S=0.99, p_D=0.99)
    tables = [TorqueTable.build(sv, [e], [v]) for e, v in PAPER_POINTS]
    return TorqueTable(
        field_like=np.concatenate([t.field_like for t in tables]),
        damping_like=np.concatenate([t.damping_like for t in tables]),
        charge_current=np.concatenate([t.charge_current for t in tables]),
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--width", type=float, default=58.5)
    ap.add_argument("--particles", type=int, default=200)
    ap.add_argument("--stages", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--backend", default="cpu")
    args = ap.parse_args()
    table = paper_table()
    magnet = Macrospin(S=1.0, KV=0.01, alpha=0.1, sigma2=1e-4)
    protocol = PulseProtocol(rest=0, write=1, settle=10.0, read=2)
    exact = float(write_error_rate_fp(magnet, table, protocol, [args.width], degree=192)["write_error_rate"][0])
    rows = []
    print(f"width {args.width}/Γ, exact WER {exact:.4e}; {args.runs} runs of {args.repeats} x {args.particles}")
    print(f"{'seed':>4} {'estimate':>11} {'SE':>10} {'z':>6} {'cost ratio':>11} {'s':>6}")
    for seed in range(args.runs):
        t0 = time.perf_counter()
        est = splitting_write_error(
            magnet, table, protocol, args.width, 0.05, seed, args.particles, args.stages, args.repeats, args.backend
        )
        seconds = time.perf_counter() - t0
        row = {
            "seed": seed,
            "estimate": float(est["estimate"]),
            "standard_error": float(est["standard_error"]),
            "z": (float(est["estimate"]) - exact) / float(est["standard_error"]),
            "trajectory_steps": float(est["trajectory_steps"]),
            "brute_force_steps": float(est["brute_force_steps"]),
            "cost_ratio": float(est["trajectory_steps"]) / float(est["brute_force_steps"]),
            "seconds": seconds,
        }
        rows.append(row)
        print(
            f"{seed:4d} {row['estimate']:11.4e} {row['standard_error']:10.3e} {row['z']:6.2f} "
            f"{row['cost_ratio']:11.2e} {seconds:6.1f}"
        )
    z = np.array([r["z"] for r in rows])
    estimates = np.array([r["estimate"] for r in rows])
    k = float(stats.t.ppf(0.995, args.repeats - 1))
    summary = {
        "exact": exact,
        "mean_of_estimates": float(estimates.mean()),
        "se_of_mean_of_estimates": float(estimates.std(ddof=1) / math.sqrt(len(rows))),
        "relative_bias": float(estimates.mean() / exact - 1.0),
        "z_mean": float(z.mean()),
        "z_std": float(z.std(ddof=1)),
        "coverage_1se": float(np.mean(np.abs(z) < 1.0)),
        "coverage_t99": float(np.mean(np.abs(z) < k)),
        "t99_k": k,
        "median_cost_ratio": float(np.median([r["cost_ratio"] for r in rows])),
        "median_seconds": float(np.median([r["seconds"] for r in rows])),
    }
    for key, value in summary.items():
        print(f"{key:>26}: {value:.4g}")
    meta = {
        "machine": platform.node(),
        "processor": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "load": os.getloadavg(),
        "args": vars(args),
    }
    out = HERE / "results" / f"wer_rare_event_{args.particles}x{args.repeats}.json"
    out.write_text(json.dumps({"meta": meta, "summary": summary, "rows": rows}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

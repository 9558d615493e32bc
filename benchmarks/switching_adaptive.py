"""Adaptive switching-time ensembles vs one fixed N: trajectories needed for the same CI width.

Four 'grid points' with different constant torques (a TorqueTable with θ-independent entries; the
regime ranges from thermally activated, CV ≈ 1, to nearly deterministic, CV ≪ 1) run P→AP under
gpuqd.observables.adaptive_switching.AdaptiveSwitchingRun with a target relative 95 % CI width of the mean
first-passage time. The fixed-N comparison uses the largest N the adaptive run needed at any point
for every point, and checks that it meets the same target. Also reports the trajectory-steps
with and without compaction. NumPy backend; prints a table and writes
benchmarks/results/switching_adaptive.json.

Usage: python benchmarks/switching_adaptive.py [--target 0.1]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from gpuqd.dynamics import Macrospin
from gpuqd.observables.adaptive_switching import AdaptiveSwitchingRun
from gpuqd.transport import TorqueTable

# (I_FL, I_DL) per point, Γ
POINT_TORQUES = [(0.0, 0.0), (0.03, 0.025), (0.0, 0.04), (-0.02, 0.08), (-0.05, 0.15)]


def _run(n_initial: int, adaptive: bool, target: float, compaction: bool = True) -> tuple[AdaptiveSwitchingRun, float]:
    magnet = Macrospin(S=1.0, alpha=0.2, KV=0.1, sigma2=0.008)
    table = TorqueTable.from_functions(
        [lambda th, fl=fl, dl=dl: (fl + 0 * th, dl + 0 * th, 0 * th) for fl, dl in POINT_TORQUES], n_theta=16
    )
    run = AdaptiveSwitchingRun(
        magnet,
        table,
        len(POINT_TORQUES),
        ["P_to_AP"],
        0.1,
        3000.0,
        7,
        n_initial,
        adaptive=adaptive,
        target_width=target,
        max_per_point=20000,
        max_rounds=12,
        compaction=compaction,
    )
    t0 = time.perf_counter()
    while not run.done:
        run.advance(1000)
    return run, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=0.1)
    parser.add_argument("--initial", type=int, default=50)
    args = parser.parse_args()
    adaptive, t_adaptive = _run(args.initial, True, args.target)
    summary = adaptive.summary()
    width = adaptive.relative_width(summary)
    n_fixed = int(adaptive.n_done.max())
    fixed, t_fixed = _run(n_fixed, False, args.target)
    fixed_width = fixed.relative_width(fixed.summary())
    rows = []
    print(f"target relative 95 % CI width of the mean first-passage time: {args.target}")
    print(" point  (I_FL, I_DL)     CV     mean time   N adaptive  width   | N fixed  width")
    for p, torque in enumerate(POINT_TORQUES):
        rows.append(
            {
                "torque": torque,
                "cv": float(summary["cv"][p]),
                "mean_time": float(summary["mean_time"][p]),
                "n_adaptive": int(adaptive.n_done[p]),
                "width_adaptive": float(width[p]),
                "n_fixed": n_fixed,
                "width_fixed": float(fixed_width[p]),
            }
        )
        print(
            f"  {p}    {torque!s:15} {summary['cv'][p]:5.2f}  {summary['mean_time'][p]:9.1f}   "
            f"{adaptive.n_done[p]:8d}   {width[p]:.3f}  | {n_fixed:6d}  {fixed_width[p]:.3f}"
        )
    total_adaptive, total_fixed = int(adaptive.n_done.sum()), n_fixed * len(POINT_TORQUES)
    print(
        f"trajectories: adaptive {total_adaptive} in {adaptive.round} rounds vs fixed {total_fixed} "
        f"({total_fixed / total_adaptive:.2f}x); wall {t_adaptive:.1f} s vs {t_fixed:.1f} s"
    )
    print(
        f"trajectory-steps (adaptive): {adaptive.trajectory_steps:.3g} with compaction, "
        f"{adaptive.trajectory_steps_uncompacted:.3g} without"
    )
    out = Path(__file__).with_name("results") / "switching_adaptive.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "target": args.target,
                "points": rows,
                "total_adaptive": total_adaptive,
                "total_fixed": total_fixed,
                "rounds": adaptive.round,
                "wall_s_adaptive": t_adaptive,
                "wall_s_fixed": t_fixed,
                "trajectory_steps_compacted": adaptive.trajectory_steps,
                "trajectory_steps_uncompacted": adaptive.trajectory_steps_uncompacted,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

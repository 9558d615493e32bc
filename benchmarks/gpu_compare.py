"""End-to-end NumPy-vs-CuPy comparison for the GPU acceptance (benchmarks/gpu_acceptance.sh).

Two runs through the public API, each on both engines with the same seed:

1. a small switching diagram: a 6 × 6 (ε̃, V) grid over [−U/2, U/2]² at the paper's transport
   parameters (table from :meth:`gpuqd.transport.TorqueTable.build`), a few trajectories per pixel
   from the parallel state, ⟨θ⟩ over the second half of the run (``EnsembleRunner``);
2. a compacting first-passage run (``gpuqd.observables.first_passage.FirstPassageEnsemble``) on the same table.

The engines draw the same Philox noise for every (seed, trajectory, step), so they differ only by
floating-point rounding. Rounding differences stay at the 1e-12 level on contracting trajectories
but are amplified near the unstable equilibria, so a few trajectories may end elsewhere. Pass
criteria: ≥ 99 % of trajectories end within 1e-6 of each other (diagram) and have the same number
of switches / the same first-passage step; ≥ 99 % of pixels in the same phase (⟨θ⟩ above or below
π/2). Prints one table, writes benchmarks/results/gpu_compare.json, exits 1 if a check fails.

Usage: python benchmarks/gpu_compare.py [--engines numpy,cupy] [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from gpuqd.dynamics import ConstantTorque, EnsembleRunner, Macrospin
from gpuqd.observables.first_passage import FirstPassageEnsemble
from gpuqd.transport import SpinValve, TorqueTable

RESULTS = Path(__file__).resolve().parent / "results" / "gpu_compare.json"
PAPER = dict(U=1000.0, T=10.0, gamma_S=2 / 3, gamma_D=4 / 3, p_S=0.99, p_D=0.99)
MAGNET = Macrospin(S=1.0, KV=0.01, alpha=0.1, sigma2=1e-4)
DT = 0.016
SEED = 20261128
AGREE_ATOL = 1e-6  # |Δn| below which two trajectories count as the same
MIN_FRACTION = 0.99


def build_table(n_grid: int) -> TorqueTable:
    axis = np.linspace(-0.5, 0.5, n_grid) * PAPER["U"]
    return TorqueTable.build(SpinValve(**PAPER), axis, axis)


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def diagram(table: TorqueTable, engine: str, per_pixel: int, t_end: float) -> tuple[dict, float]:
    n_traj = table.n_points * per_pixel

    def run() -> dict:
        runner = EnsembleRunner(
            MAGNET,
            table,
            n_traj,
            DT,
            t_end,
            SEED,
            backend=engine,
            average_from=t_end / 2,
            point_index=np.arange(n_traj) // per_pixel,
        )
        while not runner.done:
            runner.advance(25_000)
        r = runner.result()
        return {"final": r.final_direction, "switches": r.n_switches, "theta": r.mean_theta}

    return _timed(run)


def first_passage(table: TorqueTable, engine: str, per_pixel: int, t_end: float) -> tuple[dict, float]:
    n_traj = table.n_points * per_pixel

    def run() -> dict:
        ensemble = FirstPassageEnsemble(
            MAGNET,
            table,
            DT,
            t_end,
            SEED + 1,
            trajectory_ids=np.arange(n_traj) * 3 + 11,
            point_index=np.arange(n_traj) // per_pixel,
            backend=engine,
        )
        times = ensemble.run(chunk_steps=5_000)
        return {
            "times": times,
            "trajectory_steps": ensemble.trajectory_steps,
            "full_steps": n_traj * ensemble.steps_total,
        }

    return _timed(run)


def check_engines(engines: tuple[str, str]) -> None:
    """Fail before any long computation if an engine cannot run (tiny constant-torque run)."""
    for engine in engines:
        EnsembleRunner(MAGNET, ConstantTorque(0.0, 0.0), 32, DT, 10 * DT, SEED, backend=engine).advance(10)


def compare(engines: tuple[str, str], quick: bool) -> list[dict]:
    check_engines(engines)
    n_grid, per_pixel, t_end = (4, 2, 400.0) if quick else (6, 4, 2400.0)
    table, t_table = _timed(lambda: build_table(n_grid))
    rows = [
        {
            "check": "torque table",
            "detail": f"{n_grid}x{n_grid} points, 384 nodes (CPU)",
            "seconds": [t_table],
            "ok": True,
        }
    ]

    (a, ta), (b, tb) = (diagram(table, e, per_pixel, t_end) for e in engines)
    same_end = np.max(np.abs(a["final"] - b["final"]), axis=1) < AGREE_ATOL
    same_switches = a["switches"] == b["switches"]
    phase_a = a["theta"].reshape(table.n_points, per_pixel).mean(axis=1) > np.pi / 2
    phase_b = b["theta"].reshape(table.n_points, per_pixel).mean(axis=1) > np.pi / 2
    fractions = (same_end.mean(), same_switches.mean(), np.mean(phase_a == phase_b))
    rows.append(
        {
            "check": "switching diagram",
            "detail": (
                f"{a['final'].shape[0]} traj x {round(t_end / DT)} steps: same end {fractions[0]:.4f}, "
                f"same switches {fractions[1]:.4f}, same phase {fractions[2]:.4f}, "
                f"max|d<theta>| {np.max(np.abs(a['theta'] - b['theta'])):.2e}, "
                f"AP pixels {int(phase_a.sum())}/{phase_a.size}"
            ),
            "seconds": [ta, tb],
            "ok": bool(min(fractions) >= MIN_FRACTION),
        }
    )

    # NumPy steps small ensembles at ~1e6 traj-steps/s, so the first-passage run is kept shorter
    fp_per_pixel, fp_t_end = (2, t_end) if quick else (4, t_end / 2)
    (a, ta), (b, tb) = (first_passage(table, e, fp_per_pixel, fp_t_end) for e in engines)
    both_inf = np.isinf(a["times"]) & np.isinf(b["times"])
    same = both_inf | (a["times"] == b["times"])
    rows.append(
        {
            "check": "first passage (compacting)",
            "detail": (
                f"{a['times'].size} traj: same first-passage step {same.mean():.4f}, switched "
                f"{int(np.isfinite(a['times']).sum())}, work {a['trajectory_steps'] / a['full_steps']:.2f} "
                f"/ {b['trajectory_steps'] / b['full_steps']:.2f} of uncompacted"
            ),
            "seconds": [ta, tb],
            "ok": bool(same.mean() >= MIN_FRACTION),
        }
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="NumPy-vs-CuPy end-to-end comparison")
    parser.add_argument("--engines", default="numpy,cupy", help="two backends to compare (default numpy,cupy)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test of the script)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    engines = tuple(args.engines.split(","))
    if len(engines) != 2:
        parser.error("--engines needs two comma-separated backends")
    rows = compare(engines, args.quick)
    print(f"{'check':28s} {'ok':4s} {engines[0] + ' s':>9s} {engines[1] + ' s':>9s}  detail")
    for r in rows:
        secs = [f"{s:9.1f}" for s in r["seconds"]] + [f"{'':9s}"] * (2 - len(r["seconds"]))
        print(f"{r['check']:28s} {'yes' if r['ok'] else 'NO':4s} {secs[0]} {secs[1]}  {r['detail']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"engines": engines, "rows": rows}, indent=2))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

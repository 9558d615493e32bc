"""Estimated vs measured wall time of whole runs (the numbers the README's cost table quotes).

    python benchmarks/estimates.py --backend cpu                 # quickstart, fig4, switching_times, fmr
    python benchmarks/estimates.py quickstart --repeats 3 --set grid.eps_tilde.num=9 --set grid.V.num=9
    python benchmarks/estimates.py --fresh-calibration           # also time the first-use calibration
    python benchmarks/estimates.py --static                      # the static cost model only

For each configuration: the estimate (:func:`gpuqd.run.costs.estimate.estimate_run`: cached coefficients
of this machine, measured within the 5 s budget, or the static model; ``--fresh-calibration`` measures
anew into a temporary file and reports how long that took, ``--static`` uses the static model), then
``--repeats`` fresh ``gpuqd run --force`` in a temporary runs directory (no transport cache; figures
drawn) timed from the outside; the median is compared with the estimate. Per stage the estimate is
printed beside the run's own stage times (meta.json; "start-up" = wall time minus the stages). Prints a
table and merges its rows (by config name) into ``benchmarks/results/estimates-<host>.json`` with the
1-minute load average before and after each run and where the coefficients came from: other processes
change both numbers; use a quiet machine for the docs.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gpuqd.run.config.validate import load_config  # noqa: E402
from gpuqd.run.costs.coefficients import Costs  # noqa: E402
from gpuqd.run.costs.estimate import estimate_run  # noqa: E402
from gpuqd.run.costs.store import calibration_file, machine_description  # noqa: E402


def timed_run(path: Path, name: str, backend: str, sets: list[str]) -> tuple[float, dict, int]:
    """(wall seconds of a fresh `gpuqd run --force`, its meta.json stage times, exit status)."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "gpuqd.cli",
            "run",
            str(path),
            "--runs-dir",
            tmp,
            "--force",
            "--quiet",
            "--backend",
            backend,
        ] + [x for s in sets for x in ("--set", s)]
        env = dict(os.environ, PYTHONPATH=str(REPO))
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode:
            print(proc.stderr[-2000:], file=sys.stderr)
            return wall, {}, proc.returncode
        meta = json.loads((Path(tmp) / name / "meta.json").read_text(encoding="utf-8"))
    stages = {k: v["wall_s"] for k, v in meta["stages"].items()}
    stages["start-up"] = wall - sum(stages.values())
    return wall, stages, 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("configs", nargs="*", default=["quickstart", "fig4", "switching_times", "fmr"])
    ap.add_argument("--set", action="append", default=[], help="KEY.PATH=VALUE applied to every config")
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--repeats", type=int, default=2, help="timed runs per config (median reported)")
    ap.add_argument(
        "--fresh-calibration",
        action="store_true",
        help="calibrate into a new temporary file (and report how long it takes)",
    )
    ap.add_argument("--static", action="store_true", help="estimate with the static cost model only")
    args = ap.parse_args(argv)
    tmp_cal = tempfile.TemporaryDirectory() if args.fresh_calibration else None
    if tmp_cal:
        os.environ["GPUQD_CALIBRATION_FILE"] = str(Path(tmp_cal.name) / "calibration.json")
    print(f"calibration file: {calibration_file()}")
    rows = []
    for name in args.configs:
        path = REPO / "configs" / f"{name}.yaml" if not name.endswith(".yaml") else Path(name)
        name = path.stem
        cfg = load_config(path, overrides=args.set, backend=args.backend, check_output=False)
        t0 = time.perf_counter()
        costs = Costs(args.backend, measure=not args.static)
        est = estimate_run(cfg, args.backend, costs)
        t_cal = time.perf_counter() - t0
        walls, stage_runs, loads = [], [], []
        for _ in range(args.repeats):
            before = os.getloadavg()[0]
            wall, stages, rc = timed_run(path, cfg.name, args.backend, args.set)
            if rc:
                return rc
            walls.append(wall)
            stage_runs.append(stages)
            loads.append([round(before, 2), round(os.getloadavg()[0], 2)])
        measured = statistics.median(walls)
        median_stages = {k: round(statistics.median(s.get(k, 0.0) for s in stage_runs), 2) for k in stage_runs[0]}
        rows.append(
            {
                "config": name,
                "set": args.set,
                "backend": args.backend,
                "estimate_s": round(est.seconds, 1),
                "measured_s": round(measured, 1),
                "measured_runs_s": [round(w, 1) for w in walls],
                "ratio": round(measured / max(est.seconds, 1e-9), 2),
                "bound": any(s.bound for s in est.stages),
                "estimate_and_calibration_s": round(t_cal, 1),
                "calibration_s": round(est.calibration_s, 1),
                "coefficients": est.source,
                "coefficient_sources": dict(costs.sources),
                "stages_estimate": {s.name: None if s.seconds is None else round(s.seconds, 2) for s in est.stages},
                "stages_measured_median": median_stages,
                "load_avg_1min_before_after": loads,
            }
        )
        r = rows[-1]
        print(
            f"{name:18s} estimate {r['estimate_s']:8.1f} s{' (bound)' if r['bound'] else '        '}  "
            f"measured {r['measured_s']:8.1f} s (median of {args.repeats})  measured/estimate {r['ratio']:.2f}  "
            f"load {loads}  (estimate + calibration {t_cal:.1f} s)",
            flush=True,
        )
        for stage in est.stages:
            got = median_stages.get(stage.name)
            print(
                f"    {stage.name:16s} estimate {stage.seconds or 0:8.2f} s  measured "
                f"{'—' if got is None else f'{got:8.2f} s'}"
            )
    out = REPO / "benchmarks" / "results" / f"estimates-{socket.gethostname()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():  # merge: rows of other configs measured earlier stay
        new = {r["config"] for r in rows}
        rows = [r for r in json.loads(out.read_text(encoding="utf-8"))["rows"] if r["config"] not in new] + rows
    out.write_text(
        json.dumps(
            {
                "machine": machine_description(),
                "cores": os.cpu_count(),
                "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "rows": rows,
            },
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Estimated vs measured wall time of whole runs (the numbers the README's cost table quotes).

    python benchmarks/estimates.py                      # quickstart, fig4, switching_times, fmr
    python benchmarks/estimates.py quickstart --set grid.eps_tilde.num=9 --set grid.V.num=9

For each configuration: the estimate (``gpuqd.run.estimate``, calibrated on this machine, cached),
then a fresh ``gpuqd run --force`` in a temporary runs directory (no transport cache) timed from the
outside. Prints a table and writes ``benchmarks/results/estimates-<host>.json``. Other processes on
the machine change both numbers; run it on a quiet machine for the documentation.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gpuqd.run.calibration import machine_description  # noqa: E402
from gpuqd.run.estimate import estimate_run  # noqa: E402
from gpuqd.run.validate import load_config  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("configs", nargs="*", default=["quickstart", "fig4", "switching_times", "fmr"])
    ap.add_argument("--set", action="append", default=[], help="KEY.PATH=VALUE applied to every config")
    ap.add_argument("--backend", default="numpy")
    args = ap.parse_args(argv)
    rows = []
    for name in args.configs:
        path = REPO / "configs" / f"{name}.yaml" if not name.endswith(".yaml") else Path(name)
        cfg = load_config(path, overrides=args.set, backend=args.backend, check_output=False)
        t0 = time.perf_counter()
        est = estimate_run(cfg.data, args.backend)
        t_cal = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "gpuqd.cli", "run", str(path), "--runs-dir", tmp, "--force",
                   "--backend", args.backend] + [x for s in args.set for x in ("--set", s)]
            env = dict(os.environ, PYTHONPATH=str(REPO))
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            if proc.returncode:
                print(proc.stderr[-2000:], file=sys.stderr)
        rows.append({"config": name, "set": args.set, "estimate_s": round(est.seconds, 1),
                     "measured_s": round(wall, 1), "ratio": round(wall / max(est.seconds, 1e-9), 2),
                     "bound": any(s.bound for s in est.stages), "calibration_s": round(t_cal, 1),
                     "stages": {s.name: None if s.seconds is None else round(s.seconds, 1) for s in est.stages},
                     "rc": proc.returncode, "load_avg_1min": os.getloadavg()[0]})
        r = rows[-1]
        print(f"{name:18s} estimate {r['estimate_s']:8.1f} s{' (bound)' if r['bound'] else '        '}  "
              f"measured {r['measured_s']:8.1f} s  measured/estimate {r['ratio']:.2f}  load {r['load_avg_1min']:.1f}",
              flush=True)
    out = REPO / "benchmarks" / "results" / f"estimates-{socket.gethostname()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine_description(), "cores": os.cpu_count(), "rows": rows}, indent=1)
                   + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

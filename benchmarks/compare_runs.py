"""Bit-identity check of two gpuqd checkouts: run the same reduced configurations with each and
compare every array of results.npz bit for bit (dtype, shape and the bytes of the values).

    python benchmarks/compare_runs.py --base /tmp/base-4d54 [--new .] [--work /tmp/compare]

Each checkout runs in its own subprocess (``PYTHONPATH=<checkout>``) with its own runs directory,
so nothing (not even the transport cache) is shared. The configurations are the files of the *new*
checkout (``configs/``), reduced with ``--set`` so that each run takes well under a minute on one
core. Prints one line per run and array mismatch; exit status 1 if anything differs. Writes
``benchmarks/results/compare_runs.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

#: (config file, --set overrides): the three reduced runs compared (switching_times: a bias range where
#: trajectories switch within t_end, so the adaptive second round runs)
RUNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "configs/quickstart.yaml",
        (
            "backend=numpy",
            "grid.eps_tilde.num=7",
            "grid.V.num=7",
            "transport.n_theta=64",
            "dynamics.t_end=96",
            "dynamics.average_from=48",
            "dynamics.chunk_steps=2500",
            "dynamics.trajectories_per_point=2",
        ),
    ),
    (
        "configs/switching_times.yaml",
        (
            "backend=numpy",
            "grid.eps_tilde.num=3",
            "grid.V.num=3",
            "grid.V.start=-0.45",
            "grid.V.stop=-0.25",
            "statistics.survival_V=[-0.45, -0.3]",
            "transport.n_theta=64",
            "statistics.trajectories_per_point=4",
            "statistics.t_end=500",
            "statistics.chunk_steps=5000",
            "statistics.protocol=both",
            "statistics.adaptive=true",
            "statistics.max_trajectories_per_point=8",
            "statistics.max_rounds=2",
            "statistics.target_relative_ci_width=0.01",
        ),
    ),
    (
        "configs/fmr.yaml",
        (
            "backend=numpy",
            "grid.eps_tilde.num=9",
            "grid.V.num=9",
            "fmr.n_omega=101",
            "fmr.spectra_eps_tilde=[0.25, -0.3]",
            "fmr.spectra_V=[-0.15, 0.2]",
            "fmr.simulate_omegas=2",
            "fmr.periods=4",
            "fmr.settle_decays=2",
            "fmr.steps_per_period=128",
        ),
    ),
)


def run(checkout: Path, config: Path, sets: tuple[str, ...], runs_dir: Path) -> tuple[Path, float]:
    """Run ``config`` with the gpuqd of ``checkout``; (run directory, wall seconds)."""
    env = dict(os.environ, PYTHONPATH=str(checkout))
    env.pop("GPUQD_TEST_KILL_AFTER", None)
    cmd = [
        sys.executable,
        "-m",
        "gpuqd.cli",
        "run",
        str(config),
        "--runs-dir",
        str(runs_dir),
        "--quiet",
        "--no-figures",
        "--force",
    ]
    for s in sets:
        cmd += ["--set", s]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=runs_dir.parent, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{checkout}: {' '.join(cmd)} failed:\n{p.stderr}")
    return Path(p.stdout.strip().splitlines()[-1]), time.perf_counter() - t0


def arrays(run_dir: Path) -> dict[str, np.ndarray]:
    with np.load(run_dir / "results.npz", allow_pickle=False) as d:
        return {k: d[k] for k in d.files if k not in ("attrs", "README")}


def differences(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> list[str]:
    """Names (with the reason) of arrays that are not bit-identical."""
    out = [f"{k}: only in base" for k in sorted(set(a) - set(b))]
    out += [f"{k}: only in new" for k in sorted(set(b) - set(a))]
    for k in sorted(set(a) & set(b)):
        x, y = a[k], b[k]
        if x.dtype != y.dtype or x.shape != y.shape:
            out.append(f"{k}: dtype/shape {x.dtype}{x.shape} vs {y.dtype}{y.shape}")
        elif np.ascontiguousarray(x).tobytes() != np.ascontiguousarray(y).tobytes():  # bit for bit
            delta = f" (max |Δ| = {np.nanmax(np.abs(x - y)):g})" if x.dtype.kind in "fc" and x.size else ""
            out.append(f"{k}: values differ{delta}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, required=True, help="checkout of the reference commit")
    ap.add_argument("--new", type=Path, default=REPO, help="checkout under test (default: this one)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/gpuqd-compare"), help="scratch directory")
    args = ap.parse_args()
    report = []
    failed = False
    for config, sets in RUNS:
        cfg = (args.new / config).resolve()
        dirs = {}
        for label, checkout in (("base", args.base.resolve()), ("new", args.new.resolve())):
            runs_dir = args.work / label / Path(config).stem / "runs"
            shutil.rmtree(runs_dir.parent, ignore_errors=True)
            runs_dir.mkdir(parents=True)
            dirs[label] = run(checkout, cfg, sets, runs_dir)
        a, b = arrays(dirs["base"][0]), arrays(dirs["new"][0])
        diff = differences(a, b)
        failed |= bool(diff)
        print(
            f"{config}: {len(a)} arrays, {'BIT-IDENTICAL' if not diff else f'{len(diff)} DIFFER'} "
            f"(base {dirs['base'][1]:.1f} s, new {dirs['new'][1]:.1f} s)"
        )
        for line in diff:
            print(f"  {line}")
        report.append(
            {
                "config": config,
                "set": list(sets),
                "arrays": len(a),
                "differences": diff,
                "wall_s": {k: round(v[1], 1) for k, v in dirs.items()},
            }
        )
    out = HERE / "results" / "compare_runs.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"base": str(args.base), "new": str(args.new), "runs": report}, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

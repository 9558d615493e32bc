"""Parallel scaling of the dynamics stage on local Dask workers: the quickstart ensemble on 1, 2, … workers.

The ensemble is that of ``configs/quickstart.yaml`` (25 × 25 grid, 1 trajectory per point, its torque
table, dt = 0.016/Γ), integrated over a shorter window (``--t-end``, default 240/Γ = 15 000 steps) in
chunks of ``--chunk`` steps, so that repeats fit in minutes. Timed (median of ``--repeats``):

* ``local``: the in-process executor (one runner, checkpoint after every chunk) — the reference T_local;
* ``blocks_serial``: the blocks of the 2-worker plan run one after the other in this process — the
  cost of halving the batch (vectorisation loss), with no parallelism and no Dask;
* ``dask_n``: the Dask executor on a local cluster of n worker processes (1 thread each; cluster start
  not timed), one block per worker × time-chunk units, unit files written as they arrive.

Efficiency E_n = T_1 / (n · T_n) with T_1 the 1-worker Dask time; overhead per unit =
(T_1 − T_local) / units of the 1-worker run (Dask round trip, state transfer, runner set-up, atomic
write). Every Dask result is checked bit for bit against ``local``. Load average and the number of
other busy processes are recorded: on a shared machine they bound what 2 workers can reach.

Prints a table and writes benchmarks/results/scaling.json.

Usage: python benchmarks/scaling.py [--workers 1 2] [--repeats 3] [--t-end 240] [--chunk 2500] [--runs-dir runs]
                                   [--trajectories-per-point 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from gpuqd.run.config.validate import load_config
from gpuqd.run.execute.checkpoint import Checkpoint
from gpuqd.run.execute.dask_executor import DaskExecutor, start_local_cluster
from gpuqd.run.execute.ensemble_units import advance_block, plan_blocks
from gpuqd.run.execute.executor import LocalExecutor
from gpuqd.run.execute.progress import Reporter
from gpuqd.run.stages import get_stage
from gpuqd.run.stages.base import StageContext
from gpuqd.run.stages.dynamics import DynamicsWork
from gpuqd.run.store.cache import TransportCache

REPO = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "scaling.json"


def _quickstart(t_end: float, chunk: int, runs_dir: str, tpp: int = 1, backend: str = "numpy"):
    overrides = [
        f"dynamics.t_end={t_end}",
        f"dynamics.average_from={t_end / 2}",
        f"dynamics.chunk_steps={chunk}",
        f"dynamics.trajectories_per_point={tpp}",
        f"backend={backend}",
    ]
    return load_config(REPO / "configs" / "quickstart.yaml", overrides=overrides, runs_dir=runs_dir)


def _table(cfg):
    """The quickstart torque table (transport stage; cached under <runs_dir>/.cache)."""
    ctx = StageContext(
        cfg=cfg,
        backend="numpy",
        reporter=Reporter(),
        executor=LocalExecutor(),
        cache=TransportCache(cfg.runs_dir / ".cache"),
        checkpoint_dir=Path(tempfile.mkdtemp()),
        config_hash="bench",
        needs=frozenset({"torque_table"}),
    )
    get_stage("transport").run(ctx)
    return ctx.products["torque_table"]


def _checkpoint() -> Checkpoint:
    return Checkpoint(Path(tempfile.mkdtemp(prefix="gpuqd-scaling-")) / "dynamics_state.npz", "bench", "dynamics")


def _warm_up() -> None:
    import gpuqd.run.execute.ensemble_units  # noqa: F401
    import gpuqd.run.stages.dynamics  # noqa: F401


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _load() -> dict:
    load1, load5, _ = os.getloadavg()
    try:
        import psutil

        procs = list(psutil.process_iter())
        for p in procs:
            try:
                p.cpu_percent(None)  # primes the counter
            except psutil.Error:
                pass
        time.sleep(1.0)
        busy = 0
        for p in procs:
            try:
                busy += p.cpu_percent(None) > 20
            except psutil.Error:
                pass
    except ImportError:
        busy = -1
    return {"loadavg_1min": round(load1, 2), "loadavg_5min": round(load5, 2), "busy_processes": busy}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--t-end", type=float, default=240.0)
    ap.add_argument("--chunk", type=int, default=2500)
    ap.add_argument("--runs-dir", default=str(REPO / "runs"))
    ap.add_argument("--output", default=None, help="JSON file (default benchmarks/results/scaling[-cpu].json)")
    ap.add_argument(
        "--trajectories-per-point",
        type=int,
        default=1,
        help="scale the ensemble (quickstart: 1; larger ensembles show the large-block limit)",
    )
    ap.add_argument(
        "--backend",
        default="numpy",
        choices=["numpy", "cpu"],
        help="engine of the local run and of every worker (cpu: 1 OpenMP thread per worker and, "
        "for a fair T_local, in the local run too)",
    )
    args = ap.parse_args()
    if args.backend == "cpu":
        os.environ["OMP_NUM_THREADS"] = "1"  # the in-process reference on one core, like one worker

    cfg = _quickstart(args.t_end, args.chunk, args.runs_dir, args.trajectories_per_point, args.backend)
    table = _table(cfg)
    work = DynamicsWork(cfg, table, args.backend)
    n_traj, steps = work.n_items, cfg.dynamics.steps
    units_per_block = -(-steps // args.chunk)
    rows: dict[str, dict] = {}
    before = _load()

    times, reference = [], None
    for _ in range(args.repeats):
        t, res = _timed(lambda: LocalExecutor().run_ensemble(work, _checkpoint(), Reporter()))
        times.append(t)
        reference = res
    rows["local"] = {"workers": 1, "units": units_per_block, "times_s": times}

    blocks = plan_blocks(n_traj, 2)

    def serial_blocks() -> None:
        for chain, (lo, hi) in enumerate(blocks):
            state = None
            for link in range(units_per_block):
                state = advance_block(work, chain, link, lo, hi, state)

    rows["blocks_serial"] = {
        "workers": 1,
        "units": units_per_block * len(blocks),
        "times_s": [_timed(serial_blocks)[0] for _ in range(args.repeats)],
    }

    for n in args.workers:
        cluster, client = start_local_cluster(n, args.backend, dashboard=False)
        try:
            client.wait_for_workers(n, timeout=120)
            client.run(_warm_up)  # imports on the workers happen once per process, like the cluster start
            ex = DaskExecutor(client)
            times = []
            for _ in range(args.repeats):
                t, res = _timed(lambda ex=ex: ex.run_ensemble(work, _checkpoint(), Reporter()))
                times.append(t)
                for name in ("mean_theta", "first_passage_time", "n_switches", "samples"):
                    if not np.array_equal(getattr(res, name), getattr(reference, name), equal_nan=True):
                        raise SystemExit(f"dask with {n} workers: {name} differs from the local run")
            rows[f"dask_{n}"] = {"workers": n, "units": units_per_block * len(plan_blocks(n_traj, n)), "times_s": times}
        finally:
            client.close()
            cluster.close()
    after = _load()

    for r in rows.values():
        r["median_s"] = statistics.median(r["times_s"])
        r["trajectory_steps_per_s"] = n_traj * steps / r["median_s"]
    t1 = rows["dask_1"]["median_s"] if "dask_1" in rows else None
    summary = {}
    if t1 is not None:
        summary["overhead_per_unit_s"] = (t1 - rows["local"]["median_s"]) / rows["dask_1"]["units"]
        for n in args.workers:
            rows[f"dask_{n}"]["efficiency"] = t1 / (n * rows[f"dask_{n}"]["median_s"])
    summary["vectorisation_bound_2_blocks"] = rows["local"]["median_s"] / rows["blocks_serial"]["median_s"]

    print(
        f"quickstart ensemble: {n_traj} trajectories × {steps} steps, chunks of {args.chunk} steps; "
        f"median of {args.repeats}"
    )
    print(f"{'executor':<14}{'units':>7}{'median s':>10}{'traj-steps/s':>15}{'efficiency':>12}")
    for name, r in rows.items():
        eff = f"{r['efficiency']:.2f}" if "efficiency" in r else "–"
        print(f"{name:<14}{r['units']:>7}{r['median_s']:>10.2f}{r['trajectory_steps_per_s']:>15.3g}{eff:>12}")
    for k, v in summary.items():
        print(f"{k}: {v:.4g}")
    print(f"machine load before/after: {before} / {after}")

    default = RESULTS if args.backend == "numpy" else RESULTS.with_name("scaling-cpu.json")
    out = Path(args.output) if args.output else default
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "benchmark": "scaling",
                "config": "configs/quickstart.yaml (t_end shortened)",
                "t_end": args.t_end,
                "trajectories_per_point": args.trajectories_per_point,
                "chunk_steps": args.chunk,
                "n_traj": n_traj,
                "steps": steps,
                "repeats": args.repeats,
                "rows": rows,
                "summary": summary,
                "load_before": before,
                "load_after": after,
                "cpu_count": os.cpu_count(),
                "host": platform.node(),
                "python": platform.python_version(),
                "numpy": np.__version__,
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

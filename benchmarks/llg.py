"""Throughput of the batched LLG engine: trajectory-steps per second.

* NumPy on one core (threads pinned before NumPy is imported) at N = 10³, 10⁴, 10⁵;
* the ``cpu`` engine (host build of the fused kernel) at N = 10⁴ and 10⁵, side by side in one run: the
  scalar driver (one trajectory at a time, as before the vectorisation), the vectorised driver on every
  instruction set the CPU has (AVX-512, AVX2 + FMA), on 1 and 2 OpenMP threads; per CPU-second (process
  time, the robust rate on a shared machine) and per wall second, the ratio to NumPy and to cmtj, and the
  fraction of the core's FP64 peak (FP64 operations per step counted in the compiled scalar step ×
  steps per CPU-second / (FP64 operations per cycle of the instruction set × nominal clock));
* cmtj (C++ macrospin, Euler–Heun with thermal noise, one thread) when it is installed (optional:
  ``pip install cmtj``), one trajectory, as the external per-core reference;
* when the ``cupy`` backend is usable, the fused FP64 kernel at N = 10⁴ … 10⁶ with the fraction of its
  issue-bound ceiling on this GPU: SMs × 128 thread-instructions per clock × clock / (SASS instructions
  per step of the drain-only variant, from benchmarks/results/kernel_sass.json — run
  benchmarks/kernel_sass.py first where nvcc is available; sm_90 code, so the fraction is exact on
  H100/H200 and indicative elsewhere).

Constant torque and a 100-point, 384-node torque table. Each entry is the median of ``repeats``
timed advances (the spread is in the JSON). Prints a table and writes benchmarks/results/llg.json.

Usage: python benchmarks/llg.py [--quick]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from gpuqd.dynamics import ConstantTorque, EnsembleRunner, Macrospin  # noqa: E402
from gpuqd.dynamics.engines import registry as backends  # noqa: E402
from gpuqd.transport import TorqueTable  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import llg_cpu  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "llg.json"
MAGNET = Macrospin(S=1.0, KV=0.01, alpha=0.1, sigma2=1e-4)
DT = 0.01
SASS_RESULTS = Path(__file__).resolve().parent / "results" / "kernel_sass.json"
ISSUE_PER_CLOCK_PER_SM = 128  # 4 schedulers × 32 threads (sm_70 … sm_90)


def instructions_per_step() -> dict[str, int]:
    """SASS instructions per step of the 'constant' and 'table' kernel variants (kernel_sass.json)."""
    if not SASS_RESULTS.is_file():
        return {}
    rows = json.loads(SASS_RESULTS.read_text())
    return {
        r["variant"]: r["instructions_per_step"]
        for r in rows
        if r["variant"] in ("constant", "table") and r.get("instructions_per_step")
    }


def _table(n_points: int = 100, n_theta: int = 384) -> TorqueTable:
    functions = [
        lambda th, a=a: (0.01 * np.cos(th) + a, 0.02 * np.sin(th) ** 2, 1.0 + a * th)
        for a in np.linspace(-0.02, 0.02, n_points)
    ]
    return TorqueTable.from_functions(functions, n_theta=n_theta)


def _torque(kind: str, n_traj: int):
    if kind == "constant":
        return ConstantTorque(0.0, 0.02, 1.0), None
    table = _table()
    return table, np.arange(n_traj) % table.n_points


def make_runner(kind: str, n_traj: int, n_steps: int, backend: str, threads: int | None = None) -> EnsembleRunner:
    """The benchmark ensemble: ``kind`` torque, room for n_steps + 10 steps, window averages on."""
    torque, point_index = _torque(kind, n_traj)
    return EnsembleRunner(
        MAGNET,
        torque,
        n_traj=n_traj,
        dt=DT,
        t_end=DT * (n_steps + 10),
        seed=1,
        backend=backend,
        average_from=0.0,
        point_index=point_index,
        threads=threads,
    )


def measure(
    kind: str,
    n_traj: int,
    n_steps: int,
    backend: str,
    threads: int | None = None,
    repeats: int = 1,
) -> tuple[list[float], list[float]]:
    """Trajectory-steps per wall second and per CPU second (all threads of the process) of ``repeats``
    advances of n_steps from the same state (after a warm-up). On a shared machine the CPU-second rate
    is the per-core throughput; the wall rate includes the time other work took the cores."""
    runner = make_runner(kind, n_traj, n_steps, backend, threads)
    runner.advance(10)  # warm-up (kernel compilation, caches)
    start_state = runner.get_state()
    rates, cpu_rates = [], []
    for _ in range(repeats):
        runner.set_state(start_state)
        if backend == "cupy":
            import cupy

            cupy.cuda.Device().synchronize()
        start, cpu_start = time.perf_counter(), time.process_time()
        runner.advance(n_steps)
        if backend == "cupy":
            cupy.cuda.Device().synchronize()
        rates.append(n_traj * n_steps / (time.perf_counter() - start))
        cpu_rates.append(n_traj * n_steps / max(time.process_time() - cpu_start, 1e-9))
    return rates, cpu_rates


def _row(backend: str, kind: str, n_traj: int, n_steps: int, rates: tuple[list[float], list[float]], **extra) -> dict:
    wall, cpu = rates
    return {
        "backend": backend,
        "torque": kind,
        "n_traj": n_traj,
        "steps": n_steps,
        "traj_steps_per_s": float(np.median(wall)),
        "traj_steps_per_cpu_s": float(np.median(cpu)),
        "repeats": [float(r) for r in wall],
        **extra,
    }


def issue_rate() -> tuple[float, str]:
    """Thread-instructions per second device 0 can issue (SMs × 128 × clock) and its name."""
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(0)
    name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    return ISSUE_PER_CLOCK_PER_SM * props["multiProcessorCount"] * props["clockRate"] * 1e3, name


def cpu_section(rows: list, numpy_rate: dict, repeats: int, quick: bool) -> dict:
    """The cpu engine's variants side by side (benchmarks/llg_cpu.py), cmtj and the FP64 peak fraction;
    rows appended to ``rows``; returns the JSON entries of the section."""
    clock = llg_cpu.nominal_clock_hz()
    flops = {kind: llg_cpu.fp64_ops_per_step(kind) for kind in ("constant", "table")}
    cm = llg_cpu.cmtj_rates(50_000 if quick else 200_000, repeats)
    cmtj_rate = float(np.median(cm[0])) if cm else None
    if cm:
        rows.append({"backend": "cmtj", "version": cm[2], "torque": "constant", "n_traj": 1, "threads": 1,
                     "traj_steps_per_cpu_s": cmtj_rate, "traj_steps_per_s": float(np.median(cm[1])),
                     "repeats_cpu": cm[0]})  # fmt: skip
        print(f"cmtj {cm[2]} (Euler-Heun, thermal noise, 1 thread): {cmtj_rate:.3g} steps/CPU-s", flush=True)
    else:
        print("cmtj: not installed (pip install cmtj to compare)", flush=True)
    print(f"{'torque':8s} {'N':>7s} {'variant':16s} {'thr':>3s} {'/CPU-s':>10s} {'/wall-s':>10s} "
          f"{'x numpy':>8s} {'x cmtj':>7s} {'FP64 peak':>9s}")  # fmt: skip
    for kind in ("constant", "table"):
        for n_traj in (10**4,) if quick else (10**4, 10**5):
            n_steps = max(20, int((4e6 if quick else 2e7) // n_traj))
            one_thread = None
            for row in llg_cpu.time_variants(make_runner, kind, n_traj, n_steps, repeats):
                rate = row["traj_steps_per_cpu_s"]
                row["per_core_vs_numpy"] = rate / numpy_rate[kind, n_traj]
                row["per_core_vs_cmtj"] = rate / cmtj_rate if cmtj_rate else None
                isa = row["isa_used"]
                if clock and flops[kind]:
                    row["fp64_peak_fraction"] = rate * flops[kind] / (llg_cpu.FP64_OPS_PER_CYCLE[isa] * clock)
                if row["threads"] == 1 and row["lanes"]:
                    one_thread = one_thread or row["traj_steps_per_s"]
                if row["threads"] == 2 and one_thread:
                    row["wall_speedup_vs_1_thread"] = row["traj_steps_per_s"] / one_thread
                rows.append(row)
                vs_cmtj = f"{row['per_core_vs_cmtj']:7.2f}" if cmtj_rate else f"{'-':>7s}"
                peak = f"{100 * row['fp64_peak_fraction']:8.1f}%" if "fp64_peak_fraction" in row else f"{'-':>9s}"
                print(f"{kind:8s} {n_traj:>7d} {row['variant']:16s} {row['threads']:>3d} {rate:10.3g} "
                      f"{row['traj_steps_per_s']:10.3g} {row['per_core_vs_numpy']:8.2f} {vs_cmtj} {peak}",
                      flush=True)  # fmt: skip
    return {
        "cpu_nominal_clock_hz": clock,
        "fp64_ops_per_step": flops,
        "fp64_ops_per_cycle": llg_cpu.FP64_OPS_PER_CYCLE,
        "cmtj": None if not cm else {"version": cm[2], "traj_steps_per_cpu_s": cmtj_rate},
    }


def main(quick: bool = False) -> dict:
    budget = 2e6 if quick else 1e7  # trajectory-steps per NumPy measurement
    repeats = 1 if quick else 3
    load_start = os.getloadavg()
    rows = []
    numpy_rate = {}
    for kind in ("constant", "table"):
        for n_traj in (10**4,) if quick else (10**4, 10**5):
            n_steps = max(20, int(budget // n_traj))
            rates = measure(kind, n_traj, n_steps, "numpy", repeats=repeats)
            rows.append(_row("numpy", kind, n_traj, n_steps, rates, threads=1))
            numpy_rate[kind, n_traj] = rows[-1]["traj_steps_per_cpu_s"]
            print(
                f"numpy  {kind:8s} N={n_traj:>8d} 1 thr  {rows[-1]['traj_steps_per_s']:12.4g} /s wall"
                f"  {numpy_rate[kind, n_traj]:10.4g} /CPU-s",
                flush=True,
            )
    cpu = backends.describe("cpu")
    cpu_extra: dict = {}
    if cpu["available"]:
        cpu_extra = cpu_section(rows, numpy_rate, repeats=max(repeats, 3), quick=quick)
    else:
        print(f"cpu engine skipped: {cpu['reason']}", file=sys.stderr)
    gpu = None
    try:
        if backends.availability("cupy").usable:
            issue, device = issue_rate()
            instructions = instructions_per_step()
            gpu = {"device": device, "issue_rate_thread_instr_per_s": issue, "instructions_per_step": instructions}
            for kind in ("constant", "table"):
                ceiling = issue / instructions[kind] if kind in instructions else None
                for n_traj in (10**4, 10**5, 10**6):
                    n_steps = 2000 if n_traj <= 10**5 else 500
                    rates = measure(kind, n_traj, n_steps, "cupy", repeats=repeats)
                    rate = float(np.median(rates[0]))
                    fraction = rate / ceiling if ceiling else None
                    rows.append(
                        _row(
                            "cupy",
                            kind,
                            n_traj,
                            n_steps,
                            rates,
                            issue_ceiling=ceiling,
                            fraction_of_issue_ceiling=fraction,
                        )
                    )
                    pct = f"{100 * fraction:5.1f}% of the issue ceiling {ceiling:.3g}" if fraction else ""
                    print(f"cupy   {kind:8s} N={n_traj:>8d}  {rate:12.4g} traj-steps/s  {pct}", flush=True)
    except Exception as exc:  # pragma: no cover - report and keep the NumPy numbers
        print(f"GPU benchmark skipped: {exc!r}", file=sys.stderr)
    report = {
        "benchmark": "llg",
        "dt": DT,
        "magnet": "S=1, KV=0.01, alpha=0.1, sigma2=1e-4",
        "numpy_threads": 1,
        "cpu_engine": cpu,
        **cpu_extra,
        "cpu_count": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "note": "medians of repeats; per_core_vs_numpy compares rates per CPU-second (process time); "
        "wall rates and the 2-thread speed-up depend on other work running (see load_average_*)",
        "load_average_at_start": load_start,
        "numpy_version": np.__version__,
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "gpu": gpu,
        "results": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    print(f"wrote {RESULTS}")
    return report


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)

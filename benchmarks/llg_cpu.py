"""The ``cpu`` engine part of benchmarks/llg.py: variants side by side, cmtj, the fraction of FP64 peak.

Variants of the host build (all bit-identical, tests/dynamics/test_cpu_lanes.py), timed in one run with
their repeats interleaved (A B C A B C …, so that a change of machine load hits all alike); each rate
is trajectory-steps per CPU-second of this process (process time: robust on a shared machine) and per
wall second, the median of the repeats.

FP64 peak fraction: FP64 operations per step = the add/sub/mul/div/sqrt (and 2 per FMA) instructions
of the step loop of the scalar driver, counted in its assembly compiled at -O2 (x86-64 only; the
vectorised driver executes the same IEEE operations per trajectory); peak = FP64 operations per cycle of the
instruction set (AVX-512: 2 FMA units × 8 lanes × 2 = 32, AVX2 + FMA: 16, SSE2: 4) × the nominal clock
of /proc/cpuinfo. The noise (float32) and integer work are not counted, so the fraction is a floor.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from gpuqd.dynamics import host_build
from gpuqd.dynamics.engines.cpu_engine import host_isa
from gpuqd.dynamics.kernel_source import bundled_source, variant_flags

FP64_OPS_PER_CYCLE = {"avx512": 32, "avx2+fma": 16, "baseline": 4, "scalar": 4}
_FP64_INSTRUCTION = re.compile(r"^\s+v?(add|sub|mul|div|sqrt)sd\b|^\s+v?f(n)?m(add|sub)\d*sd\b")
DEFINES = {"constant": {"LLG_HAS_NOISE": 1}, "table": {"LLG_HAS_NOISE": 1, "LLG_USE_TABLE": 1}}


def nominal_clock_hz() -> float | None:
    """The first 'cpu MHz' of /proc/cpuinfo (Hz), or None."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                return float(line.split(":")[1]) * 1e6
    except OSError:
        pass
    return None


def fp64_ops_per_step(kind: str) -> int | None:
    """FP64 operations in the step loop of the scalar driver (assembly of llg_heun_advance built without
    OpenMP, so the loop sits in that function; the lane drivers are separate functions), or None."""
    if os.uname().machine != "x86_64":
        return None
    # -O2: the step loop once (-O3 duplicates parts of it: unswitching, versioning), so a floor
    skip = ("-shared", "-fopenmp", "-O3")
    flags = ["-O2", *(f for f in host_build.build_flags(DEFINES[kind]) if f not in skip)]
    with tempfile.TemporaryDirectory() as tmp:
        src, asm = Path(tmp) / "k.cpp", Path(tmp) / "k.s"
        src.write_text(bundled_source(host=True))
        proc = subprocess.run(
            [host_build.compiler_name(), *flags, *variant_flags(DEFINES[kind]), "-S", str(src), "-o", str(asm)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            return None
        lines = asm.read_text().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("llg_heun_advance:")), None)
    if start is None:
        return None
    count = 0
    for line in lines[start:]:
        if ".cfi_endproc" in line:
            break
        match = _FP64_INSTRUCTION.match(line)
        if match:
            count += 2 if "fm" in match.group(0) or "fnm" in match.group(0) else 1
    return count


def cmtj_rates(n_steps: int, repeats: int) -> tuple[list[float], list[float], str] | None:
    """cmtj (if installed): one macrospin with a static SOT torque, uniaxial anisotropy, 300 K thermal
    noise, Euler–Heun, dt = 0.1 ps; (per CPU-second, per wall second, version) of ``repeats`` runs."""
    try:
        import cmtj
        from cmtj import CVector, Junction, Layer, SolverMode, constantDriver
    except ImportError:
        return None
    demag = [CVector(0, 0, 0), CVector(0, 0, 0), CVector(0, 0, 1)]
    layer = Layer.createSOTLayer("free", CVector(0, 0, 1), CVector(0, 0, 1), 1.0, 1e-9, 1e-16, demag, 0.1, 5e2, 1e3)
    junction = Junction([layer])
    junction.setLayerAnisotropyDriver("free", constantDriver(3e5))
    junction.setLayerTemperatureDriver("free", constantDriver(300.0))
    dt = 1e-13
    cpu_rates, wall_rates = [], []
    for _ in range(repeats):
        junction.clearLog()
        c0, w0 = time.process_time(), time.perf_counter()
        junction.runSimulation(n_steps * dt, dt, n_steps * dt, solverMode=SolverMode.EulerHeun)
        cpu_rates.append(n_steps / max(time.process_time() - c0, 1e-9))
        wall_rates.append(n_steps / max(time.perf_counter() - w0, 1e-9))
    version = getattr(cmtj, "__version__", None) or _dist_version("cmtj")
    return cpu_rates, wall_rates, version


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def variants() -> list[tuple[str, int, str, int]]:
    """(label, lanes, isa, threads): the scalar driver, the vectorised driver on each instruction set
    this CPU has (best first), and the best on 2 threads."""
    best = host_isa(0)
    sets = [name for name, isa in (("avx512", 3), ("avx2", 2)) if host_isa(isa) == {3: "avx512", 2: "avx2+fma"}[isa]]
    out = [("scalar", 0, "auto", 1)]
    out += [(f"simd {host_isa({'avx512': 3, 'avx2': 2}[name])}", 64, name, 1) for name in sets]
    if not sets:
        out.append((f"simd {best}", 64, "auto", 1))
    out.append((f"simd {best}", 64, "auto", 2))
    return out


def time_variants(make_runner: Callable[..., object], kind: str, n_traj: int, n_steps: int, repeats: int) -> list[dict]:
    """Each variant's rates (interleaved repeats), as rows."""
    runs = []
    for label, lanes, isa, threads in variants():
        os.environ["GPUQD_CPU_LANES"], os.environ["GPUQD_CPU_ISA"] = str(lanes), isa
        runner = make_runner(kind, n_traj, n_steps, "cpu", threads)
        runner.advance(10)  # warm-up (compilation, caches)
        runs.append((label, lanes, isa, threads, runner, runner.get_state(), [], []))
    for _ in range(repeats):
        for *_, runner, start, cpu_rates, wall_rates in runs:
            runner.set_state(start)
            c0, w0 = time.process_time(), time.perf_counter()
            runner.advance(n_steps)
            cpu_rates.append(n_traj * n_steps / max(time.process_time() - c0, 1e-9))
            wall_rates.append(n_traj * n_steps / max(time.perf_counter() - w0, 1e-9))
    os.environ.pop("GPUQD_CPU_LANES", None)
    os.environ.pop("GPUQD_CPU_ISA", None)
    return [
        {
            "backend": "cpu",
            "variant": label,
            "lanes": lanes,
            "threads": threads,
            "isa_used": "scalar" if lanes == 0 else host_isa({"auto": 0, "avx2": 2, "avx512": 3}[isa]),
            "torque": kind,
            "n_traj": n_traj,
            "steps": n_steps,
            "traj_steps_per_cpu_s": float(np.median(cpu_rates)),
            "traj_steps_per_s": float(np.median(wall_rates)),
            "repeats_cpu": cpu_rates,
            "repeats_wall": wall_rates,
        }
        for label, lanes, isa, threads, _runner, _start, cpu_rates, wall_rates in runs
    ]

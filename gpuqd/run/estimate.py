"""Work, memory and time of a run before it starts (printed by ``gpuqd validate`` and ``gpuqd run``).

Work is counted exactly from the configuration: transport solves (grid points × θ directions), and
trajectory-steps of the dynamics and statistics stages. Times come from the cost models of
:mod:`gpuqd.run.calibration`, measured on this machine for the chosen backend (cached); memory from
the array sizes of each stage plus the measured working memory of the transport blocks and of the
engine per trajectory. A run whose largest stage needs more than the available memory is refused
before any work (:func:`check_memory`; the CLI flag ``--allow-large`` overrides).

Input is the resolved configuration mapping (the YAML layout with all defaults filled in).
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gpuqd.run.config.factories import SCAN_NODES_PER_END
from gpuqd.run.errors import RunError

__all__ = [
    "StageEstimate",
    "RunEstimate",
    "EstimateError",
    "estimate_run",
    "available_memory",
    "check_memory",
    "format_bytes",
    "format_seconds",
]

#: points per transport block (the transport stage's checkpoint granularity)
TRANSPORT_BLOCK_POINTS = 2048
#: ε̃ values of the fine resonance-line axis (drawn in the figures)
LINE_POINTS = 161
#: θ values of the Fig. 4 inset I(θ)
INSET_THETA = 241
#: table nodes of the transport stage when no later stage needs the table (maps only)
MAPS_TABLE_NODES = 4
#: float64 maps per grid point held by the transport stage besides the θ blocks
MAPS_PER_POINT = 16
#: float64 result values per trajectory of the dynamics stage (6 per-trajectory arrays, + copies)
RESULTS_PER_TRAJ = 12


class EstimateError(RunError):
    """The run would not fit in memory (one-line message with the override flag)."""


@dataclass
class StageEstimate:
    """One stage: ``work`` (text), ``seconds`` (None: not estimated), ``bytes`` peak, ``bound``:
    the time is an upper bound (adaptive or compacting stages)."""

    name: str
    work: str
    seconds: float | None
    bytes: int
    bound: bool = False
    note: str = ""


@dataclass
class RunEstimate:
    stages: list[StageEstimate] = field(default_factory=list)
    backend: str = "numpy"
    machine: str = ""
    available_bytes: int | None = None
    #: wall seconds spent measuring this machine for this estimate (0 when everything was cached)
    calibration_s: float = 0.0

    @property
    def seconds(self) -> float:
        return sum(s.seconds or 0.0 for s in self.stages)

    @property
    def peak_bytes(self) -> int:
        return max((s.bytes for s in self.stages), default=0)

    def lines(self) -> list[str]:
        """Human-readable summary, one line per stage and a total."""
        out = []
        for s in self.stages:
            t = "time not estimated" if s.seconds is None else ("≤ " if s.bound else "≈ ") + format_seconds(s.seconds)
            note = f" ({s.note})" if s.note else ""
            mem = f"memory ≈ {format_bytes(s.bytes)}; " if s.bytes else ""
            out.append(f"  {s.name}: {s.work}; {mem}{t}{note}")
        avail = f" of {format_bytes(self.available_bytes)} available" if self.available_bytes else ""
        bound = "≤ " if any(s.bound for s in self.stages) else "≈ "
        if self.calibration_s >= 1.0:
            out.append(
                f"  (measuring this machine for the estimate took {format_seconds(self.calibration_s)}, "
                f"once: cached, delete the calibration cache to measure again)"
            )
        out.append(
            f"  total: {bound}{format_seconds(self.seconds)} on backend {self.backend}, peak memory ≈ "
            f"{format_bytes(self.peak_bytes)}{avail} (calibrated on {self.machine})"
        )
        return out


def format_bytes(n: float | None) -> str:
    if n is None:
        return "?"
    for unit, f in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= f:
            return f"{n / f:.3g} {unit}"
    return f"{int(n)} B"


def format_seconds(s: float) -> str:
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.1f} min"
    if s < 2 * 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


def available_memory(backend: str = "numpy") -> int | None:
    """Bytes available to a new allocation: MemAvailable (CPU) or the free device memory (cupy);
    ``$GPUQD_AVAILABLE_MEMORY`` (bytes) overrides both (batch systems, tests).
    """
    env = os.environ.get("GPUQD_AVAILABLE_MEMORY")
    if env:
        return int(float(env))
    if backend == "cupy":
        try:
            import cupy

            return int(cupy.cuda.runtime.memGetInfo()[0])
        except Exception:
            return None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None


def _needs(data: Mapping[str, Any]) -> tuple[bool, bool, bool, bool]:
    outputs = set(data["outputs"])
    dyn = bool({"switching_diagram", "readout"} & outputs)
    stats = "switching_times" in outputs
    table = (dyn or stats) and data["torque"]["model"] == "transport"
    return dyn, stats, table, "fmr" in outputs


def estimate_run(data: Mapping[str, Any], backend: str, calibrate: bool = True, figures: bool = True) -> RunEstimate:
    """Estimate of every stage of the run described by the resolved configuration ``data`` on
    ``backend`` ('numpy' | 'cpu' | 'cupy'), plus the start-up (interpreter, imports, validation, the
    time-step guard's transport scan) and, with ``figures``, the drawing of the figures, so that the
    total is the wall time of ``gpuqd run``. ``calibrate=False``: work and memory only (no measurement).
    """
    from gpuqd.run import calibration as cal

    t_start = time.perf_counter()
    g, tr = data["grid"], data["transport"]
    n_eps, n_V = int(g["eps_tilde"]["num"]), int(g["V"]["num"])
    n_pts = n_eps * n_V
    need_dyn, need_stats, need_table, need_fmr = _needs(data)
    n_tab = int(tr["n_theta"]) if need_table else 0
    n_th = (n_tab if need_table else MAPS_TABLE_NODES) + 2  # the stage's table nodes plus θ = 0.01π, 0.99π
    est = RunEstimate(backend=backend, machine=cal.machine_description(), available_bytes=available_memory("numpy"))
    fixed = calibrate and cal.fixed_costs_enabled()

    # ---- start-up: interpreter, imports, validation; the time-step guard solves the table's end nodes
    tc = cal.transport_costs(tr, n_th) if calibrate else None
    scan = need_dyn or need_stats
    scan = scan and data["torque"]["model"] == "transport"
    n_scan = 2 * min(min(SCAN_NODES_PER_END, n_tab // 2) + 3, n_tab) if scan else 0
    if fixed:
        start = cal.startup_costs(backend)
        t = None if start is None else start["s"] + (n_pts * (tc["p0"] + tc["p1"] * n_scan) if scan else 0.0)
        work = "Python, imports, validation" + (f", time-step guard {n_pts} points × {n_scan} θ" if scan else "")
        est.stages.append(StageEstimate("start-up", work, t, 0))

    # ---- transport: blocks of points × all θ streamed into the table (held once) and the maps
    block = min(n_pts, max(1, TRANSPORT_BLOCK_POINTS // n_V) * n_V)
    held = 3 * n_pts * n_th * 8 + MAPS_PER_POINT * n_pts * 8
    working = (tc["bytes_fixed"] + tc["bytes_per_solve"] * block * n_th) if tc else 0
    t_tr = None
    if tc:

        def point(n: int) -> float:
            return tc["p0"] + tc["p1"] * n

        t_tr = (
            n_pts * point(n_th) + point(INSET_THETA) + 2 * (n_eps + LINE_POINTS) * tc["line_s"] + 4 * n_eps * point(1)
        )
    est.stages.append(
        StageEstimate(
            "transport",
            f"{n_pts} points × {n_th} θ = {n_pts * n_th:.3g} solves (order {tr['order']})",
            t_tr,
            int(held + working),
            note="none if cached",
        )
    )
    table_bytes = 3 * n_pts * n_tab * 8

    mg = data["magnet"]
    if need_dyn:
        dyn = data["dynamics"]
        steps = round(dyn["t_end"] / dyn["dt"])
        n_traj = n_pts * int(dyn["trajectories_per_point"])
        ec = cal.engine_costs(backend, mg, n_tab, dyn["dt"]) if calibrate else None
        per_traj = ec["bytes_per_traj"] if ec else 0.0
        t = steps * (ec["c"] + ec["d"] * n_traj) if ec else None
        est.stages.append(
            StageEstimate(
                "dynamics",
                f"{n_traj} trajectories × {steps} steps = {n_traj * steps:.3g} trajectory-steps",
                t,
                int(table_bytes + n_traj * (per_traj + RESULTS_PER_TRAJ * 8) + MAPS_PER_POINT * n_pts * 8),
            )
        )
    if need_stats:
        est.stages.append(_switching_stage(data, backend, n_pts, n_tab, table_bytes, calibrate))
    if need_fmr:
        est.stages.append(_fmr_stage(data, backend, n_pts, tc))
    if fixed and figures and tr["U"] > 0 and importlib.util.find_spec("matplotlib") is not None:
        outputs = sorted(data["outputs"])
        fc = cal.figure_costs(outputs)
        est.stages.append(
            StageEstimate(
                "figures",
                f"{len(outputs)} output(s): {', '.join(outputs)}",
                None if fc is None else fc["fixed"] + sum(fc[o] for o in outputs),
                0,
            )
        )
    if calibrate:
        est.calibration_s = time.perf_counter() - t_start
    return est


def _fmr_stage(data: Mapping[str, Any], backend: str, n_pts: int, tc: Mapping[str, float] | None) -> StageEstimate:
    """The fmr stage: collinear solves at every grid point; with ``fmr.simulate`` the engine steps of the
    simulated spectra (counted exactly by :func:`gpuqd.run.stages.fmr.simulation_steps`)."""
    from gpuqd.run import calibration as cal

    f = data["fmr"]
    work = f"{n_pts} points × 2 collinear solves"
    t = n_pts * (tc["p0"] + tc["p1"] * 2) if tc else None
    if f["simulate"] and tc:  # counting the steps needs a few transport solves: not in the memory check
        from gpuqd.run.stages.fmr import simulation_steps
        from gpuqd.run.switching_estimate import validated

        steps = simulation_steps(validated(data))
        n = int(f["trajectories"])
        work += f"; simulated FMR {steps:.3g} steps × {n} trajectories"
        per = cal.fmr_costs(backend)["s_per_step"]
        if n > 1:
            per += (n - 1) * cal.engine_costs(backend, data["magnet"], 0, 1.0)["d"]
        t += steps * per
    return StageEstimate("fmr", work, t, int(MAPS_PER_POINT * 2 * n_pts * 8))


def _switching_stage(
    data: Mapping[str, Any], backend: str, n_pts: int, n_tab: int, table_bytes: int, calibrate: bool
) -> StageEstimate:
    """The switching_times stage: first round, compaction modelled by the survival of
    :mod:`gpuqd.run.switching_estimate` where it applies, else the bound of no compaction."""
    from gpuqd.run import calibration as cal
    from gpuqd.run import switching_estimate as se

    st, dt = data["statistics"], data["dynamics"]["dt"]
    t_end = st["t_end"] if st["t_end"] is not None else data["dynamics"]["t_end"]
    steps = round(t_end / dt)
    n_prot = 2 if st["protocol"] == "both" else 1
    n_per = int(st["trajectories_per_point"])
    n_traj = n_pts * n_prot * n_per
    ec = cal.engine_costs(backend, data["magnet"], n_tab, dt) if calibrate else None
    per_traj = ec["bytes_per_traj"] if ec else 0.0
    bytes_ = int(table_bytes + n_traj * (per_traj + RESULTS_PER_TRAJ * 8))
    extra = "; adaptive rounds may add trajectories" if st.get("adaptive") else ""
    work = f"{n_traj} trajectories × ≤ {steps} steps = ≤ {n_traj * steps:.3g} trajectory-steps (first round)"
    if not ec:
        return StageEstimate("switching_times", work, None, bytes_, bound=True, note=extra.lstrip("; "))
    bound = steps * (ec["c"] + ec["d"] * n_traj)
    model = se.mean_first_passage_times(data) if st["compaction"] else None
    if model is None:
        why = "compaction off" if not st["compaction"] else "switched trajectories are dropped (compaction)"
        return StageEstimate("switching_times", work, bound, bytes_, bound=True, note=why + extra)
    tau, weights = model
    t, expected = se.compacting_cost(tau, weights * n_per, dt, steps, int(st["chunk_steps"]), ec["c"], ec["d"])
    return StageEstimate(
        "switching_times",
        work,
        t,
        bytes_,
        note=f"≈ {expected:.3g} trajectory-steps with compaction, from the Fokker–Planck mean "
        f"switching times; ≤ {format_seconds(bound)} without" + extra,
    )


def check_memory(est: RunEstimate, allow_large: bool = False) -> None:
    """Raise :class:`EstimateError` when the largest stage needs more than the available memory."""
    if allow_large or not est.available_bytes:
        return
    worst = max(est.stages, key=lambda s: s.bytes)
    if worst.bytes > est.available_bytes:
        raise EstimateError(
            f"the {worst.name} stage needs ≈ {format_bytes(worst.bytes)} of memory "
            f"({worst.work}) but only {format_bytes(est.available_bytes)} is available; "
            f"reduce the grid or the trajectories, or use --allow-large to run anyway"
        )

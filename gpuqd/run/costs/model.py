"""The estimate of a run: one :class:`StageEstimate` per stage (work, peak memory, wall seconds) and
their sum (:class:`RunEstimate`), the printed lines, and the memory check that refuses a run before any
work. Pure data and formatting: the numbers come from the stages' ``estimate`` methods
(:mod:`gpuqd.run.costs.estimate`) and the cost coefficients (:mod:`gpuqd.run.costs.coefficients`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from gpuqd.dynamics.layout import TABLE_COLUMNS
from gpuqd.run.errors import RunError

__all__ = [
    "StageEstimate",
    "RunEstimate",
    "EstimateError",
    "available_memory",
    "check_memory",
    "format_bytes",
    "format_seconds",
    "MAPS_PER_POINT",
    "RESULTS_PER_TRAJ",
    "table_bytes",
    "engine_table_bytes",
]

#: float64 maps per grid point a stage holds besides its tables (transport maps, result maps)
MAPS_PER_POINT = 16
#: float64 result values per trajectory of an ensemble stage (6 per-trajectory arrays, + copies)
RESULTS_PER_TRAJ = 12


def table_bytes(n_points: int, n_theta: int) -> int:
    """Bytes of a torque table: 3 float64 quantities (I_FL, I_DL, I_C) per point and direction."""
    return 3 * n_points * n_theta * 8


def engine_table_bytes(n_points: int, n_theta: int, both_free: bool) -> int:
    """Bytes of the torque table as the engines hold it (on the device for cupy): the columns of
    :data:`gpuqd.dynamics.layout.TABLE_COLUMNS` (4, or 6 with a free source) in float64."""
    return n_points * n_theta * len(TABLE_COLUMNS[bool(both_free)]) * 8


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
    """All stages of a run on ``backend``; ``source`` says where the cost coefficients came from
    (e.g. "calibrated on vm (x86_64, 2 cores)" or "static model of ...")."""

    stages: list[StageEstimate] = field(default_factory=list)
    backend: str = "numpy"
    source: str = ""
    available_bytes: int | None = None
    #: wall seconds spent measuring this machine for this estimate (0 when everything was cached)
    calibration_s: float = 0.0
    #: one-line notices about the coefficients (measured under load, not cached; static model used; ...)
    notices: list[str] = field(default_factory=list)

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
        out += [f"  ({notice})" for notice in self.notices]
        out.append(
            f"  total: {bound}{format_seconds(self.seconds)} on backend {self.backend}, peak memory ≈ "
            f"{format_bytes(self.peak_bytes)}{avail} ({self.source})"
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
    """Bytes available to a new allocation: MemAvailable (numpy, cpu) or the free device memory (cupy);
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


def check_memory(est: RunEstimate, allow_large: bool = False) -> None:
    """Raise :class:`EstimateError` when the largest stage needs more than the available memory."""
    if allow_large or not est.available_bytes or not est.stages:
        return
    worst = max(est.stages, key=lambda s: s.bytes)
    if worst.bytes > est.available_bytes:
        raise EstimateError(
            f"the {worst.name} stage needs ≈ {format_bytes(worst.bytes)} of memory "
            f"({worst.work}) but only {format_bytes(est.available_bytes)} "
            f"{'of device memory is free' if est.backend == 'cupy' else 'is available'}; "
            f"reduce the grid or the trajectories, or use --allow-large to run anyway"
        )

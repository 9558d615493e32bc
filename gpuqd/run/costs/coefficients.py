"""Cost coefficients of this machine and backend, for one estimate: cached, measured, or static.

:class:`Costs` hands the stages' ``estimate`` methods the coefficients of the cost models of
:mod:`gpuqd.run.costs.measure`. Each coefficient set comes from, in this order:

1. the calibration cache (:mod:`gpuqd.run.costs.store`): measured once per machine and backend;
2. a measurement now, if it fits the budget: all measurements of one estimate together end within
   :data:`CALIBRATION_BUDGET_S` seconds plus one piece of work (a measurement starts only if its
   predicted duration fits what is left; none of its pieces starts after the deadline, else it is
   abandoned for the static model); a progress line says what is measured; only one gpuqd
   process measures at a time (:class:`~gpuqd.run.costs.store.CalibrationLock`; the others use the
   static model); a measurement whose process CPU time is below :data:`MIN_CPU_FRACTION` of its wall
   time (× the threads it may use) was slowed by other processes: it is used for this estimate but not
   cached, and the estimate says so;
3. the static model (:mod:`gpuqd.run.costs.static`): coefficients measured on the 2-core development VM.

``Costs(backend, measure=False)`` never measures (cache or static model only): the memory check uses
it; ``$GPUQD_CALIBRATE=0`` makes every estimate so (batch jobs, the test suite).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gpuqd.run.config.typed import MagnetConfig, thermal_field_variance
from gpuqd.run.costs import measure as m
from gpuqd.run.costs import static
from gpuqd.run.costs.store import CalibrationLock, machine_description, read_entries, store_entries
from gpuqd.run.execute.device import transport_workers

__all__ = [
    "CALIBRATION_BUDGET_S",
    "MIN_CPU_FRACTION",
    "Costs",
    "EngineCosts",
    "LegendreCosts",
    "TransportCosts",
    "kernel_variant",
]

#: wall seconds one estimate may spend measuring this machine: no piece of measuring work starts later,
#: so the measuring ends within this plus one piece (≤ 0.3 s on a quiet 2-core VM, ≈ 1 s at load 9):
#: ≤ 5 s in all
CALIBRATION_BUDGET_S = 4.0
#: a measurement with process CPU time below this fraction of wall time × threads is not cached
MIN_CPU_FRACTION = 0.7


@dataclass(frozen=True)
class TransportCosts:
    """Seconds per grid point solved at n directions ``p0 + p1·n`` on one thread, ``q0 + q1·n`` while
    ``workers`` blocks are solved at once on threads (None: not measured; the static thread efficiency
    applies); ``line_s`` per ε̃ of a resonance-line scan; working memory of a block of P points at n
    directions ``bytes_fixed + P·(bytes_per_point + bytes_per_solve·n)``."""

    p0: float
    p1: float
    line_s: float
    bytes_per_point: float
    bytes_per_solve: float
    bytes_fixed: float
    q0: float | None = None
    q1: float | None = None
    workers: float = 1.0

    def point(self, n_theta: int) -> float:
        return self.p0 + self.p1 * n_theta

    def busy_point(self, n_theta: int, workers: int) -> float:
        """Wall seconds per point while ``workers`` blocks are solved at once: measured at these workers,
        else one thread's time over ``workers`` × :data:`gpuqd.run.costs.static.TRANSPORT_THREAD_EFFICIENCY`."""
        if self.q0 is not None and self.q1 is not None and int(self.workers) == workers:
            return self.q0 + self.q1 * n_theta
        return self.point(n_theta) / (static.TRANSPORT_THREAD_EFFICIENCY * workers)

    def blocks_seconds(self, n_points: int, n_theta: int, block: int, workers: int) -> float:
        """Wall seconds of ``n_points`` points at ``n_theta`` directions in blocks of ``block`` points,
        ``workers`` blocks at once (the transport stage's threads): rounds of k = min(workers, blocks
        left) blocks, a round taking ``block·(p + (k − 1)/(W − 1)·(W·q − p))`` (one block alone: p per
        point; W at once: W·q per point, never less than one block alone), scaled to the points there are."""
        blocks = -(-n_points // max(block, 1))
        p = self.point(n_theta)
        if workers <= 1 or blocks <= 1:
            return n_points * p
        round_w = max(workers * self.busy_point(n_theta, workers), p)  # per point of one block

        def round_s(k: int) -> float:
            return block * (p + (k - 1) / (workers - 1) * (round_w - p))

        full, rest = divmod(blocks, workers)
        total = full * round_s(workers) + (round_s(rest) if rest else 0.0)
        return total * n_points / (blocks * block)

    def block_bytes(self, n_points: int, n_theta: int) -> float:
        return self.bytes_fixed + n_points * (self.bytes_per_point + self.bytes_per_solve * n_theta)


@dataclass(frozen=True)
class EngineCosts:
    """Seconds per step of n trajectories ``c + d·n``; memory per trajectory (bytes)."""

    c: float
    d: float
    bytes_per_traj: float

    def step(self, n_traj: float) -> float:
        return self.c + self.d * n_traj

    def scaled(self, factor: float) -> EngineCosts:
        """The step costs × ``factor`` (another kernel variant: more or fewer instructions per step)."""
        return EngineCosts(self.c * factor, self.d * factor, self.bytes_per_traj)


def kernel_variant(table: bool, magnet: MagnetConfig) -> str:
    """The kernel variant an ensemble of ``magnet`` runs, named as in
    :data:`gpuqd.run.costs.static.KERNEL_INSTRUCTIONS_PER_STEP` (no AC drive: the ensembles of the
    dynamics, switching-time and write-error stages have none)."""
    parts = ["table" if table else "constant"]
    parts += ["both"] if magnet.free == "both" else []
    parts += ["cubic"] if magnet.cubic_anisotropy != 0.0 else []
    parts += ["nonoise"] if thermal_field_variance(magnet) == 0.0 else []
    return "-".join(parts)


@dataclass(frozen=True)
class LegendreCosts:
    """Legendre–Galerkin Fokker–Planck (write-error rates) with n polynomials on Q quadrature nodes: set-up
    ``setup_s·n·Q`` per solver, ``generator_s·n²·Q`` per generator, ``expm(n)`` per matrix exponential
    (``expm_s_192``, ``expm_s_288`` per n³ at n = 192, 288; linear in n between, constant outside)."""

    setup_s: float
    generator_s: float
    expm_s_192: float
    expm_s_288: float
    #: throughput of independent solves on ``workers`` threads at once over one thread (measured, or None)
    speedup: float | None = None
    workers: float = 1.0

    def parallel_speedup(self, workers: int) -> float:
        """Throughput of independent solves (the write points of a map) on ``workers`` threads over one:
        the measured ``speedup`` at that many workers, else the static model 1 + (W − 1) ×
        :data:`gpuqd.run.costs.static.LEGENDRE_THREAD_GAIN`."""
        if workers <= 1:
            return 1.0
        if self.speedup is not None and int(self.workers) == workers:
            return max(self.speedup, 1.0)
        return 1.0 + (workers - 1) * static.LEGENDRE_THREAD_GAIN

    def expm(self, n: int) -> float:
        f = min(max((n - 192) / 96, 0.0), 1.0)
        return ((1 - f) * self.expm_s_192 + f * self.expm_s_288) * n**3

    def solve(self, n: int, n_nodes: int, generators: int, exponentials: int) -> float:
        """Seconds of one solve at size n: set-up (the solver's, the projection's and the read-out's
        Legendre tables: 3 × n·Q), the generators and the exponentials (the n × n products alongside
        are ≤ 5 % of an exponential each and counted in it)."""
        return (
            3 * self.setup_s * n * n_nodes
            + self.generator_s * generators * n * n * n_nodes
            + exponentials * self.expm(n)
        )


def _default_report(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Costs:
    """The coefficients of one estimate on ``backend`` (see the module docstring); ``report`` receives
    the progress lines (default: standard error)."""

    def __init__(
        self,
        backend: str,
        measure: bool = True,
        budget_s: float = CALIBRATION_BUDGET_S,
        report: Callable[[str], None] | None = None,
        threads: int | None = None,
    ) -> None:
        self.backend = backend
        self.measure = measure and os.environ.get("GPUQD_CALIBRATE", "1") != "0"
        self.budget_s = budget_s
        self.report = report or _default_report
        self.threads = threads
        #: wall seconds spent measuring in this estimate
        self.calibration_s = 0.0
        #: where each coefficient set came from: name → "cached" | "measured" | "measured under load" | "static"
        self.sources: dict[str, str] = {}
        self.notices: list[str] = []
        self._memo: dict[str, dict[str, float] | None] = {}

    # ---- the coefficient sets

    def transport(self, order: int) -> TransportCosts:
        """Transport coefficients at ``order``, on one thread and on the transport stage's threads
        (:func:`gpuqd.run.execute.device.transport_workers`)."""
        workers = transport_workers(self.threads)
        values = self._get(
            "transport", f"transport:order={order}:workers={workers}", lambda d: m.transport(order, d, workers)
        )
        return TransportCosts(**(values or static.TRANSPORT[order]))

    def engine(self, table: bool, magnet: MagnetConfig | None = None) -> EngineCosts | None:
        """None: no measurement and no static model for this backend (e.g. cupy without a GPU measurement).
        The cpu engine's coefficients are measured and cached per thread count (``engine:table:threads=2``).
        With ``magnet``, the cpu and cupy engines' step costs are scaled to its kernel variant (free source,
        cubic anisotropy, no noise) by the instructions per step (:func:`kernel_variant`)."""
        costs = self._engine(table)
        if costs is None or magnet is None or self.backend == "numpy":
            return costs
        counts = static.KERNEL_INSTRUCTIONS_PER_STEP
        base = "table" if table else "constant"
        return costs.scaled(counts[kernel_variant(table, magnet)] / counts[base])

    def _engine(self, table: bool) -> EngineCosts | None:
        kind = "table" if table else "constant"
        threads = f":threads={self._engine_threads()}" if self.backend == "cpu" else ""
        values = self._get(
            self.backend,
            f"engine:{kind}{threads}",
            lambda d: m.engine(self.backend, table, d, self._engine_threads()),
            ready=self._engine_ready(table),
        )
        return None if values is None else EngineCosts(**values)

    def fmr(self) -> tuple[float, float] | None:
        """Seconds per engine step (one trajectory) and per engine run (one frequency) of the simulated FMR."""
        values = self._get(self.backend, "fmr:runs", lambda d: m.fmr(self.backend, d), ready=self._engine_ready(False))
        return None if values is None else (values["s_per_step"], values["s_per_run"])

    def fokker_planck(self, n_points: int, n_cells: int) -> float:
        """Seconds of the axial Fokker–Planck maps of ``n_points`` grid points with ``n_cells`` cells."""
        key = f"fokker_planck:batch:n_cells={n_cells}"
        values = self._get("observables", key, lambda d: m.fokker_planck(n_cells, d))
        if values is None:  # static: the development VM at 128 cells, the per-point part linear in the cells
            f = static.FOKKER_PLANCK_128
            return (f["s_fixed"] + f["s_per_point"] * n_cells / 128 * n_points) * self.speed()
        return values["s_fixed"] + values["s_per_point"] * n_points

    def legendre(self) -> LegendreCosts:
        """The Legendre–Galerkin Fokker–Planck coefficients of the write-error rates, on one thread and the
        speed-up of a map's points on the run's threads (:func:`gpuqd.run.execute.device.transport_workers`)."""
        workers = transport_workers(self.threads)
        values = self._get("observables", f"legendre:workers={workers}", lambda d: m.legendre(d, workers))
        if values is None:  # static: the development VM, scaled by this machine's speed
            return LegendreCosts(**{k: v * self.speed() for k, v in static.LEGENDRE.items()})
        return LegendreCosts(**values)

    def startup(self) -> float:
        """Seconds of a ``gpuqd run`` besides its stages and figures: the imports of a fresh interpreter
        (measured) plus reading and validating the configuration, run directory, lock, metadata and
        results files (static, :data:`gpuqd.run.costs.static.STARTUP_REST_S`, scaled by this machine's speed)."""
        values = self._get("interpreter", "startup", m.startup_imports)
        imports = (values or static.STARTUP_IMPORTS)["s"]
        return imports + static.STARTUP_REST_S * self.speed()

    def figures(self, outputs: Iterable[str]) -> float:
        """Seconds of drawing and saving the figures of ``outputs``: the static model
        (:data:`gpuqd.run.costs.static.FIGURES`, per output) scaled by this machine's speed."""
        f = static.FIGURES
        names = list(outputs)
        return (f["fixed"] + sum(f.get(o, f["other"]) for o in names)) * self.speed() if names else 0.0

    def speed(self) -> float:
        """This machine's time for Python/NumPy work relative to the development VM (1: as fast), from
        the transport coefficients fetched so far (1 if none were measured); clamped to [0.25, 4]."""
        ratios = [
            v["p0"] / static.TRANSPORT[int(k.split(":")[1].removeprefix("order="))]["p0"]
            for k, v in self._memo.items()
            if k.startswith("transport:") and v is not None and self.sources.get(k) != "static"
        ]
        return min(max(ratios[0], 0.25), 4.0) if ratios else 1.0

    def source(self) -> str:
        """Where the coefficients came from, for the estimate's total line."""
        kinds = set(self.sources.values())
        if kinds <= {"static"}:
            return f"static cost model of {static.MACHINE}"
        text = f"calibrated on {machine_description()}"
        return text + (
            f"; static model for {', '.join(sorted(k for k, v in self.sources.items() if v == 'static'))}"
            if "static" in kinds
            else ""
        )

    # ---- the cache / measure / static logic

    def _engine_threads(self) -> int:
        """Threads of the engine measurement: ``threads`` (the run's execution.threads), else the cpu
        engine's default (OMP_NUM_THREADS or the usable cores); 1 for the other backends."""
        if self.backend != "cpu":
            return 1
        from gpuqd.dynamics.host_build import default_threads

        return self.threads or default_threads()

    def _engine_ready(self, table: bool) -> str | None:
        """Why the engine cannot be measured within the budget now (None: it can)."""
        if self.backend != "cpu":
            return None
        try:
            from gpuqd.dynamics.host_build import library_path

            defines = {"LLG_USE_TABLE": int(table), "LLG_BOTH_FREE": 0, "LLG_HAS_CUBIC": 0, "LLG_HAS_AC": 0}
            if library_path(defines | {"LLG_HAS_NOISE": 1}).is_file():
                return None
        except Exception:  # noqa: BLE001 - no compiler: the run will say so; the estimate uses the static model
            return "the host compiler is not usable"
        return "the cpu engine is not compiled yet (the run compiles it)"

    def _get(
        self,
        cache_backend: str,
        name: str,
        measure: Callable[[float], m.Measurement],
        ready: str | None = None,
    ) -> dict[str, float] | None:
        """The values of coefficient set ``name`` (None: static model, which the caller applies)."""
        if name in self._memo:
            return self._memo[name]
        entry = read_entries(cache_backend).get(name)
        values: dict[str, float] | None = None
        if entry is not None:
            values = {k: float(v) for k, v in entry.items() if isinstance(v, int | float)}
            values.pop("cpu_fraction", None)
            self.sources[name] = "cached"
        else:
            values = self._measure(cache_backend, name, measure, ready)
        if values is None:
            values = self._static(name)
        self._memo[name] = values
        return values

    def _static(self, name: str) -> dict[str, float] | None:
        self.sources[name] = "static"
        if name.split(":")[0] in ("transport", "startup", "fokker_planck", "legendre"):
            return None  # the caller applies the static model (always available for these)
        table = static.ENGINE.get(self.backend, {})
        if name == "fmr:runs":
            return dict(table["fmr"]) if "fmr" in table else None
        kind = name.split(":")[1]
        return dict(table[kind]) if kind in table else None

    def _measure(
        self, cache_backend: str, name: str, measure: Callable[[float], m.Measurement], ready: str | None
    ) -> dict[str, float] | None:
        if not self.measure:
            return None
        if ready is not None:
            self.notices.append(f"{name}: not measured, {ready}; static model")
            return None
        predicted = static.PREDICTED_MEASURE_S.get(name.split(":")[0], 1.0) * self.speed()
        left = self.budget_s - self.calibration_s
        if predicted > left:
            self.notices.append(f"{name}: not measured within the {self.budget_s:g} s calibration budget; static model")
            return None
        with CalibrationLock() as held:
            if not held:
                self.notices.append(f"{name}: another gpuqd process is measuring this machine; static model")
                return None
            if (entry := read_entries(cache_backend).get(name)) is not None:  # measured while we waited
                self.sources[name] = "cached"
                return {k: float(v) for k, v in entry.items() if isinstance(v, int | float) and k != "cpu_fraction"}
            self.report(f"measuring this machine for the time estimate: {name} (≈ {predicted:.1f} s, once)")
            t0 = time.perf_counter()
            try:
                got = measure(t0 + left)
            except m.OutOfTime:
                self.notices.append(
                    f"{name}: not measured within the {self.budget_s:g} s calibration budget; static model"
                )
                return None
            except Exception as exc:  # noqa: BLE001 - an estimate never stops a run
                self.notices.append(f"{name}: measurement failed ({type(exc).__name__}); static model")
                return None
            finally:
                self.calibration_s += time.perf_counter() - t0
            fraction = got.cpu_s / max(got.wall_s * max(got.threads, 1), 1e-9)
            if cache_backend == "cupy" or fraction >= MIN_CPU_FRACTION:
                store_entries(cache_backend, {name: got.values | {"cpu_fraction": round(fraction, 3)}})
                self.sources[name] = "measured"
            else:
                self.sources[name] = "measured under load"
                self.notices.append(
                    f"{name} measured while the machine was busy (CPU time {100 * fraction:.0f} % of wall time"
                    f"{f' × {got.threads:.2g} threads' if got.threads > 1 else ''}): used now, not cached; "
                    f"the estimate may be high"
                )
            return dict(got.values)

"""The run pipeline: validated config → run directory → the requested stages, in order → results.

The stages (:mod:`gpuqd.run.stages`: transport, dynamics, fmr, switching_times, ...) each declare
their configuration section, result variables and figures; this loop runs the ones the outputs need
with one :class:`~gpuqd.run.stages.base.StageContext` (checkpoints, cache, executor, products of earlier
stages), records wall times and throughput in meta.json and writes the results through
:mod:`gpuqd.run.store.results`. Figures are drawn by the caller from the finished run directory
(``gpuqd run`` does, through :func:`gpuqd.plots.make_figures`): the run layer does not import plots.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from gpuqd.atomic_io import atomic_write_text
from gpuqd.run.config.typed import RunConfig
from gpuqd.run.config.validate import check_time_step
from gpuqd.run.costs.estimate import estimate_run, memory_estimate
from gpuqd.run.costs.model import check_memory
from gpuqd.run.errors import RunError
from gpuqd.run.execute.dask_executor import make_executor
from gpuqd.run.execute.device import device_info, engine_threads, resolve_backend
from gpuqd.run.execute.executor import Executor
from gpuqd.run.execute.lock import RunLock
from gpuqd.run.execute.preflight import preflight
from gpuqd.run.execute.progress import Reporter
from gpuqd.run.stages import get_stage
from gpuqd.run.stages.base import StageContext, needed_products
from gpuqd.run.store.cache import TransportCache
from gpuqd.run.store.file_errors import make_dirs
from gpuqd.run.store.results import AXIS_LABELS, AXIS_VARIABLES, save_results
from gpuqd.run.store.rundir import RunDir, git_commit, mark_stopped, now, prepare_run_dir
from gpuqd.version import __version__

__all__ = ["run_pipeline", "config_hash", "UNITS"]

UNITS = MappingProxyType(
    {
        "energy": "Gamma = (Gamma_S + Gamma_D)/2",
        "time": "hbar/Gamma",
        "current": "e Gamma/hbar",
        "spin_current": "Gamma (hbar * Gamma/hbar)",
        "conductance": "e^2/hbar",
        "angle": "rad",
    }
)


def config_hash(cfg: RunConfig) -> str:
    """Hash of everything in the configuration that changes the results (not runs_dir, figures, execution)."""
    data = {k: v for k, v in cfg.data.items() if k not in ("runs_dir", "figures", "execution")}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _backend_for(cfg: RunConfig, rd: RunDir, mode: str, meta: dict) -> str:
    """The backend of this session: a resumed run keeps the one it was started with."""
    requested = cfg.backend
    if mode == "resume" and meta.get("backend"):
        backend = meta["backend"]
        if requested not in ("auto", backend):
            raise RunError(
                f"{rd.path}: the run was started with backend {backend!r}; resuming with "
                f"{requested!r} would not reproduce it (use --force to start over)"
            )
        if backend != "numpy":
            resolve_backend(backend)  # still usable?
        return backend
    return resolve_backend(requested)


def _new_meta(cfg: RunConfig, backend: str, start: str) -> dict:
    return {
        "gpuqd_version": __version__,
        "git_commit": git_commit(),
        "name": cfg.name,
        "status": "running",
        "backend_requested": cfg.backend,
        "backend": backend,
        "device": device_info(backend),
        "seed": cfg.seed,
        "config_hash": config_hash(cfg),
        "start_time": start,
        "end_time": None,
        "stages": {},
        "throughput": {},
        "sessions": [],
        "warnings": list(cfg.warnings),
        "python": platform.python_version(),
        "host": platform.node(),
    }


def run_pipeline(
    cfg: RunConfig,
    resume: bool = False,
    force: bool = False,
    reporter: Reporter | None = None,
    make_figures: bool = True,
    argv: list[str] | None = None,
    executor: Executor | None = None,
    allow_large: bool = False,
    estimate: bool = True,
) -> Path:
    """Execute (or resume) the run described by ``cfg``; returns the run directory.

    Holds the run directory's lock (:class:`gpuqd.run.execute.lock.RunLock`) throughout. Raises
    :class:`RunError` for run-directory conflicts, a live run in the same directory, unusable
    backends and runs that would not fit in memory (``allow_large`` overrides), before any
    computation or file is written; a new run that fails before its first checkpoint leaves no
    run directory behind. ``executor`` runs the heavy work (default: the configuration's ``execution``
    section — in process, or a Dask cluster started or connected on first use and closed at the end).
    ``estimate=False``: no calibrated time estimate is printed (the memory check stays; the figure
    calibration's small run uses it). ``make_figures``: the caller draws the figures afterwards
    (``gpuqd run`` does), so the printed estimate counts them; the pipeline itself draws none.
    """
    reporter = reporter or Reporter()
    lock = RunLock(cfg.run_dir, argv).acquire()
    created: list[Path] = []  # the run directory, once this session has created it (then meta.json)
    try:
        rd, mode = prepare_run_dir(cfg.run_dir, cfg.data, resume, force, __version__)
        if mode == "finished":
            reporter.message(f"{rd.path}: run already finished; nothing to do (use --force to recompute)")
            return rd.path
        return _run(cfg, rd, mode, reporter, make_figures, argv, executor, allow_large, created, estimate)
    except BaseException as exc:
        rd_now = RunDir(cfg.run_dir)
        if isinstance(exc, RunError | OSError) and rd_now.path in created and not rd_now.has_checkpoints():
            rd_now.remove()  # a new run with nothing of value yet: no partial run directory
        elif rd_now.meta_path in created:  # this session marked it "running": now interrupted or failed
            mark_stopped(rd_now, "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed")
        raise
    finally:
        lock.release(remove_parents=not cfg.run_dir.exists())


def _run(
    cfg: RunConfig,
    rd: RunDir,
    mode: str,
    reporter: Reporter,
    make_figures: bool,
    argv: list[str] | None,
    executor: Executor | None,
    allow_large: bool,
    created: list[Path],
    estimate: bool = True,
) -> Path:
    meta = rd.read_meta() if mode == "resume" else {}
    backend = _backend_for(cfg, rd, mode, meta)
    stages = [get_stage(name) for name in cfg.stages]
    preflight(cfg.runs_dir / ".cache", rd, mode, None if executor else cfg.execution.scheduler)
    check_memory(memory_estimate(cfg, backend), allow_large)
    check_time_step(cfg)  # needs the grid's transport solves at the table ends: after the memory check
    for line in estimate_run(cfg, backend, figures=make_figures, report=reporter.message).lines() if estimate else []:
        reporter.message(line)
    if mode == "replace":  # --force: the old run goes only now that the new one may start
        rd.remove()
        mode = "new"

    # ---- from here on files are written
    make_dirs(rd.path, "run directory")
    if mode == "new":
        created.append(rd.path)
    rd.remove_temporary_files()  # leftovers of a kill -9 mid-write
    start = now()
    if mode == "new":
        atomic_write_text(rd.config_path, cfg.to_yaml())
        meta = _new_meta(cfg, backend, start)
    meta["status"] = "running"
    threads = engine_threads(backend, cfg.execution)  # of each cpu engine; null: other backends, remote workers
    session = {"start": start, "resumed": mode == "resume", "argv": argv, "threads": threads}
    meta.setdefault("sessions", []).append(session)
    created.append(rd.meta_path)  # from here on a failure marks the run stopped
    rd.write_meta(meta)

    def stage_time(name: str, t0: float) -> None:
        st = meta["stages"].setdefault(name, {"wall_s": 0.0})
        st["wall_s"] = round(st["wall_s"] + time.perf_counter() - t0, 3)
        rd.write_meta(meta)

    own_executor = executor is None
    if executor is None:
        executor = make_executor(cfg.execution, backend, reporter.message)
    ctx = StageContext(
        cfg=cfg,
        backend=backend,
        reporter=reporter,
        executor=executor,
        cache=TransportCache(cfg.runs_dir / ".cache"),
        checkpoint_dir=rd.checkpoint_dir,
        config_hash=config_hash(cfg),
        needs=needed_products(cfg, stages),
        threads=cfg.execution.threads,  # None: each engine's default where it runs (a Dask worker: its own)
    )
    arrays: dict[str, np.ndarray] = dict(cfg.grid.axes()) | dict(AXIS_LABELS)
    variables: dict[str, Mapping[str, Any]] = dict(AXIS_VARIABLES)
    notes: list[str] = []
    try:
        for stage in stages:
            t0 = time.perf_counter()
            result = stage.run(ctx)  # RunError (SetupError, corrupt cache, ...) in a new run: no run dir left
            stage_time(stage.name, t0)
            meta["throughput"].update(result.throughput)
            variables.update(stage.variables)
            arrays.update(result.arrays)
            notes.extend(result.notes)
    finally:
        close = getattr(executor, "close", None)
        if own_executor and close is not None:
            close()

    t0 = time.perf_counter()
    attrs = {
        "gpuqd_version": __version__,
        "name": cfg.name,
        "outputs": sorted(cfg.outputs),
        "config": cfg.data,
        "axes": {"eps_tilde": ["eps_tilde_over_U", "eps_tilde"], "V": ["V_over_U", "V"]},
        "units": dict(UNITS),
        "notes": notes,
    }
    save_results(rd, arrays, variables, attrs)
    stage_time("results", t0)
    rd.clear_checkpoints()
    meta["status"] = "finished"
    meta["end_time"] = now()
    meta["sessions"][-1]["end"] = meta["end_time"]
    meta["wall_s_total"] = round(sum(s["wall_s"] for s in meta["stages"].values()), 3)
    rd.write_meta(meta)
    return rd.path

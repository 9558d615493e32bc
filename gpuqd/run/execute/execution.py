"""Distributed execution of work units: chains of units with atomic per-unit files in the run directory
(:mod:`gpuqd.run.execute.executor` defines the interface the stages use;
:mod:`gpuqd.run.execute.dask_executor` implements it on Dask and chooses the run's executor).

A *work unit* is a call ``task(shared, *args) -> dict of NumPy arrays``. ``shared`` is sent once per
worker (torque table, model, run parameters); ``args`` are small (block index, chunk index, the
block's engine state). Units form *chains*: link ``c + 1`` of a chain continues from the arrays link
``c`` returned (a block of trajectories advanced one time chunk further), so a chain of one link is
a full-time-range unit. Every finished unit is written atomically into the run directory as it
arrives (:class:`UnitStore`) and supersedes the chain's previous link; a resumed run starts each
chain from its last stored link, so only the missing units are computed.

Because the noise of a trajectory is keyed by (seed, global trajectory id, step) (docs/physics.md
§11), any partition of an ensemble into blocks and any executor give the same numbers.
"""

from __future__ import annotations

import os
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from gpuqd.atomic_io import atomic_save_arrays
from gpuqd.run.execute.checkpoint import kill_hook

__all__ = [
    "UnitExecutor",
    "Job",
    "SerialUnits",
    "UnitStore",
    "ChainStats",
    "run_chains",
]


# --------------------------------------------------------------------------------------- executors
@dataclass(frozen=True)
class Job:
    """One unit to run: ``task(shared, *args)``; ``key`` names it (unique within a call)."""

    key: str
    args: tuple


class UnitExecutor(Protocol):
    """Runs chained jobs, possibly on other processes or machines; results come back in completion order."""

    @property
    def n_workers(self) -> int:
        """Number of worker processes (1 for in-process execution)."""

    def map_dynamic(
        self, task: Callable[..., Any], shared: Any, jobs: Iterable[Job], on_result: Callable[[Job, Any], Iterable[Job]]
    ) -> None:
        """Run ``jobs``; for each finished one call ``on_result(job, result)`` in this process and run the
        jobs it returns as well. Returns when no job is left; an exception in a task is raised here."""


class SerialUnits:
    """Jobs in this process, in submission order (for tests and single-process use of the unit machinery)."""

    n_workers = 1

    def map_dynamic(
        self, task: Callable[..., Any], shared: Any, jobs: Iterable[Job], on_result: Callable[[Job, Any], Iterable[Job]]
    ) -> None:
        queue = deque(jobs)
        while queue:
            job = queue.popleft()
            queue.extend(on_result(job, task(shared, *job.args)))

    def close(self) -> None:
        """Nothing to release."""


# --------------------------------------------------------------------------------------- unit files
class UnitStore:
    """Finished units of one stage: ``<directory>/<chain>.<link>.npz``, written atomically.

    Only the last link of each chain is kept (it contains everything the earlier links produced); the
    previous one is deleted after the new one is on disk, so a crash leaves at least one of them.
    """

    _NAME = re.compile(r"c(\d+)\.l(\d+)\.npz")

    def __init__(self, directory: str | os.PathLike, fingerprint: str = "") -> None:
        self.directory = Path(directory)
        self.fingerprint = str(fingerprint)

    def path(self, chain: int, link: int) -> Path:
        return self.directory / f"c{chain:06d}.l{link:06d}.npz"

    def latest(self) -> dict[int, int]:
        """chain → last stored link (chains without a file are absent)."""
        out: dict[int, int] = {}
        if not self.directory.is_dir():
            return out
        for p in self.directory.iterdir():
            m = self._NAME.fullmatch(p.name)
            if m:
                c, k = int(m.group(1)), int(m.group(2))
                out[c] = max(out.get(c, -1), k)
        return out

    def files(self) -> list[Path]:
        """The unit files present (sorted)."""
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if self._NAME.fullmatch(p.name))

    def save(self, chain: int, link: int, arrays: dict[str, np.ndarray]) -> Path:
        path = atomic_save_arrays(self.path(chain, link), {"_unit_fingerprint": np.array(self.fingerprint), **arrays})
        for k in range(link):
            self.path(chain, k).unlink(missing_ok=True)
        return path

    def load(self, chain: int, link: int) -> dict[str, np.ndarray]:
        """Arrays of a stored unit (ValueError if it belongs to another configuration)."""
        path = self.path(chain, link)
        with np.load(path, allow_pickle=False) as d:
            stored = str(d["_unit_fingerprint"]) if "_unit_fingerprint" in d.files else ""
            arrays = {k: d[k] for k in d.files if k != "_unit_fingerprint"}
        if stored != self.fingerprint:
            raise ValueError(f"{path}: unit belongs to a different configuration")
        return arrays

    def clear(self) -> None:
        """Remove the unit files and the directory (when the stage has finished)."""
        for p in self.files():
            p.unlink(missing_ok=True)
        if self.directory.is_dir():
            for p in self.directory.iterdir():  # leftover temporary files of interrupted writes
                if p.name.startswith(".") and p.name.endswith(".tmp"):
                    p.unlink(missing_ok=True)
            try:
                self.directory.rmdir()
            except OSError:
                pass


@dataclass
class ChainStats:
    """What :func:`run_chains` did: units found in the run directory, units computed, wall time (s)."""

    reused: int = 0
    computed: int = 0
    wall_s: float = 0.0
    work_done: float = 0.0


def run_chains(
    executor: UnitExecutor,
    task: Callable[..., dict[str, np.ndarray]],
    shared: Any,
    n_chains: int,
    n_links: int,
    store: UnitStore,
    start_args: Callable[[int], tuple],
    next_args: Callable[[int, int, dict[str, np.ndarray]], tuple | None],
    stage: str,
    reporter: Any = None,
    work_per_unit: float = 1.0,
    label: str | None = None,
) -> tuple[list[dict[str, np.ndarray]], ChainStats]:
    """Run ``n_chains`` chains of at most ``n_links`` units each; returns the last arrays of every chain.

    ``start_args(chain)`` gives the arguments of link 0; ``next_args(chain, link, arrays)`` those of the
    link after ``link`` (None: the chain is complete). Each unit runs as ``task(shared, chain, link,
    *args)``. Stored units are reused (resume); each new one is saved as it arrives. Progress goes to
    ``reporter`` (start/update/finish of the run layer's progress protocol) in units of work units,
    ``work_per_unit`` converting them to trajectory-steps for the rate; ``label`` names the progress bar
    (default ``stage``; the test hook :data:`gpuqd.run.execute.checkpoint.KILL_HOOK_ENV` counts units of ``stage``).
    """
    t0 = time.perf_counter()
    stats = ChainStats()
    last: list[dict[str, np.ndarray] | None] = [None] * n_chains
    jobs: list[Job] = []
    done_units = 0
    for chain, link in sorted(store.latest().items()):
        if chain >= n_chains:
            continue
        arrays = store.load(chain, link)
        last[chain] = arrays
        stats.reused += link + 1
        done_units += link + 1
    for chain in range(n_chains):
        previous = last[chain]
        if previous is None:
            jobs.append(Job(f"{stage}-c{chain}-l0", (chain, 0) + tuple(start_args(chain))))
        else:
            link = store.latest()[chain]
            args = next_args(chain, link, previous)
            if args is not None:
                jobs.append(Job(f"{stage}-c{chain}-l{link + 1}", (chain, link + 1) + tuple(args)))
    total_units = n_chains * n_links
    if reporter is not None:
        reporter.start(label or stage, total_units, "units", work_per_unit=work_per_unit, done=done_units)

    def on_result(job: Job, arrays: dict[str, np.ndarray]) -> Sequence[Job]:
        nonlocal done_units
        chain, link = job.args[0], job.args[1]
        store.save(chain, link, arrays)
        last[chain] = arrays
        stats.computed += 1
        done_units += 1
        if reporter is not None:
            reporter.update(min(done_units, total_units))
        kill_hook(stage, stats.computed)  # test hook: SIGKILL after K stored units
        args = next_args(chain, link, arrays)
        if args is None:
            return ()
        return (Job(f"{stage}-c{chain}-l{link + 1}", (chain, link + 1) + tuple(args)),)

    if jobs:
        executor.map_dynamic(task, shared, jobs, on_result)
    if reporter is not None:
        reporter.finish()
    stats.wall_s = time.perf_counter() - t0
    stats.work_done = stats.computed * work_per_unit
    missing = [c for c in range(n_chains) if last[c] is None]
    if missing:  # pragma: no cover - map_dynamic either finishes every job or raises
        raise RuntimeError(f"{stage}: chains {missing[:10]} produced no result")
    return [a for a in last if a is not None], stats

"""Execution of a stage's heavy work: the :class:`Executor` interface and the in-process engine.

Stages hand their work to ``context.executor`` in two shapes:

* :meth:`Executor.map` — independent work items (blocks of grid points, FMR spectra): a public,
  module-level function and small picklable items; results come back in item order, lazily, so a
  stage can store each one as it arrives.
* :meth:`Executor.run_ensemble` — an ensemble of trajectories described by an :class:`EnsembleWork`
  (picklable: typed config, torque provider, backend). ``work.start(ids)`` builds a resumable run
  of the trajectories ``ids`` (global work indices 0..n_items-1) and ``work.collect(run)`` returns
  their per-trajectory observables; any partition of the ids gives the same numbers because the
  noise is keyed by (seed, trajectory id, step) (docs/physics.md §11).

:class:`LocalExecutor` runs everything in this process: one block of all trajectories, advanced in
chunks and checkpointed after each (the behaviour ``--resume`` relies on).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, TypeVar

import numpy as np

from gpuqd.run.execute.checkpoint import Checkpoint, Resumable, run_chunks
from gpuqd.run.execute.progress import Reporter

__all__ = ["EnsembleWork", "Executor", "LocalExecutor", "run_block"]


RunT = TypeVar("RunT", bound=Resumable)


class EnsembleWork(Protocol[RunT]):
    """An ensemble stage's work, split-able by trajectory ids (see the module docstring); ``RunT`` is the
    type of its resumable runs."""

    @property
    def n_items(self) -> int:
        """Trajectories (work items) in the ensemble; ids are 0 .. n_items - 1."""

    @property
    def chunk_steps(self) -> int:
        """Steps per chunk between checkpoints (local engine)."""

    def start(self, ids: np.ndarray | None = None) -> RunT:
        """A resumable run of the trajectories ``ids`` (None: all, in one block)."""

    def collect(self, run: RunT) -> Any:
        """Per-trajectory observables of a finished run."""

    def progress_start(self, run: RunT, reporter: Reporter, resumed: bool) -> None:
        """Announce the work (and a resume) to ``reporter``."""

    def progress_update(self, run: RunT, reporter: Reporter) -> None:
        """Report progress after a chunk."""

    def progress_end(self, run: RunT, reporter: Reporter) -> None:
        """Close the progress display."""


def run_block(work: EnsembleWork[Any], ids: np.ndarray, chunk_steps: int | None = None) -> Any:
    """Run the trajectories ``ids`` of ``work`` over the full time range; their observables (one unit of work)."""
    run = work.start(ids)
    while not run.done:
        run.advance(chunk_steps or work.chunk_steps)
    return work.collect(run)


class Executor(Protocol):
    """Where a stage's heavy work runs (in process, or a cluster)."""

    name: str

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """``fn(item)`` for each item, results in item order."""

    def run_ensemble(self, work: EnsembleWork[Any], checkpoint: Checkpoint, reporter: Reporter) -> Any:
        """Run (or resume) the ensemble; its observables as ``work.collect`` returns them."""


class LocalExecutor:
    """In-process execution: sequential ``map``; ensembles as one block, chunked and checkpointed."""

    name = "local"

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        for item in items:
            yield fn(item)

    def run_ensemble(self, work: EnsembleWork[Any], checkpoint: Checkpoint, reporter: Reporter) -> Any:
        run = work.start(None)
        resumed = checkpoint.restore(run)
        work.progress_start(run, reporter, resumed)
        run_chunks(
            run,
            work.chunk_steps,
            checkpoint,
            lambda: work.progress_update(run, reporter),
            split=getattr(work, "chunk_invariant", False),
        )
        work.progress_end(run, reporter)
        return work.collect(run)

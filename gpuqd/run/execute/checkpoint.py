"""The one checkpoint helper of the run layer: resumable state saved atomically after every chunk.

A :class:`Checkpoint` is one ``.npz`` file in ``<run>/checkpoint/`` holding the state of a resumable
object (``get_state()`` / ``set_state()``: EnsembleRunner, AdaptiveSwitchingRun, ...) and the hash of
the configuration it belongs to. :func:`run_chunks` is the chunk loop every stage uses.

Test hook: the environment variable :data:`KILL_HOOK_ENV` = ``"<hook>:<K>"`` ends the process with
SIGKILL right after the K-th checkpoint of ``<hook>`` (simulates ``kill -9``).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from gpuqd.atomic_io import atomic_save_arrays, checksum_path
from gpuqd.interrupts import deferred, pending, raise_pending
from gpuqd.run.errors import RunError
from gpuqd.run.execute.checkpoint_clock import CheckpointClock
from gpuqd.run.store.file_errors import REMEDY_FORCE, load_npz

__all__ = ["KILL_HOOK_ENV", "Checkpoint", "Resumable", "kill_hook", "run_chunks"]

#: Test hook: "transport:K", "dynamics:K" or "switching_times:K" kills the process after K checkpoints.
KILL_HOOK_ENV = "GPUQD_TEST_KILL_AFTER"


def kill_hook(hook: str, count: int) -> None:
    """Test hook: SIGKILL this process after ``count`` checkpoints of ``hook`` (simulates kill -9)."""
    value = os.environ.get(KILL_HOOK_ENV, "")
    if value and value == f"{hook}:{count}":
        os.kill(os.getpid(), signal.SIGKILL)


class Resumable(Protocol):
    """What :func:`run_chunks` drives: chunked work with a NumPy-array state."""

    @property
    def done(self) -> bool: ...

    def advance(self, n_steps: int) -> Any: ...

    def get_state(self) -> dict[str, np.ndarray]: ...

    def set_state(self, state: dict[str, np.ndarray]) -> None: ...


class Checkpoint:
    """State file ``path`` of one stage, tied to the configuration hash ``config_hash``."""

    def __init__(self, path: str | os.PathLike, config_hash: str, hook: str) -> None:
        self.path = Path(path)
        self.config_hash = config_hash
        self.hook = hook
        self.saved = 0

    def exists(self) -> bool:
        return self.path.exists()

    def counter(self, key: str) -> int:
        """An integer counter stored in the checkpoint (e.g. ``steps_done``), for throughput; 0 if there
        is no checkpoint, it lacks ``key`` or cannot be read (:meth:`restore` reports such files)."""
        if not self.path.exists():
            return 0
        try:
            with np.load(self.path, allow_pickle=False) as data:
                return int(data[key]) if key in data.files else 0
        except Exception:
            return 0

    def restore(self, target: Resumable) -> bool:
        """Load the state into ``target`` if a checkpoint exists (RunError if it is not this run's)."""
        if not self.path.exists():
            return False
        data = load_npz(self.path, "checkpoint", REMEDY_FORCE)  # one-line error if corrupt
        stored = str(data["_config_hash"]) if "_config_hash" in data else ""
        state = {k: v for k, v in data.items() if not k.startswith("_")}
        if stored != self.config_hash:
            raise RunError(f"{self.path}: checkpoint belongs to a different configuration; use --force")
        try:
            target.set_state(state)
        except (ValueError, KeyError) as exc:
            raise RunError(
                f"{self.path}: cannot resume from this checkpoint ({exc}); use --force to start over"
            ) from None
        return True

    def save(self, state: dict[str, np.ndarray]) -> None:
        """Write ``state`` atomically, with its checksum beside it (then the kill test hook may fire)."""
        atomic_save_arrays(self.path, {"_config_hash": np.array(self.config_hash), **state}, checksum=True)
        self.saved += 1
        kill_hook(self.hook, self.saved)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
        checksum_path(self.path).unlink(missing_ok=True)


def _advance(work: Resumable, n_steps: int, checkpoint: Checkpoint) -> None:
    """``work.advance(n_steps)`` with SIGINT/SIGTERM held; if one arrived, checkpoint the state reached
    and raise it (:mod:`gpuqd.interrupts`): an interrupt loses no finished step."""
    with deferred(raise_after=False):
        work.advance(n_steps)
    if pending():
        checkpoint.save(work.get_state())
        raise_pending()


def run_chunks(
    work: Resumable,
    chunk_steps: int,
    checkpoint: Checkpoint,
    after_chunk: Callable[[], None] | None = None,
    split: bool = False,
    clock: CheckpointClock | None = None,
) -> None:
    """Advance ``work`` until done, checkpointing after every ``chunk_steps`` steps.

    Checkpoints of work on a GPU are written asynchronously (:func:`_start_save`): the state is copied
    on the device, the next advance is queued, then the copy is written.

    ``split``: the work's results do not depend on how its steps are chunked (the ensemble engine,
    counter-based noise, docs/physics.md §11); it is then advanced in smaller pieces and also
    checkpointed every :data:`~gpuqd.run.execute.checkpoint_clock.DEFAULT_INTERVAL_S` seconds of wall clock
    (``clock``), so that an interrupt loses at most that much work. Otherwise (e.g. compaction at
    chunk boundaries) every advance is exactly ``chunk_steps``.
    """
    if not split:
        while not work.done:
            _advance(work, chunk_steps, checkpoint)
            checkpoint.save(work.get_state())
            if after_chunk is not None:
                after_chunk()
        return
    clock = clock or CheckpointClock(chunk_steps)
    saves_at_flight = -1
    in_flight: Any = None  # a state copy on its way from a device (written after the next advance is queued)
    try:
        while not work.done:
            remaining = getattr(work, "steps_total", 2**62) - getattr(work, "steps_done", 0)
            n = clock.advance_size(remaining)
            _advance(work, n, checkpoint)
            if in_flight is not None:
                state, in_flight = in_flight.result(), None
                checkpoint.save(state)
            clock.record(n)
            if clock.due() or work.done:
                in_flight = _start_save(work, checkpoint)
                saves_at_flight = checkpoint.saved
                clock.saved()
                if after_chunk is not None:
                    after_chunk()
    finally:
        # the last state copy (or one overtaken by an error) is still written, unless an interrupt has
        # already saved the newer state reached since (_advance)
        if in_flight is not None and checkpoint.saved == saves_at_flight:
            checkpoint.save(in_flight.result())


def _start_save(work: Resumable, checkpoint: Checkpoint) -> Any:
    """Save the state now, or, where the work copies it asynchronously (``snapshot()`` with
    ``in_flight``: a GPU engine), return the copy in flight so that the caller writes it after
    queueing the next advance: the device then computes while the host writes the file. The state
    written is the state at this call either way, so a resume is bit-identical."""
    snapshot = getattr(work, "snapshot", None)
    if snapshot is not None and not work.done:
        pending = snapshot()
        if getattr(pending, "in_flight", False):
            return pending
        checkpoint.save(pending.result())
        return None
    checkpoint.save(work.get_state())
    return None

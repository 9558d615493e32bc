"""Defect: checkpoints were written synchronously every chunk (the GPU idled while the host wrote the file);
the asynchronous EnsembleRunner.snapshot() was used only in tests. Now run_chunks takes a snapshot, queues
the next advance and then writes the snapshot. Oracles: the order of events with a recording fake, and an
interrupted-and-resumed run equal bit for bit to an uninterrupted one (cupy through the stand-in or a GPU)."""

from __future__ import annotations

import numpy as np
import pytest

from gpuqd.dynamics import ConstantTorque, EnsembleRunner, Macrospin
from gpuqd.run.execute.checkpoint import Checkpoint, run_chunks
from gpuqd.run.execute.checkpoint_clock import CheckpointClock


class _Snapshot:
    in_flight = True

    def __init__(self, log: list, state: dict) -> None:
        self._log, self._state = log, state

    def result(self) -> dict:
        self._log.append(("copy done", int(self._state["step"])))
        return self._state


class _DeviceWork:
    """Counts steps; its snapshots are 'in flight' like a GPU engine's."""

    def __init__(self, total: int, log: list) -> None:
        self.steps_done, self.steps_total, self.log = 0, total, log

    @property
    def done(self) -> bool:
        return self.steps_done >= self.steps_total

    def advance(self, n: int) -> int:
        n = min(n, self.steps_total - self.steps_done)
        self.steps_done += n
        self.log.append(("advance", self.steps_done))
        return n

    def get_state(self) -> dict:
        return {"step": np.array(self.steps_done)}

    def set_state(self, state: dict) -> None:
        self.steps_done = int(state["step"])

    def snapshot(self) -> _Snapshot:
        return _Snapshot(self.log, self.get_state())


class _RecordingCheckpoint(Checkpoint):
    def __init__(self, tmp_path, log: list | None = None, interrupt_after: int | None = None) -> None:
        super().__init__(tmp_path / "state.npz", "hash", "test")
        self.log, self.interrupt_after, self.states = log, interrupt_after, []

    def save(self, state: dict) -> None:
        super().save(state)
        self.states.append({k: np.array(v) for k, v in state.items()})
        if self.log is not None:
            self.log.append(("saved", int(state["step"])))
        if self.interrupt_after is not None and self.saved == self.interrupt_after:
            raise KeyboardInterrupt


def test_the_next_advance_is_queued_before_the_checkpoint_is_written(tmp_path) -> None:
    log: list = []
    work = _DeviceWork(100, log)
    run_chunks(work, 30, _RecordingCheckpoint(tmp_path, log), split=True, clock=CheckpointClock(30, every_s=1e9))
    assert log == [
        ("advance", 30),
        ("advance", 60),
        ("copy done", 30),
        ("saved", 30),
        ("advance", 90),
        ("copy done", 60),
        ("saved", 60),
        ("advance", 100),
        ("copy done", 90),
        ("saved", 90),
        ("saved", 100),  # the final state is written at once (nothing left to overlap with)
    ]


def test_a_copy_in_flight_is_written_when_the_run_is_interrupted(tmp_path) -> None:
    log: list = []
    work = _DeviceWork(100, log)
    work_advance = work.advance

    def advance(n: int) -> int:
        if work.steps_done >= 60:
            raise KeyboardInterrupt
        return work_advance(n)

    work.advance = advance  # type: ignore[method-assign]
    checkpoint = _RecordingCheckpoint(tmp_path, log)
    with pytest.raises(KeyboardInterrupt):
        run_chunks(work, 30, checkpoint, split=True, clock=CheckpointClock(30, every_s=1e9))
    assert [int(s["step"]) for s in checkpoint.states] == [30, 60]


MAGNET, TORQUE = Macrospin(S=1.0, KV=0.05, alpha=0.2, sigma2=0.01), ConstantTorque(-0.02, 0.03, 0.7)
RUN = dict(n_traj=64, dt=0.05, t_end=30.0, seed=5, average_from=10.0, sample_every=40, sample_trajectories=[1, 9])


@pytest.mark.parametrize("backend", ["cpu", pytest.param("cupy", marks=pytest.mark.gpu)])
def test_interrupted_and_resumed_run_is_bit_identical(tmp_path, backend: str) -> None:
    whole = EnsembleRunner(MAGNET, TORQUE, backend=backend, **RUN)
    run_chunks(whole, 70, _RecordingCheckpoint(tmp_path / "a"), split=True, clock=CheckpointClock(70, every_s=1e9))
    (tmp_path / "b").mkdir()
    first = EnsembleRunner(MAGNET, TORQUE, backend=backend, **RUN)
    checkpoint = _RecordingCheckpoint(tmp_path / "b", interrupt_after=3)
    with pytest.raises(KeyboardInterrupt):
        run_chunks(first, 70, checkpoint, split=True, clock=CheckpointClock(70, every_s=1e9))
    assert int(checkpoint.states[-1]["steps_done"]) == 210
    resumed = EnsembleRunner(MAGNET, TORQUE, backend=backend, **RUN)
    assert Checkpoint(checkpoint.path, "hash", "test").restore(resumed)
    run_chunks(resumed, 70, _RecordingCheckpoint(tmp_path / "b"), split=True, clock=CheckpointClock(70, every_s=1e9))
    a, b = whole.get_state(), resumed.get_state()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)

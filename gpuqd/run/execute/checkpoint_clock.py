"""When to checkpoint: every ``every_steps`` steps *or* every ``every_s`` seconds of wall clock,
whichever comes first, so that an interrupt loses at most a few minutes of work.

A stage loop asks :meth:`CheckpointClock.advance_size` how many steps to take next (never more than
the step budget left before the next step checkpoint, and about a quarter of the wall interval at
the measured rate), calls :meth:`record` after advancing and saves when :meth:`due` is true::

    clock = CheckpointClock(every_steps=chunk_steps)
    while not runner.done:
        n = clock.advance_size(runner.steps_total - runner.steps_done)
        runner.advance(n)
        clock.record(n)
        if clock.due() or runner.done:
            save(); clock.saved()

The results do not depend on the chunking (counter-based noise), so the wall-clock trigger does not
change them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["CheckpointClock", "DEFAULT_INTERVAL_S"]

#: default wall-clock checkpoint interval (seconds)
DEFAULT_INTERVAL_S = 180.0


class CheckpointClock:
    """Step- and wall-clock-based checkpoint trigger (see the module docstring)."""

    def __init__(
        self, every_steps: int, every_s: float = DEFAULT_INTERVAL_S, clock: Callable[[], float] = time.monotonic
    ):
        if every_steps < 1:
            raise ValueError(f"every_steps = {every_steps} must be >= 1")
        if not every_s > 0:
            raise ValueError(f"every_s = {every_s} must be > 0")
        self.every_steps = int(every_steps)
        self.every_s = float(every_s)
        self._clock = clock
        self._t_saved = self._t_last = clock()
        self._steps_since = 0
        self._rate: float | None = None  # steps per second, measured

    def advance_size(self, remaining: int) -> int:
        """Steps to advance next: ≤ remaining, ≤ steps left to the step checkpoint, ≈ every_s/4 of work."""
        n = min(int(remaining), self.every_steps - self._steps_since)
        if self._rate is not None:
            n = min(n, max(1, int(self._rate * self.every_s / 4)))
        return max(1, n)

    def record(self, steps: int, seconds: float | None = None) -> None:
        """``steps`` were advanced (taking ``seconds``; measured from the last call if None)."""
        now = self._clock()
        self._steps_since += int(steps)
        if seconds is None:
            seconds = now - self._t_last
        self._t_last = now
        if seconds > 0 and steps > 0:
            self._rate = steps / seconds

    def due(self) -> bool:
        """True when ``every_steps`` steps or ``every_s`` seconds have passed since the last save."""
        return self._steps_since >= self.every_steps or (self._clock() - self._t_saved) >= self.every_s

    def saved(self) -> None:
        """A checkpoint was written: restart both counters."""
        self._t_saved = self._t_last = self._clock()
        self._steps_since = 0

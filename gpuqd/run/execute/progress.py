"""Progress reporting: the :class:`Reporter` interface the stages call, and its rich implementation."""

from __future__ import annotations

import sys
import time
from typing import Any

__all__ = ["Reporter", "RichReporter"]


class Reporter:
    """Progress sink; all methods are no-ops (the command line uses :class:`RichReporter`)."""

    def start(self, stage: str, total: int, unit: str, work_per_unit: float = 1.0, done: int = 0) -> None:
        """Begin ``stage`` with ``total`` units (work_per_unit converts units to the rate unit)."""

    def update(self, done: int) -> None:
        """``done`` units finished so far."""

    def finish(self) -> None:
        """End of the current stage."""

    def message(self, text: str) -> None:
        """A one-line remark."""


def _console():
    try:
        from rich.console import Console
    except ImportError:  # pragma: no cover - rich is a dependency
        return None
    return Console(stderr=True, highlight=False)


class RichReporter(Reporter):
    """Progress with rich: stage, points/steps done, rate (trajectory-steps/s), ETA."""

    RATE_UNITS = {"transport": "θ-solves/s", "dynamics": "traj-steps/s"}

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.console = _console()
        self._progress: Any = None  # rich.progress.Progress while a bar is shown (rich is imported lazily)
        self._task: Any = None
        self._t0 = 0.0
        self._done0 = 0
        self._stage = ""
        self._wpu = 1.0
        self._total = 0
        self._last_plain = 0.0

    def _plain(self) -> bool:
        return self.console is None or not self.console.is_terminal

    def start(self, stage: str, total: int, unit: str, work_per_unit: float = 1.0, done: int = 0) -> None:
        self._stage, self._wpu, self._total = stage, work_per_unit, total
        self._t0, self._done0 = time.perf_counter(), done
        if self.quiet:
            return
        if self._plain():
            self.message(f"{stage}: {total} {unit}" + (f" (resuming at {done})" if done else ""))
            self._last_plain = time.perf_counter()
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        reporter = self

        class RateColumn(ProgressColumn):
            def render(self, task):  # noqa: ANN001, ANN201
                el = time.perf_counter() - reporter._t0
                if el <= 0 or task.completed <= reporter._done0:
                    return Text("rate –", style="cyan")
                rate = (task.completed - reporter._done0) * reporter._wpu / el
                unit = reporter.RATE_UNITS.get(reporter._stage, "/s")
                return Text(f"{rate:.3g} {unit}", style="cyan")

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(unit),
            RateColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(stage, total=total, completed=done)

    def update(self, done: int) -> None:
        if self.quiet:
            return
        if self._progress is not None:
            self._progress.update(self._task, completed=done)
            return
        now = time.perf_counter()
        if now - self._last_plain >= 10.0 or done >= self._total:
            el = now - self._t0
            rate = (done - self._done0) * self._wpu / el if el > 0 else 0.0
            eta = (self._total - done) * el / (done - self._done0) if done > self._done0 else float("nan")
            unit = self.RATE_UNITS.get(self._stage, "/s")
            self.message(f"{self._stage}: {done}/{self._total}, {rate:.3g} {unit}, ETA {eta:.0f} s")
            self._last_plain = now

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if not self.quiet:
            self.message(f"{self._stage}: done in {time.perf_counter() - self._t0:.1f} s")

    def message(self, text: str) -> None:
        if self.quiet:
            return
        if self.console is not None:
            self.console.print(text, markup=False)
        else:  # pragma: no cover
            print(text, file=sys.stderr)

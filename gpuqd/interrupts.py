"""SIGINT and SIGTERM as exceptions that never split a write or a chunk of work in half.

:func:`handle_signals` (the command line installs it) turns SIGINT and SIGTERM into
:class:`Interrupted` (a :class:`KeyboardInterrupt`, so code that already cleans up on Ctrl-C does so
for SIGTERM too). Inside :func:`deferred` blocks (an atomic file write, one piece of a chunk loop) the
signal is only recorded; it is raised when the outermost block exits, so a checkpoint is either
written completely or not at all and the loop can save its current state before it stops
(:func:`pending` tells it to). A second SIGINT while one is pending raises at once (an impatient
user's way out).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["Interrupted", "deferred", "exit_status", "handle_signals", "pending", "raise_pending"]


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; ``signum`` says which."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_state = {"depth": 0, "pending": 0}


def exit_status(exc: BaseException) -> int:
    """128 + the signal number: 130 for SIGINT (and a plain KeyboardInterrupt), 143 for SIGTERM."""
    return 128 + int(getattr(exc, "signum", signal.SIGINT))


def _handler(signum: int, frame: FrameType | None) -> None:
    if _state["depth"] > 0 and not _state["pending"]:
        _state["pending"] = signum
        return
    _state["pending"] = 0
    raise Interrupted(signum)


@contextmanager
def handle_signals() -> Iterator[None]:
    """Install the SIGINT/SIGTERM handlers for the block (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, _handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        _state["pending"] = 0


def pending() -> bool:
    """True if a signal arrived inside a :func:`deferred` block and has not been raised yet."""
    return bool(_state["pending"])


def raise_pending() -> None:
    """Raise the recorded signal as :class:`Interrupted` (no-op if none)."""
    signum = _state["pending"]
    if signum and _state["depth"] == 0:
        _state["pending"] = 0
        raise Interrupted(signum)


@contextmanager
def deferred(raise_after: bool = True) -> Iterator[None]:
    """Hold SIGINT/SIGTERM until the block (and every enclosing one) has finished; then raise it
    (``raise_after=False``: the caller checks :func:`pending`, saves its state, and calls
    :func:`raise_pending`)."""
    _state["depth"] += 1
    try:
        yield
    finally:
        _state["depth"] -= 1
    if raise_after:
        raise_pending()

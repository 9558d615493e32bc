"""User-facing errors of the run layer (one-line messages; exit status 2 at the command line)."""

from __future__ import annotations

__all__ = ["ConfigError", "RunError", "SetupError"]


class ConfigError(ValueError):
    """Invalid configuration or command-line input (message is one line, user-facing)."""


class RunError(RuntimeError):
    """A run cannot proceed (state of the run directory, unavailable backend, ...); user-facing."""


class SetupError(RunError):
    """A stage could not be set up (e.g. dt too large for the tabulated torques); nothing of value was
    computed in the run directory yet, so a new run directory is removed again."""

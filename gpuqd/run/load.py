"""The front door for reading finished runs: :func:`load_run` and the :class:`RunResults` it returns.

Everything that reads a run directory from outside the run layer (``gpuqd.load_run``, the figures of
:mod:`gpuqd.plots`, notebooks) comes through here; the file formats behind it (``results.nc``,
``results.npz``, ``meta.json``) live in :mod:`gpuqd.run.store`.
"""

from __future__ import annotations

from gpuqd.run.store.results import RunResults, load_run

__all__ = ["RunResults", "load_run"]

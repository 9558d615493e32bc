"""Execution of a run's heavy work: executors (in-process, Dask), work units, checkpoints, lock, progress, device."""

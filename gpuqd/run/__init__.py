"""YAML → run directory, in rooms (bottom to top; ``tests/test_architecture.py`` checks the order):

* :mod:`gpuqd.run.config` — schema, YAML input, typed configuration, validation, factories;
* :mod:`gpuqd.run.store` — run directory, results (NetCDF / npz), transport cache, file errors;
* :mod:`gpuqd.run.execute` — executors (in process, Dask), work units, checkpoints, lock, progress;
* :mod:`gpuqd.run.stages` — the stage interface (``base``) and one module per output;
* the run estimate, :mod:`gpuqd.run.pipeline` (the loop) and :mod:`gpuqd.run.load` (reading runs).

Entry points: :func:`gpuqd.run.config.validate.load_config`, :func:`gpuqd.run.pipeline.run_pipeline`,
:func:`gpuqd.run.load.load_run`.
"""

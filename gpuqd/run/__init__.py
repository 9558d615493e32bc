"""YAML → run directory: schema and typed configuration, factories, cache, checkpoints, progress,
run directory, results, the stages (:mod:`gpuqd.run.stages`) and the pipeline loop.

Entry points: :func:`gpuqd.run.config.validate.load_config`, :func:`gpuqd.run.pipeline.run_pipeline`,
:func:`gpuqd.run.store.results.load_run`.
"""

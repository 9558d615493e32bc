"""Run layer: configuration to run directory (execution of work units: :mod:`gpuqd.run.execution`)."""

"""Costs of a run before it starts: each stage's ``estimate(cfg, costs, needs)`` summed by
:mod:`gpuqd.run.costs.estimate`, on the cost coefficients of :mod:`gpuqd.run.costs.coefficients`
(cached per machine in :mod:`gpuqd.run.costs.store`, measured by :mod:`gpuqd.run.costs.measure` within a
5 s budget, or the static model of :mod:`gpuqd.run.costs.static`); :mod:`gpuqd.run.costs.model` holds the
estimate's data types and the memory check, :mod:`gpuqd.run.costs.switching` the compaction model of the
switching-time statistics.

This package imports nothing at import time: the stages import its lower modules, and
:mod:`gpuqd.run.costs.estimate` imports the stages.
"""

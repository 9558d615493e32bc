"""Physics from torques and trajectories: no files, no configuration.

* :mod:`~gpuqd.observables.switching_stats` — censored first-passage estimators (docs/physics.md §10);
* :mod:`~gpuqd.observables.first_passage` — compacting first-passage ensembles with global noise ids;
* :mod:`~gpuqd.observables.adaptive_switching` — adaptive sampling policy over (protocol, point) groups;
* :mod:`~gpuqd.observables.fmr` — linear FMR response about P / AP (docs/physics.md §6.5);
* :mod:`~gpuqd.observables.fmr_simulation` — simulated FMR through the ensemble engine.
"""

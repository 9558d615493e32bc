"""The static cost model: coefficients of :mod:`gpuqd.run.costs.measure` measured on the development
machine, used where this machine has no cached measurement and none fits the calibration budget (or
another gpuqd process is measuring, or a measurement failed).

Machine: the 2-core x86-64 development VM (``vm``, NumPy 2.4, gpuqd 0.2.0). The coefficients come from
the whole-run stage times of ``benchmarks/results/estimates-vm.json`` (quiet machine, 2026-11-28: fig4's
transport gives ``p0 + 6·p1`` at order 2, quickstart's ``p1``, quickstart's dynamics the cpu table
engine at 625 trajectories with switching_times' at 8100, quickstart ``--backend numpy`` the NumPy
engine, fmr's stage the simulated-FMR step, the figures and start-up their stages) and, for the ratios
these do not fix (order 1, the constant-torque engine, memory, Fokker–Planck, the start-up imports),
from :mod:`gpuqd.run.costs.measure` on 2026-12-04 under load, scaled by the measured CPU-time / wall-
time ratio (0.16–0.41). Accuracy on the development VM: see the README's cost table. On another machine
these are only a guess: the Python/NumPy parts are scaled by the measured speed of its transport solves
(:meth:`gpuqd.run.costs.coefficients.Costs.speed`). There is no static model of the CuPy engine (no GPU
measurement): its time is "not estimated" until measured on the GPU machine.
"""

from __future__ import annotations

__all__ = [
    "ENGINE",
    "FIGURES",
    "FOKKER_PLANCK_128",
    "LEGENDRE",
    "MACHINE",
    "PREDICTED_MEASURE_S",
    "STARTUP_IMPORTS",
    "STARTUP_REST_S",
    "TRANSPORT",
    "TRANSPORT_THREAD_EFFICIENCY",
    "LEGENDRE_THREAD_GAIN",
    "KERNEL_INSTRUCTIONS_PER_STEP",
]

MACHINE = "the 2-core development VM (x86-64)"

#: transport per order: seconds per point ``p0 + p1·n`` (n directions), per ε̃ of a line scan, memory
TRANSPORT: dict[int, dict[str, float]] = {
    1: {
        "p0": 2.0e-06,
        "p1": 1.3e-06,
        "line_s": 1.0e-03,
        "bytes_per_point": 13000.0,
        "bytes_per_solve": 911.0,
        "bytes_fixed": 101000.0,
    },
    2: {
        "p0": 2.0e-04,
        "p1": 8.0e-07,
        "line_s": 1.0e-03,
        "bytes_per_point": 235000.0,
        "bytes_per_solve": 313.0,
        "bytes_fixed": 222000.0,
    },
}

#: wall-time efficiency of the transport blocks on W threads when not measured: one thread's time per
#: point over W × this (measured on the development VM, 2 threads, OpenBLAS with its default threads:
#: 1.5–1.7× at 6–96 directions)
TRANSPORT_THREAD_EFFICIENCY = 0.75

#: engine per backend and torque kind: seconds per step ``c + d·n`` (n trajectories), bytes per
#: trajectory; ``fmr``: seconds per step (one trajectory) and per engine run (one frequency) of the
#: simulated FMR (measured 2026-12-04 on the quiet development VM)
ENGINE: dict[str, dict] = {
    "numpy": {
        "table": {"c": 1.2e-4, "d": 3.8e-7, "bytes_per_traj": 512.0},
        "constant": {"c": 4.0e-5, "d": 2.7e-7, "bytes_per_traj": 504.0},
        "fmr": {"s_per_step": 5.0e-5, "s_per_run": 0.037},
    },
    "cpu": {
        "table": {"c": 1.0e-5, "d": 9.0e-8, "bytes_per_traj": 244.0},
        "constant": {"c": 5.0e-6, "d": 4.0e-8, "bytes_per_traj": 239.0},
        "fmr": {"s_per_step": 3.0e-8, "s_per_run": 0.038},
    },
}

#: GPU instructions per step of every kernel variant (torque kind, free source "both", cubic anisotropy,
#: AC drive, no noise), counted in the SASS of nvcc 13.0 for sm_90 (benchmarks/kernel_sass.py, its JSON in
#: benchmarks/results/kernel_sass.json; tests/run/test_estimate.py keeps the two equal). The engines of
#: one source (cpu, cupy) price a variant as the measured "table" or "constant" engine × this ratio;
#: measured on the cpu engine (2 threads, 2026-12-05): cubic 1.18× the table engine, ratio 1.12.
KERNEL_INSTRUCTIONS_PER_STEP: dict[str, int] = {
    "table-both-cubic-ac": 1243,
    "table-both-cubic-ac-nonoise": 836,
    "table-both-cubic": 1183,
    "table-both-cubic-nonoise": 771,
    "table-both-ac": 1103,
    "table-both-ac-nonoise": 688,
    "table-both": 1048,
    "table-both-nonoise": 637,
    "table-cubic-ac": 861,
    "table-cubic-ac-nonoise": 633,
    "table-cubic": 791,
    "table-cubic-nonoise": 575,
    "table-ac": 768,
    "table-ac-nonoise": 565,
    "table": 708,
    "table-nonoise": 505,
    "constant-both-cubic-ac": 934,
    "constant-both-cubic-ac-nonoise": 518,
    "constant-both-cubic": 869,
    "constant-both-cubic-nonoise": 464,
    "constant-both-ac": 808,
    "constant-both-ac-nonoise": 394,
    "constant-both": 740,
    "constant-both-nonoise": 329,
    "constant-cubic-ac": 564,
    "constant-cubic-ac-nonoise": 340,
    "constant-cubic": 500,
    "constant-cubic-nonoise": 283,
    "constant-ac": 479,
    "constant-ac-nonoise": 261,
    "constant": 415,
    "constant-nonoise": 206,
}

#: axial Fokker–Planck maps at 128 cells (the measurement's case, :func:`gpuqd.run.costs.measure.fokker_planck`):
#: seconds ``s_fixed + s_per_point·n`` for n grid points (measured 2026-12-05 on the quiet development VM)
FOKKER_PLANCK_128 = {"s_fixed": 0.21, "s_per_point": 1.9e-3}
#: Legendre–Galerkin Fokker–Planck of the write-error rates (:func:`gpuqd.run.costs.measure.legendre`):
#: seconds per n·Q of set-up, per n²·Q of a generator, per n³ of a matrix exponential at n = 192, 288;
#: measured 2026-12-05 on one BLAS thread (gpuqd.blas.one_blas_thread, as the stage runs it), quiet
LEGENDRE = {"setup_s": 6.3e-9, "generator_s": 3.4e-11, "expm_s_192": 5.1e-10, "expm_s_288": 4.8e-10}
#: throughput of the write-error map's points on W threads over one thread when not measured: 1 + (W − 1)
#: × this (measured on the development VM: 1.39 on 2 threads, a 121-point map, 2026-12-05)
LEGENDRE_THREAD_GAIN = 0.39
#: fresh interpreter importing what ``gpuqd run`` imports (s)
STARTUP_IMPORTS = {"s": 1.1}
#: the rest of the start-up: validation, run directory, lock, metadata and results files (s)
STARTUP_REST_S = 0.5
#: figures (s): importing matplotlib and a first figure (``fixed``), and drawing and saving (PNG, PDF,
#: caption) each output's figures, measured on the development VM (2026-12-05, quiet; median of 3 draws of
#: quickstart, fmr, switching_times at 25 per point, write_error, write_error_map and quickstart with
#: outputs [fokker_planck]); an output not listed costs ``other``
FIGURES = {
    "fixed": 0.41,
    "torque_maps": 1.25,
    "switching_diagram": 0.52,
    "readout": 0.83,
    "fokker_planck": 0.98,
    "fmr": 3.1,
    "switching_times": 1.5,
    "write_error": 0.33,
    "other": 1.0,
}

#: predicted wall seconds of each measurement (by the first part of its name) on the development VM:
#: a measurement starts only if this, scaled by the machine's speed, fits the budget that is left
PREDICTED_MEASURE_S = {
    "transport": 1.3,
    "engine": 0.9,
    "fmr": 0.4,
    "startup": 1.2,
    "fokker_planck": 1.4,
    "legendre": 0.5,
}

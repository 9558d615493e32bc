"""Wall time of drawing each kind of figure on this machine (the "figures" calibration of the run estimates).

Run as ``python -m gpuqd.plots.timing OUTPUT [OUTPUT ...]`` by :func:`gpuqd.run.calibration.figure_costs`,
in a fresh interpreter so that the one-off costs a run pays are measured too. It computes a small run
(a 5×5 grid, order 1, a few short trajectories; no figures, no estimate) with the requested outputs in a
temporary directory, then times, in this order: importing the plot modules and matplotlib, reading the
results and drawing and saving one small figure (PNG and PDF: fonts, backends; ``fixed``), and each
requested output's ``draw`` (``per_output``).
Prints one JSON object on stdout: ``{"fixed": s, "per_output": {output: s}, "setup": s}``.

The maps are rasterised (:func:`gpuqd.plots.common.mesh`), so a figure's cost hardly depends on the
grid size; the 5×5 grid is enough.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

#: the small run the figures are drawn from (every section any output needs; sections of outputs not
#: requested are dropped before validation)
CALIBRATION_RUN = {
    "name": "figure_timing",
    "seed": 1,
    "backend": "numpy",
    "transport": {
        "U": 100.0,
        "T": 10.0,
        "gamma_S": 0.6666667,
        "gamma_D": 1.3333333,
        "p_S": 0.9,
        "p_D": 0.9,
        "order": 1,
        "n_theta": 16,
    },
    "grid": {
        "unit": "U",
        "eps_tilde": {"start": -0.4, "stop": 0.4, "num": 5},
        "V": {"start": -0.4, "stop": 0.4, "num": 5},
    },
    "magnet": {"S": 1.0, "KV": 0.05, "alpha": 0.1, "sigma2": 1.0e-3},
    "dynamics": {"dt": 0.05, "t_end": 40.0, "average_from": 20.0, "trajectories_per_point": 1, "chunk_steps": 400},
    "statistics": {
        "protocol": "P_to_AP",
        "trajectories_per_point": 4,
        "t_end": 40.0,
        "chunk_steps": 400,
        "survival_eps_tilde": 0.2,
        "survival_V": [0.2],
    },
    "fmr": {
        "spectra_eps_tilde": [0.2],
        "spectra_V": [0.2],
        "n_omega": 51,
        "simulate": True,
        "simulate_omegas": 2,
        "periods": 2,
        "steps_per_period": 64,
        "settle_decays": 1,
    },
    "figures": {"inset_eps_tilde": 0.2, "inset_V": [0.2], "torque_inset_eps_tilde": 0.2, "torque_inset_V": 0.2},
}
_SECTION_OF = {"switching_times": "statistics", "fmr": "fmr"}
_DYNAMICS_OUTPUTS = ("switching_diagram", "readout", "switching_times", "fokker_planck")


def calibration_config(outputs: list[str]) -> dict:
    """:data:`CALIBRATION_RUN` with ``outputs`` and only the sections they need."""
    raw = json.loads(json.dumps(CALIBRATION_RUN))
    for output, section in _SECTION_OF.items():
        if output not in outputs:
            raw.pop(section)
    if not set(outputs) & set(_DYNAMICS_OUTPUTS):
        raw.pop("dynamics")
    raw["outputs"] = list(outputs)
    return raw


def measure(outputs: list[str]) -> dict:
    """Seconds: ``fixed`` (what drawing the first figure of a run costs besides the figure: importing the
    plot modules and matplotlib, reading the results, fonts and backends of a first small figure),
    ``per_output`` (draw of each output), ``setup`` (the small run, not a figure cost)."""
    from gpuqd.run.config.validate import validate_config
    from gpuqd.run.execute.progress import Reporter
    from gpuqd.run.pipeline import run_pipeline
    from gpuqd.run.store.results import load_run

    with tempfile.TemporaryDirectory(prefix="gpuqd-figure-timing-") as tmp:
        t0 = time.perf_counter()
        cfg = validate_config(calibration_config(outputs), runs_dir=tmp, check_output=False)
        run_dir = run_pipeline(cfg, reporter=Reporter(), make_figures=False, estimate=False)
        setup = time.perf_counter() - t0
        t0 = time.perf_counter()
        from gpuqd.plots import plot_modules
        from gpuqd.plots.common import pyplot

        results = load_run(run_dir)
        modules = plot_modules()
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.plot([0, 1], [0, 1], label="θ")
        ax.set_title("ε̃/U")
        ax.legend()
        for suffix in ("png", "pdf"):
            fig.savefig(Path(tmp) / f"warm_up.{suffix}", dpi=200)
        plt.close(fig)
        fixed = time.perf_counter() - t0
        per_output = {}
        for module in modules:
            if module.OUTPUT in outputs:
                t0 = time.perf_counter()
                module.draw(results, Path(tmp) / "figures")
                per_output[module.OUTPUT] = time.perf_counter() - t0
    return {"fixed": fixed, "per_output": per_output, "setup": setup}


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1:])))

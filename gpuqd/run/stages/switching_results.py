"""The result arrays of stage ``switching_times``: their declaration (:data:`VARIABLES`: dims, units,
description) and their computation from a finished adaptive run (:func:`result_arrays`).

Units: times 1/Γ, rates Γ; grid and survival points in units of U.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from gpuqd.observables import switching_stats as ss
from gpuqd.observables.adaptive_switching import AdaptiveSwitchingRun
from gpuqd.run.config.typed import RunConfig
from gpuqd.run.store.results import point_coordinate_variables, point_coordinates

__all__ = ["HISTOGRAM_BINS", "QUANTILE_LEVELS", "SURVIVAL_TIME_POINTS", "VARIABLES", "result_arrays", "survival_points"]

#: quantile levels reported besides the median
QUANTILE_LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9)
#: points of the stored survival curves on [0, t_end]
SURVIVAL_TIME_POINTS = 401
#: bins of the stored first-passage histograms on [0, t_end]
HISTOGRAM_BINS = 40

_G3 = ["protocol", "eps_tilde", "V"]
VARIABLES = MappingProxyType(
    {
        "switching_protocols": {
            "dims": ["protocol"],
            "units": "",
            "description": "protocols: P_to_AP (start θ = 0) and/or AP_to_P (start θ = π)",
            "coordinate": "dimension",
        },
        "switching_t_end": {
            "dims": [],
            "units": "1/Gamma",
            "description": "observation window: first passages after t_end are right-censored",
        },
        "switching_first_passage_time": {
            "dims": _G3 + ["trajectory"],
            "units": "1/Gamma",
            "description": "first time n·e_z crosses the opposite threshold (−u_s for P→AP, +u_s for AP→P); "
            "inf: censored at t_end; NaN: padding (fewer trajectories at this point)",
        },
        "switching_n_trajectories": {"dims": _G3, "units": "1", "description": "trajectories run per point"},
        "switching_n_switched": {"dims": _G3, "units": "1", "description": "trajectories that switched by t_end"},
        "switching_mean_time": {
            "dims": _G3,
            "units": "1/Gamma",
            "description": "mean first-passage time where the switched fraction ≥ min_switched_fraction, else the "
            "restricted mean ∫_0^t_end S(t) dt (see switching_mean_time_is_restricted)",
        },
        "switching_mean_time_se": {
            "dims": _G3,
            "units": "1/Gamma",
            "description": "standard error of switching_mean_time",
        },
        "switching_mean_time_is_restricted": {
            "dims": _G3,
            "units": "bool",
            "description": "True where switching_mean_time is the restricted mean (a lower bound of the true mean)",
        },
        "switching_log10_mean_time": {
            "dims": _G3,
            "units": "log10(1/Gamma)",
            "description": "log10 of switching_mean_time",
        },
        "switching_median": {
            "dims": _G3,
            "units": "1/Gamma",
            "description": "Kaplan–Meier median first-passage time (NaN: not reached by t_end)",
        },
        "switching_median_ci_low": {
            "dims": _G3,
            "units": "1/Gamma",
            "description": "lower confidence limit of the median (NaN: beyond t_end)",
        },
        "switching_median_ci_high": {
            "dims": _G3,
            "units": "1/Gamma",
            "description": "upper confidence limit of the median (inf: no upper limit)",
        },
        "switching_quantile_levels": {
            "dims": ["quantile"],
            "units": "1",
            "description": "levels p of switching_quantile (P(T ≤ t_p) = p)",
            "coordinate": "dimension",
        },
        "switching_quantile": {
            "dims": _G3 + ["quantile"],
            "units": "1/Gamma",
            "description": "Kaplan–Meier quantiles t_p of the first-passage time",
        },
        "switching_quantile_ci_low": {
            "dims": _G3 + ["quantile"],
            "units": "1/Gamma",
            "description": "lower confidence limit of t_p (band inversion)",
        },
        "switching_quantile_ci_high": {
            "dims": _G3 + ["quantile"],
            "units": "1/Gamma",
            "description": "upper confidence limit of t_p (inf: none)",
        },
        "switching_rate": {
            "dims": _G3,
            "units": "Gamma",
            "description": "memoryless rate MLE k = switches / total time at risk",
        },
        "switching_rate_ci_low": {
            "dims": _G3,
            "units": "Gamma",
            "description": "exact (Garwood χ²) lower confidence limit of the rate",
        },
        "switching_rate_ci_high": {
            "dims": _G3,
            "units": "Gamma",
            "description": "exact (Garwood χ²) upper confidence limit of the rate",
        },
        "switching_cv": {
            "dims": _G3,
            "units": "1",
            "description": "coefficient of variation of the switched first-passage times",
        },
        "switching_cv_memoryless": {
            "dims": _G3,
            "units": "1",
            "description": "CV exponential times truncated at t_end would show at the "
            "fitted rate (reference for the regime label)",
        },
        "switching_regime": {
            "dims": _G3,
            "units": "code",
            "description": "regime label, index into switching_regime_names "
            "(thermal: CV ≈ memoryless; deterministic: CV < 0.3)",
        },
        "switching_regime_names": {
            "dims": ["regime"],
            "units": "",
            "description": "names of the regime codes",
            "coordinate": "dimension",
        },
        "switching_probability_by_t_end": {
            "dims": _G3,
            "units": "1",
            "description": "P(switched by t_end) = 1 − S(t_end) (Kaplan–Meier)",
        },
        "switching_probability_by_t_end_ci_low": {
            "dims": _G3,
            "units": "1",
            "description": "lower confidence limit of P(switched by t_end)",
        },
        "switching_probability_by_t_end_ci_high": {
            "dims": _G3,
            "units": "1",
            "description": "upper confidence limit of P(switched by t_end)",
        },
        "switching_probability_times": {
            "dims": ["time"],
            "units": "1/Gamma",
            "description": "times of switching_probability",
            "coordinate": "dimension",
        },
        "switching_probability": {
            "dims": _G3 + ["time"],
            "units": "1",
            "description": "P(switched by t) at switching_probability_times",
        },
        "switching_probability_ci_low": {
            "dims": _G3 + ["time"],
            "units": "1",
            "description": "lower confidence limit of switching_probability",
        },
        "switching_probability_ci_high": {
            "dims": _G3 + ["time"],
            "units": "1",
            "description": "upper confidence limit of switching_probability",
        },
        "switching_relative_ci_width": {
            "dims": _G3,
            "units": "1",
            "description": "relative CI width of the adaptive target quantity "
            "(mean time: 2z·SE/mean; rate: (high − low)/rate)",
        },
        "switching_round_trajectories": {
            "dims": ["round"] + _G3,
            "units": "1",
            "description": "trajectories added per adaptive round (round 0: initial)",
        },
        "switching_trajectory_steps": {
            "dims": [],
            "units": "1",
            "description": "trajectory-steps integrated (with compaction, if on)",
        },
        "switching_trajectory_steps_uncompacted": {
            "dims": [],
            "units": "1",
            "description": "trajectory-steps the same rounds would need without compaction (each round run "
            "until all its trajectories switched or t_end)",
        },
        "switching_survival_time": {
            "dims": ["survival_time"],
            "units": "1/Gamma",
            "description": "time axis of the stored survival curves",
            "coordinate": "dimension",
        },
        "switching_survival": {
            "dims": ["protocol", "survival_point", "survival_time"],
            "units": "1",
            "description": "Kaplan–Meier survival S(t) = P(not switched by t) at the survival points",
        },
        "switching_survival_ci_low": {
            "dims": ["protocol", "survival_point", "survival_time"],
            "units": "1",
            "description": "pointwise log(−log) Greenwood band, lower",
        },
        "switching_survival_ci_high": {
            "dims": ["protocol", "survival_point", "survival_time"],
            "units": "1",
            "description": "pointwise log(−log) Greenwood band, upper",
        },
        "switching_survival_point_over_U": {
            "dims": ["survival_point", "xy"],
            "units": "U",
            "description": "(ε̃, V) grid points of the survival curves (nearest "
            "to the requested statistics.survival_* values)",
        },
        **point_coordinate_variables("switching_survival", "survival_point", "survival points"),
        "switching_survival_requested_over_U": {
            "dims": ["survival_point", "xy"],
            "units": "U",
            "description": "requested survival points",
        },
        "switching_histogram_edges": {
            "dims": ["bin_edge"],
            "units": "1/Gamma",
            "description": "bin edges of switching_histogram_counts on [0, t_end]",
            "coordinate": "dimension",
        },
        "switching_histogram_counts": {
            "dims": ["protocol", "survival_point", "bin"],
            "units": "1",
            "description": "histogram of the switched first-passage times",
        },
        "switching_histogram_censored": {
            "dims": ["protocol", "survival_point"],
            "units": "1",
            "description": "trajectories censored at t_end (not in the histogram)",
        },
    }
)


def survival_points(cfg: RunConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat grid indices nearest to the requested survival points, and (requested, used) over U."""
    return cfg.grid.nearest_points(cfg.statistics.survival_eps_tilde, cfg.statistics.survival_V)


def result_arrays(run: AdaptiveSwitchingRun, cfg: RunConfig) -> dict[str, np.ndarray]:
    """The switching_* result arrays (see :data:`VARIABLES`)."""
    n_eps, n_V = cfg.grid.shape
    n_prot = len(run.protocols)
    shape = (n_prot, n_eps, n_V)
    t_end = run.t_end
    prob_times = np.asarray(cfg.statistics.probability_fractions, dtype=float) * t_end
    summary = run.summary(prob_times)

    def per(a: np.ndarray) -> np.ndarray:
        return np.asarray(a).reshape(shape + np.shape(a)[1:])

    fpt = np.where(run.done_step >= 0, run.done_step * run.dt, np.inf)
    obs = ss.observations(fpt, t_end, run.done_group, run.n_groups)
    km = ss.kaplan_meier(obs)
    quantiles = [ss.quantile(km, p, run.confidence) for p in QUANTILE_LEVELS]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_mean = np.log10(summary["mean_time"])
    out: dict[str, np.ndarray] = {
        "switching_protocols": np.array(run.protocols),
        "switching_t_end": np.array(t_end),
        "switching_first_passage_time": run.first_passage_matrix().reshape(shape + (-1,)),
        "switching_n_trajectories": per(summary["n"]),
        "switching_n_switched": per(summary["n_switched"]),
        "switching_mean_time": per(summary["mean_time"]),
        "switching_mean_time_se": per(summary["mean_time_se"]),
        "switching_mean_time_is_restricted": per(summary["mean_time_is_restricted"]),
        "switching_log10_mean_time": per(log_mean),
        "switching_median": per(summary["median"]),
        "switching_median_ci_low": per(summary["median_ci_low"]),
        "switching_median_ci_high": per(summary["median_ci_high"]),
        "switching_quantile_levels": np.array(QUANTILE_LEVELS),
        "switching_quantile": per(np.stack([q[0] for q in quantiles], axis=-1)),
        "switching_quantile_ci_low": per(np.stack([q[1] for q in quantiles], axis=-1)),
        "switching_quantile_ci_high": per(np.stack([q[2] for q in quantiles], axis=-1)),
        "switching_rate": per(summary["rate"]),
        "switching_rate_ci_low": per(summary["rate_ci_low"]),
        "switching_rate_ci_high": per(summary["rate_ci_high"]),
        "switching_cv": per(summary["cv"]),
        "switching_cv_memoryless": per(summary["cv_memoryless"]),
        "switching_regime": per(summary["regime"]),
        "switching_regime_names": np.array(ss.REGIME_NAMES),
        "switching_probability_by_t_end": per(summary["p_switch_by_t_end"]),
        "switching_probability_by_t_end_ci_low": per(summary["p_switch_by_t_end_ci_low"]),
        "switching_probability_by_t_end_ci_high": per(summary["p_switch_by_t_end_ci_high"]),
        "switching_probability_times": prob_times,
        "switching_probability": per(summary["p_switch"]),
        "switching_probability_ci_low": per(summary["p_switch_ci_low"]),
        "switching_probability_ci_high": per(summary["p_switch_ci_high"]),
        "switching_relative_ci_width": per(run.relative_width(summary)),
        "switching_round_trajectories": np.array(run.round_added, dtype=np.int64).reshape((-1,) + shape),
        "switching_trajectory_steps": np.array(run.trajectory_steps, dtype=np.int64),
        "switching_trajectory_steps_uncompacted": np.array(run.trajectory_steps_uncompacted, dtype=np.int64),
    }
    # survival curves and histograms at the chosen points
    idx, req, used = survival_points(cfg)
    t_grid = np.linspace(0.0, t_end, SURVIVAL_TIME_POINTS)
    curve = km.evaluate(t_grid, run.confidence)
    groups = np.arange(n_prot)[:, None] * run.n_points + idx[None, :]  # (protocol, survival_point)
    edges = np.linspace(0.0, t_end, HISTOGRAM_BINS + 1)
    counts = np.zeros(groups.shape + (HISTOGRAM_BINS,), dtype=np.int64)
    censored = np.zeros(groups.shape, dtype=np.int64)
    for q in range(n_prot):
        for s in range(idx.size):
            times = fpt[run.done_group == groups[q, s]]
            counts[q, s] = np.histogram(times[np.isfinite(times)], bins=edges)[0]
            censored[q, s] = int(np.isinf(times).sum())
    out.update(
        {
            "switching_survival_time": t_grid,
            "switching_survival": curve["survival"][groups],
            "switching_survival_ci_low": curve["low"][groups],
            "switching_survival_ci_high": curve["high"][groups],
            "switching_survival_point_over_U": used,
            **point_coordinates("switching_survival", used),
            "switching_survival_requested_over_U": req,
            "switching_histogram_edges": edges,
            "switching_histogram_counts": counts,
            "switching_histogram_censored": censored,
        }
    )
    return out

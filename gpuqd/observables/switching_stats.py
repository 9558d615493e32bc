"""Switching-time estimators with right censoring: mean time, rate, CV and regime, summaries and the
adaptive-sampling rule (docs/physics.md §10). Survival curves, bands and quantiles: :mod:`gpuqd.observables.survival`
(re-exported here).

Input convention: ``first_passage_time`` holds one time per trajectory (units 1/Γ); ``np.inf`` (or any
value > ``t_end``) means "not switched by t_end", i.e. right-censored at t_end. ``t_end`` is a scalar
or broadcasts against the times (per-trajectory observation windows). Trajectories are grouped per
grid point either by a ``group`` index array (1-D times) or by the shape: an array of shape
(..., n_per_point) is split into prod(shape[:-1]) groups in C order (reshape the outputs back to
the map with ``.reshape(shape[:-1])``). All outputs are per-group arrays of length ``n_groups``.

Estimators (standard survival analysis; e.g. Klein & Moeschberger, *Survival Analysis*, 2nd ed.,
ch. 4; Kalbfleisch & Prentice, *The Statistical Analysis of Failure Time Data*):

* Memoryless rate k̂ = d / (total time at risk) with the exact Poisson (Garwood) interval
  [χ²_{a/2}(2d)/2, χ²_{1−a/2}(2d + 2)/2] / (time at risk), a = 1 − confidence; lower limit 0 for d = 0.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from gpuqd.observables.survival import (
    KaplanMeier,
    Observations,
    as_observations,
    kaplan_meier,
    loglog_band,
    median,
    observations,
    quantile,
    restricted_mean,
)

__all__ = [
    "REGIME_NAMES",
    "REGIME_NONE",
    "REGIME_THERMAL",
    "REGIME_DETERMINISTIC",
    "REGIME_MIXED",
    "REGIME_UNDETERMINED",
    "DETERMINISTIC_CV_MAX",
    "THERMAL_CV_RATIO_RANGE",
    "MIN_SWITCHES_FOR_REGIME",
    "DEFAULT_MIN_SWITCHED_FRACTION",
    "mean_first_passage_time",
    "rate_mle",
    "poisson_rate_interval",
    "memoryless_cv_under_truncation",
    "coefficient_of_variation",
    "classify_regime",
    "switching_probability",
    "summarize",
    "relative_ci_width",
    "needs_more",
    "additional_trajectories",
    "KaplanMeier",
    "Observations",
    "as_observations",
    "kaplan_meier",
    "loglog_band",
    "median",
    "observations",
    "quantile",
    "restricted_mean",
]

# Regime labels (integer codes index REGIME_NAMES).
REGIME_NAMES: tuple[str, ...] = ("none", "thermal", "deterministic", "mixed", "undetermined")
REGIME_NONE, REGIME_THERMAL, REGIME_DETERMINISTIC, REGIME_MIXED, REGIME_UNDETERMINED = range(5)
# CV of the switched times below this: "deterministic" (a gamma law of shape k has CV = 1/√k, so
# 0.3 ⇔ shape ≳ 11; memoryless switching never gives CV < 1/√3 even under heavy censoring).
DETERMINISTIC_CV_MAX = 0.3
# "thermal" when CV / CV_memoryless lies in this range, CV_memoryless being the CV that exponential
# times truncated at the horizon would show at the fitted rate (1 without censoring, → 1/√3 as the
# switched fraction → 0). The range is ≈ ±3 standard errors of the CV for ~100 switches.
THERMAL_CV_RATIO_RANGE = (0.7, 1.3)
# Fewer switches than this: regime "undetermined" (the CV is too noisy to classify).
MIN_SWITCHES_FOR_REGIME = 5
# Default: the mean first-passage time is reported (not the restricted mean) only if all switched.
DEFAULT_MIN_SWITCHED_FRACTION = 1.0


def mean_first_passage_time(
    first_passage_time: ArrayLike | Observations,
    t_end: ArrayLike | None = None,
    group: ArrayLike | None = None,
    n_groups: int | None = None,
    *,
    min_switched_fraction: float = DEFAULT_MIN_SWITCHED_FRACTION,
    km: KaplanMeier | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean first-passage time (1/Γ), its standard error and an ``is_restricted`` flag per group.

    * All switched: sample mean, SE = sample std (ddof=1)/√n; not restricted.
    * Switched fraction ≥ ``min_switched_fraction`` (< 1 to accept "nearly all"): the KM mean up to
      the horizon with its Greenwood-type SE, reported as the mean (not restricted); it is biased low
      by P(T > t_end)·E[T − t_end | T > t_end].
    * Otherwise: the restricted mean ∫_0^{t_end} S dt with its SE, ``is_restricted`` = True.
    Empty groups give NaN.
    """
    obs = as_observations(first_passage_time, t_end, group, n_groups)
    km = kaplan_meier(obs) if km is None else km
    rmst, rmst_var = restricted_mean(km)
    n, d = obs.n, obs.n_switched
    with np.errstate(divide="ignore", invalid="ignore"):
        sample_mean = np.bincount(obs.group, weights=obs.time, minlength=obs.n_groups) / n
        deviation = obs.time - sample_mean[obs.group]
        sample_var = np.bincount(obs.group, weights=deviation**2, minlength=obs.n_groups) / (n - 1)
        sample_se = np.sqrt(sample_var / n)
        fraction = d / n
    all_switched = (d == n) & (n > 0)
    mean = np.where(all_switched, sample_mean, rmst)
    se = np.where(all_switched, sample_se, np.sqrt(rmst_var))
    is_restricted = ~all_switched & ~(fraction >= min_switched_fraction)
    empty = n == 0
    return np.where(empty, np.nan, mean), np.where(empty | (n < 2), np.nan, se), is_restricted & ~empty


def rate_mle(
    first_passage_time: ArrayLike | Observations,
    t_end: ArrayLike | None = None,
    group: ArrayLike | None = None,
    n_groups: int | None = None,
    *,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Memoryless switching rate k̂ = d/Σ min(T, t_end) (Γ) with the exact Garwood interval.

    Returns (rate, low, high); low = 0 where d = 0 (upper limit only). NaN for empty groups.
    """
    obs = as_observations(first_passage_time, t_end, group, n_groups)
    return poisson_rate_interval(obs.n_switched, obs.time_at_risk, confidence)


def poisson_rate_interval(
    events: ArrayLike, exposure: ArrayLike, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rate d/exposure with the two-sided exact (Garwood) χ² interval at the given confidence."""
    d = np.asarray(events, dtype=float)
    exposure = np.asarray(exposure, dtype=float)
    tail = 0.5 * (1.0 - confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(d > 0, 0.5 * stats.chi2.ppf(tail, 2.0 * np.maximum(d, 1.0)), 0.0) / exposure
        high = 0.5 * stats.chi2.ppf(1.0 - tail, 2.0 * d + 2.0) / exposure
        rate = d / exposure
    bad = ~(exposure > 0)
    return tuple(np.where(bad, np.nan, x) for x in (rate, low, high))  # type: ignore[return-value]


def memoryless_cv_under_truncation(rate_times_horizon: ArrayLike) -> np.ndarray:
    """CV of exponential times conditioned on T ≤ τ, as a function of x = k τ (dimensionless).

    With E[T^j | T ≤ τ] from the truncated law, CV → 1 for x → ∞ and → 1/√3 (uniform) for x → 0.
    """
    x = np.asarray(rate_times_horizon, dtype=float)
    small = x < 1e-4  # NaN compares False and propagates below
    xs = np.where(small | ~np.isfinite(x), 1.0, x)
    em = np.exp(-xs)
    norm = -np.expm1(-xs)
    m1 = (norm - xs * em) / norm  # in units of 1/k
    m2 = (2.0 * norm - (xs**2 + 2.0 * xs) * em) / norm
    cv = np.sqrt(np.maximum(m2 - m1**2, 0.0)) / m1
    cv = np.where(small, 1.0 / np.sqrt(3.0), cv)
    return np.where(np.isnan(x), np.nan, np.where(np.isinf(x), 1.0, cv))


def coefficient_of_variation(obs: Observations) -> np.ndarray:
    """CV = std (ddof=1)/mean of the switched times per group (NaN with fewer than 2 switches).

    Censoring truncates the observed distribution, which lowers the CV (see
    :func:`memoryless_cv_under_truncation` for the memoryless reference).
    """
    d = obs.n_switched.astype(float)
    w = obs.switched.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.bincount(obs.group, weights=w * obs.time, minlength=obs.n_groups) / d
        dev2 = w * (obs.time - np.nan_to_num(mean[obs.group])) ** 2
        var = np.bincount(obs.group, weights=dev2, minlength=obs.n_groups) / (d - 1)
        cv = np.sqrt(var) / mean
    return np.where(d >= 2, cv, np.nan)


def classify_regime(
    cv: ArrayLike, cv_memoryless: ArrayLike, n_switched: ArrayLike, n: ArrayLike | None = None
) -> np.ndarray:
    """Integer regime codes (REGIME_NAMES) from the CV, the memoryless reference CV and d.

    none: d = 0 (and n > 0 when n is given); undetermined: n = 0 or 0 < d < MIN_SWITCHES_FOR_REGIME;
    deterministic: CV < DETERMINISTIC_CV_MAX; thermal: CV/CV_memoryless within THERMAL_CV_RATIO_RANGE;
    mixed otherwise (e.g. a delay plus activated escape, or a broad/bimodal law).
    """
    cv = np.asarray(cv, dtype=float)
    d = np.asarray(n_switched)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = cv / np.asarray(cv_memoryless, dtype=float)
    lo, hi = THERMAL_CV_RATIO_RANGE
    code = np.full(np.broadcast(cv, d).shape, REGIME_MIXED, dtype=np.int8)
    code[(ratio >= lo) & (ratio <= hi)] = REGIME_THERMAL
    code[cv < DETERMINISTIC_CV_MAX] = REGIME_DETERMINISTIC
    code[d < MIN_SWITCHES_FOR_REGIME] = REGIME_UNDETERMINED
    code[d == 0] = REGIME_NONE
    if n is not None:
        code[np.asarray(n) == 0] = REGIME_UNDETERMINED
    return code


def switching_probability(
    km: KaplanMeier, times: ArrayLike, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P(switched by t) = 1 − S(t) with the complementary log(−log) band; shapes (n_groups, m)."""
    values = km.evaluate(times, confidence)
    return 1.0 - values["survival"], 1.0 - values["high"], 1.0 - values["low"]


def summarize(
    first_passage_time: ArrayLike,
    t_end: ArrayLike,
    group: ArrayLike | None = None,
    times: ArrayLike = (),
    confidence: float = 0.95,
    *,
    n_groups: int | None = None,
    min_switched_fraction: float = DEFAULT_MIN_SWITCHED_FRACTION,
) -> dict[str, np.ndarray]:
    """Per-group switching statistics (all arrays of length n_groups unless noted).

    Keys: n, n_switched, mean_time, mean_time_se, mean_time_is_restricted (see
    :func:`mean_first_passage_time`), median, median_ci_low, median_ci_high, rate, rate_ci_low,
    rate_ci_high (Γ), time_at_risk, cv, cv_memoryless, regime (int8 codes), regime_names,
    p_switch_by_t_end, p_switch_by_t_end_ci_low/high, horizon, and for the given ``times``:
    times (m,), p_switch, p_switch_ci_low, p_switch_ci_high (n_groups, m). Times in 1/Γ.
    """
    obs = observations(first_passage_time, t_end, group, n_groups)
    km = kaplan_meier(obs)
    mean, mean_se, restricted = mean_first_passage_time(obs, min_switched_fraction=min_switched_fraction, km=km)
    med, med_low, med_high = median(km, confidence)
    rate, rate_low, rate_high = poisson_rate_interval(obs.n_switched, obs.time_at_risk, confidence)
    cv = coefficient_of_variation(obs)
    cv_ref = memoryless_cv_under_truncation(rate * obs.horizon)
    at_end = km.evaluate_at_horizon(confidence)
    time_grid = np.asarray(times, dtype=float)
    p, p_low, p_high = switching_probability(km, time_grid, confidence)
    return {
        "n": obs.n,
        "n_switched": obs.n_switched,
        "mean_time": mean,
        "mean_time_se": mean_se,
        "mean_time_is_restricted": restricted,
        "median": med,
        "median_ci_low": med_low,
        "median_ci_high": med_high,
        "rate": rate,
        "rate_ci_low": rate_low,
        "rate_ci_high": rate_high,
        "time_at_risk": obs.time_at_risk,
        "cv": cv,
        "cv_memoryless": cv_ref,
        "regime": classify_regime(cv, cv_ref, obs.n_switched, obs.n),
        "regime_names": np.array(REGIME_NAMES),
        "p_switch_by_t_end": 1.0 - at_end["survival"],
        "p_switch_by_t_end_ci_low": 1.0 - at_end["high"],
        "p_switch_by_t_end_ci_high": 1.0 - at_end["low"],
        "horizon": obs.horizon,
        "times": time_grid,
        "p_switch": p,
        "p_switch_ci_low": p_low,
        "p_switch_ci_high": p_high,
    }


def relative_ci_width(
    summary: Mapping[str, np.ndarray], quantity: str = "mean_time", confidence: float = 0.95
) -> np.ndarray:
    """Relative width of the confidence interval of ``mean_time`` (2 z SE/mean) or ``rate``.

    Rate: (high − low)/k̂ (inf where nothing switched). NaN where undefined (empty groups).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        if quantity == "mean_time":
            z = stats.norm.ppf(0.5 + 0.5 * confidence)
            return 2.0 * z * np.asarray(summary["mean_time_se"]) / np.abs(summary["mean_time"])
        if quantity == "rate":
            width = np.asarray(summary["rate_ci_high"]) - np.asarray(summary["rate_ci_low"])
            rate = np.asarray(summary["rate"])
            return np.where(rate > 0, width / np.where(rate > 0, rate, 1.0), np.where(np.isnan(rate), np.nan, np.inf))
    raise ValueError("quantity must be 'mean_time' or 'rate'")


def needs_more(relative_width: ArrayLike, n: ArrayLike, *, target: float, n_max: int) -> np.ndarray:
    """True where the target relative CI width is not met (NaN/inf count as not met) and n < n_max."""
    width = np.asarray(relative_width, dtype=float)
    met = width <= target  # False for NaN
    return ~met & (np.asarray(n) < n_max)


def additional_trajectories(
    relative_width: ArrayLike, n: ArrayLike, *, target: float, n_max: int, min_batch: int = 1
) -> np.ndarray:
    """Suggested extra trajectories per point to reach ``target`` (width ∝ 1/√n), capped at n_max − n.

    0 where :func:`needs_more` is False; where the width is NaN/inf (e.g. no switches yet) the
    ensemble is doubled (at least ``min_batch``).
    """
    width = np.asarray(relative_width, dtype=float)
    n = np.asarray(n, dtype=np.int64)
    with np.errstate(invalid="ignore", over="ignore"):
        wanted = np.ceil(n * (width / target) ** 2) - n
    wanted = np.where(np.isfinite(wanted), wanted, np.maximum(n, min_batch))
    wanted = np.maximum(wanted, min_batch)
    extra = np.minimum(wanted, n_max - n).astype(np.int64)
    return np.where(needs_more(width, n, target=target, n_max=n_max), np.maximum(extra, 0), 0)

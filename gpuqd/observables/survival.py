"""Survival analysis of right-censored first-passage times: Kaplan–Meier, bands, restricted mean,
quantiles (docs/physics.md §10). No files, no configuration.

Input convention: ``first_passage_time`` holds one time per trajectory (units 1/Γ); ``np.inf`` (or any
value > ``t_end``) means "not switched by t_end", i.e. right-censored at t_end. ``t_end`` is a scalar
or broadcasts against the times (per-trajectory observation windows). Trajectories are grouped per
grid point either by a ``group`` index array (1-D times) or by the shape: an array of shape
(..., n_per_point) is split into prod(shape[:-1]) groups in C order. All outputs are per-group
arrays of length ``n_groups``.

Estimators (standard survival analysis; e.g. Klein & Moeschberger, *Survival Analysis*, 2nd ed.,
ch. 4; Kalbfleisch & Prentice, *The Statistical Analysis of Failure Time Data*):

* Kaplan–Meier S(t) = Π_{t_i ≤ t} (1 − d_i/n_i) (d_i switches at t_i, n_i at risk just before t_i;
  trajectories censored at t_i count as at risk at t_i), Greenwood variance
  Var S(t) = S(t)² Σ_{t_i ≤ t} d_i/(n_i(n_i − d_i)).
* Pointwise band by the log(−log) transform (Kalbfleisch–Prentice): with
  σ(t)² = Σ d_i/(n_i(n_i − d_i)) / (log S(t))², the band is [S^{exp(+zσ)}, S^{exp(−zσ)}], which
  always lies in [0, 1]. Where S = 1 (no switch up to t > 0) Greenwood gives no width; the band
  is then [(a/2)^{1/m}, 1], the exact binomial (Clopper–Pearson) interval for zero events,
  a = 1 − confidence, m = the number at risk at the group's first switch (if none switched: the
  number observed up to the horizon); m ≤ the number at risk at t, hence conservative.
  Symmetrically, where S = 0 (every trajectory still at risk has switched) it is
  [0, 1 − (a/2)^{1/d}], d = the number of switches in the group (the trajectories
  of known state). S(t) is NaN for t > horizon (the largest t_end of the group).
* Restricted mean survival time RMST = ∫_0^τ S(t) dt, τ = horizon, with variance
  Σ_i [∫_{t_i}^τ S dt]² d_i/(n_i(n_i − d_i)). With censoring only at a common t_end it equals
  mean(min(T, t_end)).
* Quantile t_p = inf{t : S(t) ≤ 1 − p}; Brookmeyer–Crowley-type interval by inverting the band:
  [inf{t : lower band ≤ 1 − p}, inf{t : upper band ≤ 1 − p}] (Brookmeyer & Crowley, Biometrics
  38, 29 (1982), with the transformed band).

Comparisons of S with 1 − p use a relative tolerance of TIE_TOLERANCE (S is accumulated in floating point).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

__all__ = [
    "TIE_TOLERANCE",
    "Observations",
    "KaplanMeier",
    "observations",
    "as_observations",
    "loglog_band",
    "kaplan_meier",
    "restricted_mean",
    "quantile",
    "median",
]

#: relative tolerance of comparisons of S with 1 − p
TIE_TOLERANCE = 1e-12


@dataclass(frozen=True)
class Observations:
    """Flattened censored observations: time = min(T, t_end) in 1/Γ, switched = T ≤ t_end."""

    time: np.ndarray
    switched: np.ndarray
    group: np.ndarray
    n_groups: int
    horizon: np.ndarray  # (n_groups,) largest t_end per group (NaN for an empty group), 1/Γ

    @property
    def n(self) -> np.ndarray:
        """Trajectories per group."""
        return np.bincount(self.group, minlength=self.n_groups)

    @property
    def n_switched(self) -> np.ndarray:
        """Switched trajectories per group."""
        return np.bincount(self.group, weights=self.switched, minlength=self.n_groups).astype(np.int64)

    @property
    def time_at_risk(self) -> np.ndarray:
        """Σ min(T, t_end) per group, 1/Γ."""
        return np.bincount(self.group, weights=self.time, minlength=self.n_groups)


def observations(
    first_passage_time: ArrayLike,
    t_end: ArrayLike,
    group: ArrayLike | None = None,
    n_groups: int | None = None,
) -> Observations:
    """Validate and flatten first-passage times (see the module docstring for the layouts)."""
    fpt = np.asarray(first_passage_time, dtype=float)
    if np.isnan(fpt).any():
        raise ValueError("first_passage_time contains NaN (use np.inf for 'not switched')")
    if (fpt < 0).any():
        raise ValueError("first_passage_time must be non-negative")
    end = np.broadcast_to(np.asarray(t_end, dtype=float), fpt.shape)
    if not np.isfinite(end).all() or (end <= 0).any():
        raise ValueError("t_end must be finite and positive")
    if group is None:
        if fpt.ndim >= 2:
            n_rows = int(np.prod(fpt.shape[:-1]))
            grp = np.repeat(np.arange(n_rows), fpt.shape[-1])
            n_groups = n_rows if n_groups is None else n_groups
        else:
            grp = np.zeros(fpt.size, dtype=np.int64)
            n_groups = 1 if n_groups is None else n_groups
    else:
        grp = np.asarray(group)
        if fpt.ndim != 1 or grp.shape != fpt.shape:
            raise ValueError("with `group`, first_passage_time and group must be 1-D of equal length")
        if grp.size and (not np.issubdtype(grp.dtype, np.integer) or grp.min() < 0):
            raise ValueError("group must hold non-negative integers")
        needed = int(grp.max()) + 1 if grp.size else 0
        n_groups = needed if n_groups is None else n_groups
        if n_groups < needed:
            raise ValueError("n_groups is smaller than the largest group index + 1")
    fpt, end, grp = fpt.ravel(), end.ravel(), grp.ravel().astype(np.int64)
    switched = fpt <= end
    horizon = np.full(n_groups, -np.inf)
    np.maximum.at(horizon, grp, end)
    horizon[np.isneginf(horizon)] = np.nan
    return Observations(np.where(switched, fpt, end), switched, grp, int(n_groups), horizon)


@dataclass(frozen=True)
class KaplanMeier:
    """Kaplan–Meier tables of all groups, concatenated (entries = distinct switching times).

    Entries of group g are ``offsets[g]:offsets[g+1]``, sorted by time. ``survival`` is S just after
    ``time``; ``greenwood`` the cumulative Σ d/(n(n − d)) (terms with n = d, where S drops to 0,
    are left out; see the module docstring for the band there).
    """

    time: np.ndarray
    group: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    survival: np.ndarray
    greenwood: np.ndarray
    offsets: np.ndarray
    horizon: np.ndarray
    n_groups: int
    # (n_groups,) trajectories known unswitched throughout the stretch where S = 1: those at risk at the
    # first switch, or, if none switched, those observed up to the horizon (not censored earlier)
    n_to_horizon: np.ndarray

    def _last_entry(self, t: np.ndarray) -> np.ndarray:
        """Index of the last entry with time ≤ t per (group, t), −1 if none; shape (n_groups, m)."""
        order = np.argsort(t)
        t_sorted = t[order]
        first_query = np.searchsorted(t_sorted, self.time, side="left")  # queries with t ≥ entry time
        hist = np.zeros((self.n_groups, t.size + 1), dtype=np.int64)
        np.add.at(hist, (self.group, first_query), 1)
        count = np.cumsum(hist, axis=1)[:, : t.size]
        index = np.empty_like(count)
        index[:, order] = self.offsets[:-1, None] + count - 1
        count_unsorted = np.empty_like(count)
        count_unsorted[:, order] = count
        return np.where(count_unsorted > 0, index, -1)

    def evaluate(self, t: ArrayLike, confidence: float = 0.95) -> dict[str, np.ndarray]:
        """S(t), its Greenwood variance and the log(−log) band at times t (1/Γ); shapes (n_groups, m).

        Keys: survival, variance, low, high. NaN for t beyond the group's horizon.
        """
        t = np.atleast_1d(np.asarray(t, dtype=float))
        out = self._values(self._last_entry(t), t[None, :] > 0, confidence)
        beyond = t[None, :] > self.horizon[:, None] * (1 + TIE_TOLERANCE)
        beyond |= np.isnan(self.horizon)[:, None]
        return {key: np.where(beyond, np.nan, value) for key, value in out.items()}

    def evaluate_at_horizon(self, confidence: float = 0.95) -> dict[str, np.ndarray]:
        """As :meth:`evaluate` at each group's own horizon; shapes (n_groups,)."""
        nonempty = self.offsets[1:] > self.offsets[:-1]
        index = np.where(nonempty, self.offsets[1:] - 1, -1)
        out = self._values(index, np.ones(self.n_groups, dtype=bool), confidence)
        return {key: np.where(np.isnan(self.horizon), np.nan, value) for key, value in out.items()}

    def _values(self, index: np.ndarray, t_positive: np.ndarray, confidence: float) -> dict[str, np.ndarray]:
        """S, variance and band at entry ``index`` (−1: before the first switch); axis 0 = group."""
        has = index >= 0
        safe = np.where(has, index, 0)
        s = np.where(has, self.survival[safe], 1.0) if self.time.size else np.ones(index.shape)
        gw = np.where(has, self.greenwood[safe], 0.0) if self.time.size else np.zeros(index.shape)
        low, high = loglog_band(s, gw, confidence)
        m = self.n_to_horizon.reshape(-1, *([1] * (index.ndim - 1)))
        tail = 0.5 * (1.0 - confidence)
        no_switch_yet = (s == 1.0) & t_positive & (m > 0)
        low = np.where(no_switch_yet, tail ** (1.0 / np.maximum(m, 1)), low)
        d = np.bincount(self.group, weights=self.events, minlength=self.n_groups)
        d = d.reshape(m.shape)
        high = np.where((s == 0.0) & (d > 0), 1.0 - tail ** (1.0 / np.maximum(d, 1)), high)
        return {"survival": s, "variance": s**2 * gw, "low": low, "high": high}


def loglog_band(survival: ArrayLike, greenwood: ArrayLike, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise log(−log) confidence band [S^{exp(zσ)}, S^{exp(−zσ)}], σ = √greenwood / |log S|."""
    s = np.asarray(survival, dtype=float)
    z = stats.norm.ppf(0.5 + 0.5 * confidence)
    interior = (s > 0) & (s < 1)
    s_in = np.where(interior, s, 0.5)
    sigma = np.sqrt(np.asarray(greenwood, dtype=float)) / np.abs(np.log(s_in))
    low = np.where(interior, s_in ** np.exp(z * sigma), s)
    high = np.where(interior, s_in ** np.exp(-z * sigma), s)
    return low, high


def _segment_cumsum(values: np.ndarray, offsets: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each group's first entry."""
    total = np.cumsum(values)
    before = np.concatenate([[0.0], total])[offsets[:-1]]
    return total - before[group]


def kaplan_meier(
    first_passage_time: ArrayLike | Observations,
    t_end: ArrayLike | None = None,
    group: ArrayLike | None = None,
    n_groups: int | None = None,
) -> KaplanMeier:
    """Kaplan–Meier estimate with Greenwood terms for every group (vectorised over groups)."""
    obs = as_observations(first_passage_time, t_end, group, n_groups)
    order = np.lexsort((~obs.switched, obs.time, obs.group))  # by group, time, switched first
    g, t, e = obs.group[order], obs.time[order], obs.switched[order]
    ends = np.cumsum(np.bincount(obs.group, minlength=obs.n_groups))
    new_block = np.ones(g.size, dtype=bool)
    new_block[1:] = (g[1:] != g[:-1]) | (t[1:] != t[:-1])
    starts = np.flatnonzero(new_block)
    block = np.cumsum(new_block) - 1
    events = np.bincount(block, weights=e, minlength=starts.size).astype(np.int64)
    keep = events > 0
    starts, events = starts[keep], events[keep]
    group_of = g[starts]
    at_risk = ends[group_of] - starts
    offsets = np.concatenate([[0], np.cumsum(np.bincount(group_of, minlength=obs.n_groups))])
    remaining = at_risk - events
    wiped = remaining == 0  # S drops to 0 here; only the last entry of a group can be so
    log_factor = np.log(np.where(wiped, 1.0, remaining / np.where(at_risk > 0, at_risk, 1)))
    survival = np.exp(_segment_cumsum(log_factor, offsets, group_of))
    survival[wiped] = 0.0
    terms = np.where(wiped, 0.0, events / (at_risk * np.where(wiped, 1, remaining)))
    greenwood = np.maximum(_segment_cumsum(terms, offsets, group_of), 0.0)
    observed_to_horizon = np.bincount(
        obs.group, weights=obs.time >= obs.horizon[obs.group] * (1 - TIE_TOLERANCE), minlength=obs.n_groups
    ).astype(np.int64)
    has_switch = offsets[1:] > offsets[:-1]
    at_first_switch = at_risk[np.where(has_switch, offsets[:-1], 0)] if at_risk.size else observed_to_horizon
    return KaplanMeier(
        time=t[starts],
        group=group_of,
        at_risk=at_risk,
        events=events,
        survival=survival,
        greenwood=greenwood,
        offsets=offsets,
        horizon=obs.horizon,
        n_groups=obs.n_groups,
        n_to_horizon=np.where(has_switch, at_first_switch, observed_to_horizon).astype(np.int64),
    )


def as_observations(
    first_passage_time: ArrayLike | Observations,
    t_end: ArrayLike | None,
    group: ArrayLike | None,
    n_groups: int | None,
) -> Observations:
    if isinstance(first_passage_time, Observations):
        return first_passage_time
    if t_end is None:
        raise ValueError("t_end is required")
    return observations(first_passage_time, t_end, group, n_groups)


def restricted_mean(km: KaplanMeier) -> tuple[np.ndarray, np.ndarray]:
    """RMST = ∫_0^horizon S(t) dt (1/Γ) and its variance (1/Γ²) per group."""
    is_last = np.zeros(km.time.size, dtype=bool)
    nonempty = km.offsets[1:] > km.offsets[:-1]
    is_last[km.offsets[1:][nonempty] - 1] = True
    next_time = np.where(is_last, km.horizon[km.group], np.roll(km.time, -1))
    area = km.survival * (next_time - km.time)
    first_time = km.horizon.copy()  # S = 1 up to the first switch (or the horizon)
    first_time[nonempty] = km.time[km.offsets[:-1][nonempty]]
    rmst = first_time + np.bincount(km.group, weights=area, minlength=km.n_groups)
    suffix = np.concatenate([np.cumsum(area[::-1])[::-1], [0.0]])
    area_after = suffix[:-1] - suffix[km.offsets[1:]][km.group]
    remaining = km.at_risk - km.events
    terms = np.where(remaining > 0, km.events / (km.at_risk * np.maximum(remaining, 1)), 0.0)
    variance = np.bincount(km.group, weights=area_after**2 * terms, minlength=km.n_groups)
    return rmst, variance


def quantile(km: KaplanMeier, p: float, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quantile t_p of the first-passage time (1/Γ) with its band-inverted confidence interval.

    t_p = first switching time with S ≤ 1 − p (NaN if not reached by the horizon). Interval: the
    first time the lower band reaches 1 − p (NaN if never: t_p lies beyond the horizon with the given
    confidence) and the first time the upper band does (``np.inf`` if never: no upper limit).
    """
    if not 0 < p < 1:
        raise ValueError("p must lie in (0, 1)")
    level = (1.0 - p) * (1.0 + TIE_TOLERANCE)
    low_band, high_band = loglog_band(km.survival, km.greenwood, confidence)
    results = []
    for values, missing in ((km.survival, np.nan), (low_band, np.nan), (high_band, np.inf)):
        hit = values <= level
        first = np.full(km.n_groups, km.time.size, dtype=np.int64)
        np.minimum.at(first, km.group[hit], np.flatnonzero(hit))
        found = first < km.time.size
        times = km.time[np.where(found, first, 0)] if km.time.size else np.zeros(km.n_groups)
        results.append(np.where(found, times, missing))
    estimate, ci_low, ci_high = results
    return estimate, ci_low, ci_high


def median(km: KaplanMeier, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median first-passage time (1/Γ) with confidence interval (see :func:`quantile`)."""
    return quantile(km, 0.5, confidence)

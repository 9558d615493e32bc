"""``gpuqd.switching_times``: first-passage statistics of one (ε̃, V) point in one call, with the
Fokker–Planck mean first-passage time beside it (docs/physics.md §10, §14).

Runs the ``switching_times`` (and, for an axial magnet, ``fokker_planck``) outputs of the run pipeline
on a 1×1 grid; the statistics are those of :mod:`gpuqd.observables.switching_stats`.
Units: energies in Γ (``*_over_U``: in U), times in 1/Γ, rates in Γ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import norm

from gpuqd.api.parameters import check_unit
from gpuqd.api.point_run import axial, base_configuration, point_grid, run_configuration, survival_point

__all__ = ["SwitchingTimes", "switching_times"]

PROTOCOLS = ("P_to_AP", "AP_to_P")


@dataclass(frozen=True, repr=False)
class SwitchingTimes:
    """Switching statistics of one (ε̃, V) point and protocol (from :func:`switching_times`)."""

    #: level position ε̃ and bias V of the point, in Γ
    eps_tilde: float
    V: float
    #: the same in units of U (NaN if U = 0)
    eps_tilde_over_U: float
    V_over_U: float
    #: "P_to_AP" (start θ = 0) or "AP_to_P" (start θ = π)
    protocol: str
    #: trajectories run and those that switched by t_end
    n_trajectories: int
    n_switched: int
    #: observation window (1/Γ): later first passages are right-censored
    t_end: float
    #: confidence level of every interval below
    confidence: float
    #: mean first-passage time (1/Γ), its standard error and confidence interval (mean ± z·SE); where
    #: not all switched it is the Kaplan–Meier (restricted) mean, see ``mean_time_is_restricted``
    mean_time: float
    mean_time_se: float
    mean_time_ci: tuple[float, float]
    #: True: ``mean_time`` is ∫_0^t_end S(t) dt, a lower bound of the true mean
    mean_time_is_restricted: bool
    #: memoryless switching rate (Γ): switches / time at risk, exact (Garwood χ²) interval
    rate: float
    rate_ci: tuple[float, float]
    #: Kaplan–Meier median (1/Γ; NaN: not reached by t_end) and its interval
    median: float
    median_ci: tuple[float, float]
    #: P(switched by t_end) and its interval
    probability_by_t_end: float
    probability_by_t_end_ci: tuple[float, float]
    #: Kaplan–Meier survival S(t) = P(not switched by t) on ``survival_time`` (1/Γ), pointwise band
    survival_time: np.ndarray
    survival: np.ndarray
    survival_ci: tuple[np.ndarray, np.ndarray]
    #: first-passage time of every trajectory (1/Γ; inf: censored at t_end)
    first_passage_times: np.ndarray
    #: exact mean first-passage time of the axial Fokker–Planck equation (1/Γ; NaN: not axial)
    fokker_planck_mean_time: float
    #: the resolved run configuration (all sections, energies in Γ, grid in ``grid.unit``)
    config: dict = field(default_factory=dict)
    #: the run directory (None: computed in a temporary directory)
    run_dir: Path | None = None

    def __repr__(self) -> str:
        def t(x: float) -> str:
            return f"{x:.4g}"

        lo, hi = self.mean_time_ci
        level = f"{100 * self.confidence:g}%"
        mean = f"  mean time      {t(self.mean_time)}/Γ  ({level} CI {t(lo)} … {t(hi)})"
        if self.mean_time_is_restricted:
            mean += ", restricted mean ∫_0^t_end S dt: a lower bound"
        fp = (
            f"mean time {t(self.fokker_planck_mean_time)}/Γ (exact, axial theory)"
            if np.isfinite(self.fokker_planck_mean_time)
            else "not available (the magnet is not axial)"
        )
        lines = [
            f"SwitchingTimes({self.protocol} at ε̃ = {self.eps_tilde_over_U:g} U, V = {self.V_over_U:g} U"
            f" (ε̃ = {t(self.eps_tilde)} Γ, V = {t(self.V)} Γ))",
            f"  trajectories   {self.n_trajectories}, switched by t_end = {t(self.t_end)}/Γ: {self.n_switched}",
            mean,
            f"  rate           {t(self.rate)} Γ  ({level} CI {t(self.rate_ci[0])} … {t(self.rate_ci[1])})",
            f"  median         {t(self.median)}/Γ  ({level} CI {t(self.median_ci[0])} … {t(self.median_ci[1])})",
            f"  Fokker–Planck  {fp}",
        ]
        return "\n".join(lines)


def switching_times(
    eps_tilde: float,
    V: float,
    *,
    unit: str,
    trajectories: int = 1000,
    protocol: str = "P_to_AP",
    t_end: float = 2.0e4,
    dt: float = 0.01,
    switch_threshold: float = 0.5,
    confidence: float = 0.95,
    seed: int = 0,
    backend: str = "auto",
    runs_dir: str | Path | None = None,
    name: str = "switching_times_point",
    **parameters: Any,
) -> SwitchingTimes:
    """First-passage statistics of the macrospin at one bias point, with the Fokker–Planck exact value.

    Parameters
    ----------
    eps_tilde, V:
        Level position ε̃ = ε + U/2 and bias V (μ_S = +V/2, μ_D = −V/2), in units of ``unit``.
    unit:
        "U" (charging energy; the CLI grid's and [G]'s axes) or "Gamma" (Γ = (Γ_S + Γ_D)/2). Required,
        any other value raises ValueError.
    trajectories:
        Independent trajectories (each with its own noise).
    protocol:
        "P_to_AP" (start at θ = 0, switch when n_z < −switch_threshold) or "AP_to_P" (start at θ = π).
    t_end, dt:
        Observation window and time step, in 1/Γ.
    switch_threshold:
        Hysteretic threshold u_s on n_z (docs/physics.md §10).
    confidence:
        Level of all confidence intervals.
    seed, backend:
        Noise seed; "auto" | "numpy" | "cpu" | "cupy".
    runs_dir, name:
        Keep the run in ``<runs_dir>/<name>`` (a finished identical run is read back; the torque table is
        cached there); None: a temporary directory.
    **parameters:
        Transport and magnet parameters in Γ (``U``, ``T``, ``gamma_S``, ``gamma_D``, ``p_S``, ``p_D``,
        ``order``, ``n_theta``, ``S``, ``KV``, ``alpha``, ``sigma2`` or ``T_m``, ``anisotropy``,
        ``K_cubic``, ``field``, ``free``); missing ones take :data:`gpuqd.api.PAPER_PARAMETERS`.

    Returns
    -------
    SwitchingTimes
        Mean time, rate, median with confidence intervals, the survival curve and the Fokker–Planck mean
        first-passage time (NaN unless the magnet is axial: uniaxial, field along e_z, source fixed).

    Raises
    ------
    ValueError
        A bad ``unit`` or ``protocol``, or a parameter out of range (gpuqd.run.errors.ConfigError, one line
        naming key, value and allowed range), before any computation.
    TypeError
        An unknown parameter name.
    """
    check_unit(unit)
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol={protocol!r}: allowed {', '.join(PROTOCOLS)}")
    data = base_configuration(name, seed, backend, parameters, point_grid(eps_tilde, V, unit))
    U = float(data["transport"]["U"])
    surv = survival_point(eps_tilde, V, unit, U)
    data |= {
        "dynamics": {
            "dt": dt,
            "t_end": t_end,
            "average_from": t_end / 2,
            "initial_theta": 0.0 if protocol == "P_to_AP" else float(np.pi),
            "switch_threshold": switch_threshold,
        },
        "statistics": {
            "protocol": protocol,
            "trajectories_per_point": int(trajectories),
            "confidence": confidence,
            "survival_eps_tilde": surv[0],
            "survival_V": [surv[1]],
        },
        "outputs": ["switching_times"] + (["fokker_planck"] if axial(data["magnet"]) else []),
    }
    r, path = run_configuration(data, runs_dir)

    def one(key: str) -> Any:
        return np.asarray(r[key]).reshape(-1)[0]

    def pair(key: str) -> tuple[float, float]:
        return float(one(f"{key}_ci_low")), float(one(f"{key}_ci_high"))

    mean, se = float(one("switching_mean_time")), float(one("switching_mean_time_se"))
    z = float(norm.ppf(0.5 + confidence / 2))
    fpt = np.asarray(r["switching_first_passage_time"]).reshape(-1)
    fp_key = "fp_mfpt_p_to_ap" if protocol == "P_to_AP" else "fp_mfpt_ap_to_p"
    return SwitchingTimes(
        eps_tilde=float(one("eps_tilde")),
        V=float(one("V")),
        eps_tilde_over_U=float(one("eps_tilde")) / U if U > 0 else float("nan"),
        V_over_U=float(one("V")) / U if U > 0 else float("nan"),
        protocol=protocol,
        n_trajectories=int(one("switching_n_trajectories")),
        n_switched=int(one("switching_n_switched")),
        t_end=float(r["switching_t_end"]),
        confidence=confidence,
        mean_time=mean,
        mean_time_se=se,
        mean_time_ci=(mean - z * se, mean + z * se),
        mean_time_is_restricted=bool(one("switching_mean_time_is_restricted")),
        rate=float(one("switching_rate")),
        rate_ci=pair("switching_rate"),
        median=float(one("switching_median")),
        median_ci=pair("switching_median"),
        probability_by_t_end=float(one("switching_probability_by_t_end")),
        probability_by_t_end_ci=pair("switching_probability_by_t_end"),
        survival_time=np.asarray(r["switching_survival_time"]),
        survival=np.asarray(r["switching_survival"])[0, 0],
        survival_ci=(
            np.asarray(r["switching_survival_ci_low"])[0, 0],
            np.asarray(r["switching_survival_ci_high"])[0, 0],
        ),
        first_passage_times=fpt[~np.isnan(fpt)],
        fokker_planck_mean_time=float(one(fp_key)) if fp_key in r else float("nan"),
        config=dict(r.config or {}),
        run_dir=path,
    )

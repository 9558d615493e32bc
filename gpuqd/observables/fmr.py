"""Linear-response ferromagnetic resonance (FMR) of the macrospin about the P or AP state.

Conventions (docs/physics.md §1, §6.1, §6.5): energies in units of Γ, times in 1/Γ, frequencies Ω in Γ
(ħ = 1), macrospin S in ħ, Gilbert constant α in the [G] form (``S ṅ = … − α n × ṅ``; the
textbook dimensionless constant is α_s = α/S). The LLG is

    S ṅ = −n × (∂E/∂n + h) + I⊥(n) − α n × ṅ,   E = −(H_0/2) n_z² − h cos(Ωt) n_x,
    I⊥(n) = I_FL (n × e_z) + I_DL n × (n × e_z),

with ``field`` = H_0 (the static stiffness, KV for the easy axis) and ``field_like`` = I_FL,
``damping_like`` = I_DL (coefficients of the non-normalised e_FL, e_DL). A static external field B
along +e_z (energy −B n_z) exerts exactly the torque of a field-like term I_FL = B, so fold such a
field into ``field_like``; ``field`` should hold only stiffness that is even in n_z.

Response convention: for the drive energy −h cos(Ωt) n_x the steady state is
``n_x(t) = χ' h cos Ωt + χ'' h sin Ωt`` with χ = χ' + iχ'' (m ∝ e^{−iΩt}); χ'' > 0 means the magnet
absorbs power from the drive.

Parallel state (n = +e_z), docs/physics.md §6.5: with ω_0 := H_0 + I_FL,

    χ_xx = (ω_0 − iΩα) / [(I_DL + iΩS)² + (ω_0 − iΩα)²].

Antiparallel state (n = −e_z), derived here. Write n = (m_x, m_y, −1) to first order. Then
∂E/∂n = (−h cos Ωt, 0, +H_0), so −n × ∂E/∂n = (−H_0 m_y, H_0 m_x − h cos Ωt);
n × e_z = (m_y, −m_x); n × (n × e_z) = n (n·e_z) − e_z = (−m_x, −m_y); −α n × ṁ = (−α ṁ_y, α ṁ_x):

    S ṁ_x = −(H_0 − I_FL) m_y − I_DL m_x − α ṁ_y,
    S ṁ_y = +(H_0 − I_FL) m_x − I_DL m_y + α ṁ_x − h cos Ωt.

In the right-handed frame about −e_z, (x', y', z') = (x, −y, −z), i.e. m_y' = −m_y, this becomes

    S ṁ_x = ω_0^AP m_y' − I_DL m_x + α ṁ_y',   S ṁ_y' = −ω_0^AP m_x − I_DL m_y' − α ṁ_x + h cos Ωt,

which is the parallel system with ω_0 → ω_0^AP := H_0 − I_FL and I_DL → −I_DL, the same drive and
the same observable n_x = m_x. Hence χ^AP = χ^P(ω_0 = H_0 − I_FL, I_DL → −I_DL): a positive I_FL
softens the AP state (it favours P) and a positive I_DL damps it further (docs/physics.md §1). All functions
below use the effective pair (ω_0, I_DL,eff) = (H_0 + s I_FL, s I_DL), s = +1 (P), −1 (AP).

Stability. Free motion m ∝ e^{λt} requires (λS − I_DL,eff)² + (ω_0 + λα)² = 0, i.e.
λ = (I_DL,eff ± iω_0)(S ± iα)/(S² + α²), so both modes decay at the rate

    Γ_relax = (α ω_0 − S I_DL,eff)/(S² + α²) = S² Ω_R α_eff / (S² + α²),
    α_eff := α/S − I_DL,eff/(S Ω_R),  Ω_R := ω_0/S.

The state is linearly stable iff Γ_relax > 0, i.e. ω_0 α_eff > 0. For an energy minimum (ω_0 > 0)
this is α_eff > 0 (docs/physics.md §6.5); α_eff > 0 alone is not enough, since with ω_0 < 0 (energy maximum,
e.g. I_DL = 0) it means instability. Conversely ω_0 < 0 together with α_eff < 0
(I_DL,eff < α ω_0/S < 0) is a torque-stabilised energy maximum: linearly stable, with χ'' < 0 at
resonance (the torque pumps power into the drive). :func:`is_stable` returns the exact linear
criterion; ``require_energy_minimum=True`` additionally demands ω_0 > 0.

Near resonance χ ≈ ½ / [(ω_0 − ΩS) − i(αΩ − I_DL,eff)], a Lorentzian of HWHM ≈ α_eff Ω_R; the peak
χ'' ≈ 1/(2 S α_eff Ω_R).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

State = Literal["parallel", "antiparallel"]
STATES: tuple[State, ...] = ("parallel", "antiparallel")

# Numerical resonance search (see _peak_and_halfwidth).
_CENTRE_GRID = np.linspace(-8.0, 8.0, 129)  # offsets from |Ω_R| in units of the relaxation rate
_WIDE_GRID_POINTS = 64  # uniform grid on (0, |Ω_R| + 10 Γ_relax] for strongly damped points
_REFINE_STEPS = 80  # golden-section / bisection iterations (bracket shrinks to ≲ 1e-16 relative)
_CHUNK = 8192  # points per chunk in the vectorised search (memory ~ chunk × 200 complex)


def state_sign(state: str) -> int:
    if state == "parallel":
        return 1
    if state == "antiparallel":
        return -1
    raise ValueError(f"state must be one of {STATES}, got {state!r}")


def effective_parameters(
    *, field: ArrayLike, field_like: ArrayLike, damping_like: ArrayLike, state: State = "parallel"
) -> tuple[np.ndarray, np.ndarray]:
    """(ω_0, I_DL,eff) of the given state, energies in Γ.

    P: (H_0 + I_FL, I_DL); AP: (H_0 − I_FL, −I_DL) (module docstring for the derivation).
    """
    s = state_sign(state)
    omega_0 = np.asarray(field, dtype=float) + s * np.asarray(field_like, dtype=float)
    return omega_0, s * np.asarray(damping_like, dtype=float)


def _chi(omega: np.ndarray, S: ArrayLike, alpha: ArrayLike, omega_0: np.ndarray, idl: np.ndarray) -> np.ndarray:
    S, alpha = np.asarray(S, dtype=float), np.asarray(alpha, dtype=float)
    stiffness = omega_0 - 1j * omega * alpha
    return stiffness / ((idl + 1j * omega * S) ** 2 + stiffness**2)


def susceptibility(
    omega: ArrayLike,
    *,
    S: ArrayLike,
    alpha: ArrayLike,
    field: ArrayLike,
    field_like: ArrayLike,
    damping_like: ArrayLike,
    state: State = "parallel",
) -> np.ndarray:
    """Exact linear susceptibility χ_xx(Ω) = χ' + iχ'' (dimensionless per unit drive energy h / Γ).

    χ_xx = (ω_0 − iΩα) / [(I_DL,eff + iΩS)² + (ω_0 − iΩα)²] with (ω_0, I_DL,eff) from
    :func:`effective_parameters`. ``omega`` = Ω in Γ; S in ħ; field, field_like, damping_like in Γ.
    All arguments broadcast. Convention: n_x(t) = χ' h cos Ωt + χ'' h sin Ωt for drive −h cos(Ωt) n_x.
    The formula is returned also for unstable states (where it is not a steady state); see :func:`is_stable`.
    """
    omega_0, idl = effective_parameters(field=field, field_like=field_like, damping_like=damping_like, state=state)
    return _chi(np.asarray(omega, dtype=float), S, alpha, omega_0, idl)


def approximate_susceptibility(
    omega: ArrayLike,
    *,
    S: ArrayLike,
    alpha: ArrayLike,
    field: ArrayLike,
    field_like: ArrayLike,
    damping_like: ArrayLike,
    state: State = "parallel",
) -> np.ndarray:
    """Approximate χ of docs/physics.md §6.5 (drops the α²Ω² term of the denominator).

    The exact denominator is A − α²Ω² − 2iΩS²Ω_R α_eff with A = I_DL,eff² + S²(Ω_R² − Ω²); dropping
    α²Ω² gives χ ≈ (ω_0 − iΩα)/(A − 2iΩS²Ω_R α_eff), whose imaginary part is
    χ'' ≈ SΩ[2S²Ω_R²α_eff − α_s A]/[A² + (2S²α_eff ΩΩ_R)²], α_s = α/S. Relative error: O(α/S) within
    a linewidth of resonance (the dropped term shifts the pole by ~α²Ω/S², comparable to α × the
    linewidth), O(α²) far from it.
    """
    omega = np.asarray(omega, dtype=float)
    omega_0, idl = effective_parameters(field=field, field_like=field_like, damping_like=damping_like, state=state)
    S = np.asarray(S, dtype=float)
    a_term = idl**2 + omega_0**2 - (S * omega) ** 2
    # 2 Ω S² Ω_R α_eff = 2Ω (α ω_0 − S I_DL,eff), written without dividing by Ω_R.
    alpha = np.asarray(alpha, dtype=float)
    damping_term = 2.0 * omega * (alpha * omega_0 - S * idl)
    return (omega_0 - 1j * omega * alpha) / (a_term - 1j * damping_term)


def resonance_frequency(
    *, S: ArrayLike, field: ArrayLike, field_like: ArrayLike, state: State = "parallel"
) -> np.ndarray:
    """Ω_R = ω_0/S in Γ (signed; P: (H_0 + I_FL)/S, AP: (H_0 − I_FL)/S).

    Pure formula, returned also where the state is unstable; :func:`fmr_maps` masks those points.
    """
    omega_0, _ = effective_parameters(field=field, field_like=field_like, damping_like=0.0, state=state)
    return omega_0 / np.asarray(S, dtype=float)


def effective_damping(
    *,
    S: ArrayLike,
    alpha: ArrayLike,
    field: ArrayLike,
    field_like: ArrayLike,
    damping_like: ArrayLike,
    state: State = "parallel",
) -> np.ndarray:
    """α_eff = α/S − I_DL,eff/(S Ω_R) (dimensionless).

    P: α/S − I_DL/(H_0 + I_FL); AP: α/S + I_DL/(H_0 − I_FL). ±inf or NaN where ω_0 = 0.
    """
    omega_0, idl = effective_parameters(field=field, field_like=field_like, damping_like=damping_like, state=state)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(alpha, dtype=float) / np.asarray(S, dtype=float) - idl / omega_0


def relaxation_rate(
    *,
    S: ArrayLike,
    alpha: ArrayLike,
    field: ArrayLike,
    field_like: ArrayLike,
    damping_like: ArrayLike,
    state: State = "parallel",
) -> np.ndarray:
    """Exact decay rate of free small-angle motion, Γ_relax = (α ω_0 − S I_DL,eff)/(S² + α²), in Γ.

    Equal to S² Ω_R α_eff/(S² + α²) = S ω_0 α_eff/(S² + α²); positive iff the state is linearly
    stable. For a weakly damped resonance it is the HWHM of χ'' in Ω to leading order (≈ α_eff Ω_R).
    """
    omega_0, idl = effective_parameters(field=field, field_like=field_like, damping_like=damping_like, state=state)
    S = np.asarray(S, dtype=float)
    alpha = np.asarray(alpha, dtype=float)
    return (alpha * omega_0 - S * idl) / (S**2 + alpha**2)


def is_stable(
    *,
    S: ArrayLike,
    alpha: ArrayLike,
    field: ArrayLike,
    field_like: ArrayLike,
    damping_like: ArrayLike,
    state: State = "parallel",
    require_energy_minimum: bool = False,
) -> np.ndarray:
    """Linear stability of the state: both small-angle modes decay (ω_0 α_eff > 0).

    Equivalent to α ω_0 > S I_DL,eff. For ω_0 > 0 this is α_eff > 0. With ω_0 < 0 the state is an
    energy maximum; it is then stable only if the damping-like torque holds it (α_eff < 0), which
    counts as stable here unless ``require_energy_minimum`` is set (then ω_0 > 0 and α_eff > 0).
    """
    rate = relaxation_rate(S=S, alpha=alpha, field=field, field_like=field_like, damping_like=damping_like, state=state)
    stable = rate > 0
    if require_energy_minimum:
        omega_0, _ = effective_parameters(field=field, field_like=field_like, damping_like=0.0, state=state)
        stable = stable & (omega_0 > 0)
    return np.asarray(stable)


def _golden_max(f, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Vectorised golden-section search for the maximum of f on [lo, hi] (f unimodal there)."""
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    x1 = hi - ratio * (hi - lo)
    x2 = lo + ratio * (hi - lo)
    f1, f2 = f(x1), f(x2)
    for _ in range(_REFINE_STEPS):
        keep_left = f1 >= f2  # the maximum lies in [lo, x2]
        lo = np.where(keep_left, lo, x1)
        hi = np.where(keep_left, x2, hi)
        x_new = np.where(keep_left, hi - ratio * (hi - lo), lo + ratio * (hi - lo))
        f_new = f(x_new)
        x1, x2 = np.where(keep_left, x_new, x2), np.where(keep_left, x1, x_new)
        f1, f2 = np.where(keep_left, f_new, f2), np.where(keep_left, f1, f_new)
    return 0.5 * (lo + hi)


def _bisect_root(f, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Vectorised bisection for f = 0 on [lo, hi] with sign(f(lo)) ≠ sign(f(hi))."""
    f_lo = f(lo)
    for _ in range(_REFINE_STEPS):
        mid = 0.5 * (lo + hi)
        f_mid = f(mid)
        same = np.sign(f_mid) == np.sign(f_lo)
        lo = np.where(same, mid, lo)
        f_lo = np.where(same, f_mid, f_lo)
        hi = np.where(same, hi, mid)
    return 0.5 * (lo + hi)


def _peak_and_halfwidth(
    omega_0: np.ndarray, idl: np.ndarray, S: np.ndarray, alpha: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ω of the extremum of χ'', χ'' there (signed) and the HWHM of |χ''|, for 1-D stable points.

    |χ''| is sampled on a grid (Ω = 0, |Ω_R| ± 8 Γ_relax in steps of Γ_relax/8, and a uniform grid
    up to |Ω_R| + 10 Γ_relax), the maximum is refined by golden section between the neighbours of
    the best grid point, and each half-maximum crossing by bisection inside the grid cell nearest to
    the peak where |χ''| falls below half. NaN where the upper crossing lies beyond the grid.
    """
    centre = np.abs(omega_0) / S
    rate = (alpha * omega_0 - S * idl) / (S**2 + alpha**2)
    col = (slice(None), None)
    wide = (centre + 10.0 * rate)[col] * (np.arange(1, _WIDE_GRID_POINTS + 1) / _WIDE_GRID_POINTS)
    near = centre[col] + rate[col] * _CENTRE_GRID
    grid = np.concatenate([np.zeros((centre.size, 1)), wide, np.clip(near, 0.0, None)], axis=1)
    grid.sort(axis=1)
    params = (S[col], alpha[col], omega_0[col], idl[col])

    def abs_chi_imag(x: np.ndarray) -> np.ndarray:
        return np.abs(_chi(x, *params).imag)

    values = np.abs(_chi(grid, *params).imag)
    rows = np.arange(centre.size)
    k = np.argmax(values, axis=1)
    last = grid.shape[1] - 1
    lo = grid[rows, np.maximum(k - 1, 0)][:, None]
    hi = grid[rows, np.minimum(k + 1, last)][:, None]
    omega_peak = _golden_max(abs_chi_imag, lo, hi)
    peak = _chi(omega_peak, *params).imag
    half = 0.5 * np.abs(peak)

    index = np.arange(grid.shape[1])[None, :]
    below = values < half
    left_mask = below & (index < k[:, None])
    right_mask = below & (index > k[:, None])
    j_left = last - np.argmax(left_mask[:, ::-1], axis=1)  # Ω = 0 is always below half
    j_right = np.argmax(right_mask, axis=1)
    has_right = right_mask.any(axis=1)
    j_right = np.where(has_right, j_right, last)

    def excess(x: np.ndarray) -> np.ndarray:
        return abs_chi_imag(x) - half

    omega_low = _bisect_root(excess, grid[rows, j_left][:, None], grid[rows, j_left + 1][:, None])
    omega_high = _bisect_root(excess, grid[rows, j_right - 1][:, None], grid[rows, j_right][:, None])
    hwhm = np.where(has_right, 0.5 * (omega_high - omega_low)[:, 0], np.nan)
    return omega_peak[:, 0], peak[:, 0], hwhm


def _broadcast_params(
    S: ArrayLike,
    alpha: ArrayLike,
    field: ArrayLike,
    field_like: ArrayLike,
    damping_like: ArrayLike,
    state: State,
) -> tuple[np.ndarray, ...]:
    omega_0, idl = effective_parameters(field=field, field_like=field_like, damping_like=damping_like, state=state)
    return np.broadcast_arrays(omega_0, idl, np.asarray(S, dtype=float), np.asarray(alpha, dtype=float))


def _resonance_search(
    omega_0: np.ndarray, idl: np.ndarray, S: np.ndarray, alpha: np.ndarray, stable: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run :func:`_peak_and_halfwidth` over the stable points in chunks; NaN elsewhere."""
    shape = omega_0.shape
    out = [np.full(shape, np.nan) for _ in range(3)]
    where = np.flatnonzero(stable.ravel())
    flat = [a.ravel() for a in (omega_0, idl, S, alpha)]
    for start in range(0, where.size, _CHUNK):
        sel = where[start : start + _CHUNK]
        results = _peak_and_halfwidth(*(a[sel] for a in flat))
        for target, values in zip(out, results, strict=True):
            target.reshape(-1)[sel] = values
    return out[0], out[1], out[2]


def linewidth(
    *,
    S: ArrayLike,
    alpha: ArrayLike,
    field: ArrayLike,
    field_like: ArrayLike,
    damping_like: ArrayLike,
    state: State = "parallel",
) -> np.ndarray:
    """HWHM in Ω (units of Γ) of |χ''(Ω)| from the exact χ, found numerically; NaN where unstable.

    For weak damping it approaches :func:`relaxation_rate` ≈ α_eff Ω_R.
    """
    omega_0, idl, S_b, alpha_b = _broadcast_params(S, alpha, field, field_like, damping_like, state)
    stable = (alpha_b * omega_0 - S_b * idl) > 0
    return _resonance_search(omega_0, idl, S_b, alpha_b, stable)[2]


def fmr_maps(
    field_like: ArrayLike,
    damping_like: ArrayLike,
    *,
    S: ArrayLike,
    alpha: ArrayLike,
    field: ArrayLike,
    state: State = "parallel",
) -> dict[str, np.ndarray]:
    """FMR characteristics over arrays of torques (e.g. (ε̃, V) maps of I_FL, I_DL), any shape.

    Returns arrays of the broadcast shape:

    * ``stable`` (bool): linear stability (:func:`is_stable`); ``energy_minimum``: ω_0 > 0;
    * ``resonance_frequency``: Ω_R = ω_0/S (Γ), NaN where unstable;
    * ``effective_damping``: α_eff, reported everywhere (α_eff ω_0 ≤ 0 marks the unstable points);
    * ``relaxation_rate``: Γ_relax (Γ), everywhere (≤ 0 where unstable);
    * ``peak_frequency``, ``peak_chi_imag``: Ω (Γ) and signed χ'' at the numerical extremum of χ''
      (negative for torque-stabilised energy maxima), NaN where unstable;
    * ``chi_imag_at_resonance``: χ''(|Ω_R|), NaN where unstable;
    * ``linewidth``: numerical HWHM of |χ''| in Ω (Γ), NaN where unstable.
    """
    omega_0, idl, S_b, alpha_b = _broadcast_params(S, alpha, field, field_like, damping_like, state)
    rate = (alpha_b * omega_0 - S_b * idl) / (S_b**2 + alpha_b**2)
    stable = rate > 0
    omega_peak, peak, hwhm = _resonance_search(omega_0, idl, S_b, alpha_b, stable)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha_eff = alpha_b / S_b - idl / omega_0
    omega_r = np.where(stable, omega_0 / S_b, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0/0 only at unstable ω_0 = I_DL = 0
        chi_res = _chi(np.abs(omega_0) / S_b, S_b, alpha_b, omega_0, idl).imag
    chi_at_resonance = np.where(stable, chi_res, np.nan)
    maps = {
        "stable": stable,
        "energy_minimum": omega_0 > 0,
        "resonance_frequency": omega_r,
        "effective_damping": alpha_eff,
        "relaxation_rate": rate,
        "peak_frequency": omega_peak,
        "peak_chi_imag": peak,
        "chi_imag_at_resonance": chi_at_resonance,
        "linewidth": hwhm,
    }
    return {key: np.asarray(value) for key, value in maps.items()}

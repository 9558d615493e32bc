"""Continuity correction of the discrete switch monitor (docs/physics.md §10, §16).

The engines test the hysteretic thresholds u = ±u_s only at the ends of the time steps, so a path that
crosses and re-crosses within a step is missed and first-passage times come out too long, by a relative
O(√Δt) (the "√dt bias"). For a diffusion whose variance rate at the threshold is σ_u², discrete monitoring
of a barrier b at spacing Δt is equivalent, up to o(√Δt), to continuous monitoring of the barrier moved
*away* from the start by β σ_u √Δt, β = −ζ(1/2)/√(2π) ≈ 0.5826 (Siegmund 1979; Broadie, Glasserman and
Kou 1997). Conversely, monitoring at the threshold moved *towards* the start by β σ_u √Δt detects the
continuous passage of the original threshold. The drift enters only at the next order.

For u = n·e_z of the macrospin (docs/physics.md §14) the thermal part of the motion is isotropic rotational
diffusion with D = σ²/(2(S² + α²)), whatever the anisotropy, field or torques: the variance rate of u is
2D(1 − u²). With both magnets free, u = n_D·n_S and each diffuses independently: 4D(1 − u²). Both
thresholds ±u_s have the same 1 − u_s², so one corrected u_s serves both directions.
"""

from __future__ import annotations

import math

from gpuqd.dynamics.model import Macrospin

#: β = −ζ(1/2)/√(2π), ζ(1/2) = −1.4603545088095868 (Riemann zeta).
BETA = 1.4603545088095868 / math.sqrt(2.0 * math.pi)


def threshold_variance_rate(magnet: Macrospin, switch_threshold: float) -> float:
    """σ_u² (1/Γ): variance per unit time of u = n·n_S at u = ±switch_threshold."""
    diffusion = magnet.noise_variance / (2.0 * (magnet.S**2 + magnet.alpha**2))
    movers = 2.0 if magnet.free == "both" else 1.0
    return 2.0 * movers * diffusion * (1.0 - float(switch_threshold) ** 2)


def monitor_threshold(magnet: Macrospin, switch_threshold: float, dt: float) -> float:
    """The threshold the step-end monitor must test so that it detects continuous passages of
    ±``switch_threshold``: u_s − β σ_u √Δt (moved towards each start side). ValueError if the step is
    so coarse that the shift would reach u = 0 (reduce dt)."""
    shift = BETA * math.sqrt(threshold_variance_rate(magnet, switch_threshold) * float(dt))
    corrected = float(switch_threshold) - shift
    if corrected <= 0.0:
        raise ValueError(
            f"dt = {dt}: the crossing correction {shift:.3g} exceeds switch_threshold = {switch_threshold}; "
            "reduce dt or switch the correction off"
        )
    return corrected

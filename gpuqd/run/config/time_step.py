"""The time-step guard of a configuration: the largest dt the engines integrate stably and accurately
(:func:`dt_limit`, from :func:`gpuqd.dynamics.stability.time_step_limits`, docs/physics.md §15) and the
check that names the key at fault (``dynamics.dt``, or ``magnet.S`` / ``magnet.alpha`` when no
reasonable dt could integrate the magnet).
"""

from __future__ import annotations

from typing import Any

from gpuqd.run.config.factories import make_magnet, scan_backend, torque_bound
from gpuqd.run.config.schema import fmt_number
from gpuqd.run.config.typed import Grid, MagnetConfig, TorqueConfig, TransportConfig, section_from_mapping

__all__ = ["FEASIBLE_STEPS", "check_dt", "dt_limit"]


def dt_limit(data: dict) -> tuple[float, str]:
    """Largest allowed dt (1/Γ) and a human-readable explanation of the bound.

    Uses :func:`gpuqd.dynamics.stability.time_step_limits` (the engine's own guard, docs/physics.md §15)
    with a bound on the torque coefficients: the constant torques, or for transport torques the solves at
    the table nodes nearest θ = 0, π (:func:`gpuqd.run.config.factories.torque_bound`). The engine repeats the
    check with the table interpolant's maximum before the dynamics stage starts.
    """
    from gpuqd.dynamics.stability import MAX_RATE_ERROR, max_noise_rotation, max_rate_dt, time_step_limits

    magnet = make_magnet(section_from_mapping(MagnetConfig, data["magnet"]))
    i_max = torque_bound(
        section_from_mapping(TransportConfig, data["transport"]),
        section_from_mapping(TorqueConfig, data["torque"]),
        Grid.from_data(data),
        scan_backend(str(data.get("backend", "auto"))),
    )
    rate, lim_det, _, lim_noise = time_step_limits(magnet, i_max)
    if lim_det <= lim_noise:
        why = (
            f"dt <= {max_rate_dt(magnet.alpha / magnet.S):.3g}/ω_max = {lim_det:.4g} (Heun's relaxation-rate "
            f"error <= {MAX_RATE_ERROR:.0%}) with ω_max = (KV + |field| + 4|K_cubic| + I_max)/S"
            f" = {rate:.4g}/Γ, I_max = {i_max:.4g}"
        )
        return lim_det, why
    why = (
        f"dt <= {lim_noise:.4g} (thermal kick per step sqrt(σ² dt)/sqrt(S²+α²) <= "
        f"{max_noise_rotation(magnet.S, magnet.alpha):.3g} rad, so that the engine's 5% norm check never trips)"
    )
    return lim_noise, why


#: a dt bound needing more steps than this for t_end is blamed on the magnet parameter that causes it
FEASIBLE_STEPS = 1e9


def _blame_magnet(data: dict, limit: float, fail: Any) -> None:
    """When no reasonable dt could integrate the magnet (t_end/limit > FEASIBLE_STEPS, or S or α/S
    below 10⁻³, far outside a macrospin's range), the cause is a magnet parameter, not dt: a tiny α/S
    (Heun cannot resolve the weak damping) or a tiny S (the rates
    ∝ 1/S and the kicks ∝ 1/√(S²+α²) explode); name that key."""
    mg, t_end = data["magnet"], data["dynamics"]["t_end"]
    steps = t_end / limit
    S, alpha = mg["S"], mg["alpha"]
    if steps <= FEASIBLE_STEPS and S >= 1e-3 and alpha / S >= 1e-3:
        return
    cost = f"dt would have to be <= {limit:.3g}, i.e. {steps:.2g} steps for t_end = {fmt_number(t_end)}"
    if alpha / S < 1e-3:
        fail(
            "magnet.alpha",
            f"α/S = {alpha / S:.3g} is too small for the stochastic Heun integrator ({cost}); "
            f"allowed: α/S >= 1e-3 for runs of this length (docs/physics.md §15)",
        )
    fail(
        "magnet.S",
        f"S = {fmt_number(S)} makes the magnet's rates (∝ 1/S) or thermal kicks too large ({cost}); "
        f"allowed: S large enough that t_end/dt stays <= {FEASIBLE_STEPS:.0e} (docs/physics.md §15)",
    )


def check_dt(data: dict, fail: Any) -> None:
    """``fail(key, message)`` if ``dynamics.dt`` exceeds :func:`dt_limit` (naming the magnet key when a
    magnet parameter, not dt, is the cause)."""
    limit, why = dt_limit(data)
    dt = data["dynamics"]["dt"]
    if dt > limit:
        _blame_magnet(data, limit, fail)
        fail("dynamics.dt", f"dt = {fmt_number(dt)} is too large for stable, accurate integration; allowed: {why}")

"""``gpuqd.torque_curve``: charge current and spin-transfer torque coefficients I(θ) at one (ε̃, V)
point ([G] Fig. 4 insets), from :meth:`gpuqd.transport.SpinValve.solve` (docs/physics.md §1, §3.5, §4).

Units: energies, currents I_C and torque coefficients I_FL, I_DL in Γ; θ in rad.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gpuqd.api.parameters import check_unit, config_sections, energy_in_gamma
from gpuqd.api.point_run import point_grid
from gpuqd.run.config.factories import make_spin_valve, solve
from gpuqd.run.config.validate import validate_config

__all__ = ["TorqueCurve", "torque_curve"]

#: default number of θ values on [0, π]
N_THETA = 181


@dataclass(frozen=True, repr=False)
class TorqueCurve:
    """I_C(θ), I_FL(θ), I_DL(θ) at one point (from :func:`torque_curve`).

    The torque on the drain is I⊥ = I_FL e_FL + I_DL e_DL with e_FL = n_D × n_S and
    e_DL = n_D × (n_D × n_S) (|e| = sin θ; docs/physics.md §1); at θ = 0, π the coefficients are their
    collinear limits.
    """

    #: the point in Γ
    eps_tilde: float
    V: float
    #: the point in units of U (NaN if U = 0)
    eps_tilde_over_U: float
    V_over_U: float
    #: angle between n_S = e_z and n_D (rad)
    theta: np.ndarray
    #: particle current into the drain I_C (Γ, i.e. eΓ/ħ; > 0 for V > 0)
    charge_current: np.ndarray
    #: field-like torque coefficient I_FL (Γ)
    field_like: np.ndarray
    #: damping-like torque coefficient I_DL (Γ)
    damping_like: np.ndarray
    #: perturbative order in Γ (1 or 2)
    order: int
    #: transport parameters used (energies in Γ)
    parameters: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        def span(a: np.ndarray) -> str:
            return f"{np.min(a):.4g} … {np.max(a):.4g} Γ"

        return (
            f"TorqueCurve(ε̃ = {self.eps_tilde_over_U:g} U, V = {self.V_over_U:g} U (ε̃ = {self.eps_tilde:.4g} Γ, "
            f"V = {self.V:.4g} Γ), order {self.order}, {self.theta.size} θ in "
            f"[{self.theta.min() / np.pi:.3g}π, {self.theta.max() / np.pi:.3g}π]:\n"
            f"  I_C {span(self.charge_current)}, I_FL {span(self.field_like)}, I_DL {span(self.damping_like)})"
        )


def torque_curve(
    eps_tilde: float,
    V: float,
    *,
    unit: str,
    theta: Any = None,
    **parameters: Any,
) -> TorqueCurve:
    """The charge current and torque coefficients as functions of θ at one (ε̃, V) point.

    Parameters
    ----------
    eps_tilde, V:
        Level position ε̃ = ε + U/2 and bias V, in units of ``unit``.
    unit:
        "U" (charging energy) or "Gamma" (Γ = (Γ_S + Γ_D)/2); required, anything else raises ValueError.
    theta:
        Angles (rad) between n_S and n_D; default 181 values on [0, π].
    **parameters:
        Transport parameters in Γ (``U``, ``T``, ``gamma_S``, ``gamma_D``, ``p_S``, ``p_D``, ``order``);
        missing ones take :data:`gpuqd.api.PAPER_PARAMETERS`.

    Returns
    -------
    TorqueCurve
        ``theta``, ``charge_current``, ``field_like``, ``damping_like`` (Γ).

    Raises
    ------
    ValueError
        A bad ``unit``, θ or parameter value (one line naming key, value and allowed range).
    TypeError
        An unknown parameter name.
    """
    check_unit(unit)
    sections = config_sections(parameters, with_magnet=False)
    data = {"name": "torque_curve", **sections, "grid": point_grid(eps_tilde, V, unit), "outputs": ["torque_maps"]}
    cfg = validate_config(data, source="gpuqd API", runs_dir=tempfile.gettempdir())
    tr = cfg.transport
    angles = np.linspace(0.0, np.pi, N_THETA) if theta is None else np.asarray(theta, dtype=float).reshape(-1)
    if angles.size == 0 or not np.all(np.isfinite(angles)):
        raise ValueError(f"theta: allowed a non-empty array of finite angles (rad), got {theta!r}")
    eps_g, v_g = energy_in_gamma(eps_tilde, unit, tr.U), energy_in_gamma(V, unit, tr.U)
    result = solve(make_spin_valve(tr), eps_g, v_g, angles, tr.order)
    return TorqueCurve(
        eps_tilde=eps_g,
        V=v_g,
        eps_tilde_over_U=eps_g / tr.U if tr.U > 0 else float("nan"),
        V_over_U=v_g / tr.U if tr.U > 0 else float("nan"),
        theta=angles,
        charge_current=np.asarray(result.charge_current),
        field_like=np.asarray(result.torque_field_like),
        damping_like=np.asarray(result.torque_damping_like),
        order=int(tr.order),
        parameters={k: getattr(tr, k) for k in ("U", "T", "gamma_S", "gamma_D", "p_S", "p_D", "order")},
    )

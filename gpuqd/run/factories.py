"""The only place that turns configuration into physics objects: SpinValve, Macrospin, torques.

Units: energies in Γ, times in 1/Γ (docs/physics.md §1).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from gpuqd.dynamics import ConstantTorque, Macrospin
from gpuqd.run.config import MagnetConfig, RunConfig, TorqueConfig, TransportConfig, thermal_field_variance
from gpuqd.transport import SpinValve, TorqueTable

__all__ = ["make_spin_valve", "solve", "table_nodes", "make_magnet", "make_torque", "torque_bound"]


def make_spin_valve(transport: TransportConfig) -> SpinValve:
    """The quantum-dot spin valve of ``transport`` (the Γ/T warning is issued by the validation)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SpinValve(U=transport.U, T=transport.T, gamma_S=transport.gamma_S, gamma_D=transport.gamma_D,
                         p_S=transport.p_S, p_D=transport.p_D)


def solve(spin_valve: SpinValve, eps: Any, V: Any, theta: Any, order: int) -> Any:
    """``SpinValve.solve`` without numerical warnings (broadcasting; energies in Γ, θ in rad)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return spin_valve.solve(eps, V, theta, order=order)


def table_nodes(n_theta: int) -> np.ndarray:
    """θ nodes (rad) of a torque table with ``n_theta`` nodes (log-clustered at 0, π)."""
    from gpuqd.transport.torque_table import node_s, theta_of_s

    return theta_of_s(node_s(n_theta))


def make_magnet(magnet: MagnetConfig, **extra: Any) -> Macrospin:
    """The drain macrospin; σ² from :func:`thermal_field_variance` (T_m passed on if that is what was given)."""
    if magnet.sigma2 is None and magnet.T_m is not None:
        noise = {"T_m": magnet.T_m}
    else:
        noise = {"sigma2": thermal_field_variance(magnet)}
    return Macrospin(S=magnet.S, KV=magnet.KV, alpha=magnet.alpha, K_cubic=magnet.cubic_anisotropy,
                     field=tuple(magnet.field), free=magnet.free, **noise, **extra)


def make_torque(cfg: RunConfig, table: TorqueTable | None) -> ConstantTorque | TorqueTable:
    """The torque provider: the run's torque ``table`` (model: transport) or the constant coefficients."""
    if cfg.torque.model == "transport":
        return table
    return ConstantTorque(cfg.torque.field_like, cfg.torque.damping_like)


def torque_bound(transport: TransportConfig, torque: TorqueConfig) -> float:
    """Upper bound on |I_FL| + |I_DL| (Γ) before any table exists (used for the time-step limit)."""
    if torque.model == "constant":
        return abs(torque.field_like) + abs(torque.damping_like)
    # the transverse spin current into the drain is bounded by the spin-resolved tunnel rates
    return (1.0 + max(transport.p_S, transport.p_D)) * max(transport.gamma_S, transport.gamma_D)

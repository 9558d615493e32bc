"""The only place that turns configuration into physics objects: SpinValve, Macrospin, torques.

Units: energies in Γ, times in 1/Γ (docs/physics.md §1).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from gpuqd.dynamics import ConstantTorque, Macrospin
from gpuqd.dynamics.stability import scan_torque_bound
from gpuqd.run.config.typed import (
    Grid,
    MagnetConfig,
    RunConfig,
    TorqueConfig,
    TransportConfig,
    thermal_field_variance,
)
from gpuqd.transport import SpinValve, TorqueTable

#: Table nodes per end (θ → 0, θ → π) solved by the pre-table torque bound: the coefficients peak within a
#: few nodes of the poles; each (ε̃, V) kernel is built once, so more nodes cost little (docs/physics.md §15).
SCAN_NODES_PER_END = 8

__all__ = ["make_spin_valve", "solve", "table_nodes", "make_magnet", "make_torque", "torque_bound"]


def make_spin_valve(transport: TransportConfig, backend: str = "numpy") -> SpinValve:
    """The quantum-dot spin valve of ``transport`` on the array ``backend`` ('numpy' or 'cupy'; the Γ/T
    warning is issued by the validation)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SpinValve(
            U=transport.U,
            T=transport.T,
            gamma_S=transport.gamma_S,
            gamma_D=transport.gamma_D,
            p_S=transport.p_S,
            p_D=transport.p_D,
            backend=backend,
        )


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
        noise: dict[str, Any] = {"T_m": magnet.T_m}
    else:
        noise = {"sigma2": thermal_field_variance(magnet)}
    return Macrospin(
        S=magnet.S,
        KV=magnet.KV,
        alpha=magnet.alpha,
        K_cubic=magnet.cubic_anisotropy,
        field=(float(magnet.field[0]), float(magnet.field[1]), float(magnet.field[2])),
        free=magnet.free,
        **noise,
        **extra,
    )


def make_torque(cfg: RunConfig, table: TorqueTable | None) -> ConstantTorque | TorqueTable:
    """The torque provider: the run's torque ``table`` (model: transport) or the constant coefficients."""
    if cfg.torque.model == "transport":
        if table is None:
            raise ValueError("torque model 'transport' needs the run's torque table")
        return table
    tq = cfg.torque
    return ConstantTorque(
        tq.field_like,
        tq.damping_like,
        source_field_like=tq.source_field_like,
        source_damping_like=tq.source_damping_like,
    )


def scan_backend(backend: str) -> str:
    """Array backend of the time-step guard's transport scan for a run on ``backend``: the GPU when the
    run will use it (the scan solves every grid point at the table's end nodes: seconds on a CPU at
    Fig. 2 size), else NumPy."""
    from gpuqd.dynamics.engines import registry

    if backend == "cupy" or (backend == "auto" and registry.availability("cupy").usable):
        return "cupy"
    return "numpy"


def torque_bound(transport: TransportConfig, torque: TorqueConfig, grid: Grid, backend: str = "numpy") -> float:
    """Bound on max |I_FL| + |I_DL| (Γ) over the grid before any table exists (for the time-step guard).

    Constant torques: their sum. Transport torques: the table interpolant's maximum within
    :data:`SCAN_NODES_PER_END` nodes of θ = 0 and θ = π, solved at every grid point
    (:func:`gpuqd.dynamics.stability.scan_torque_bound`; the coefficients are largest there,
    docs/physics.md §15); each (ε̃, V) kernel is built once, about as costly as the table's kernels.
    ``backend``: the transport's array backend for the scan ('cupy': on the GPU, as the table will be).
    """
    if torque.model == "constant":
        return abs(torque.field_like) + abs(torque.damping_like)
    spin_valve = make_spin_valve(transport, backend)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return scan_torque_bound(
            spin_valve,
            grid.eps_tilde,
            grid.V,
            transport.n_theta,
            transport.order,
            n_end=min(SCAN_NODES_PER_END, transport.n_theta // 2),
        )

"""Inputs shared by the host and GPU tests of the kernel's angle functions (kernel/angle.cuh)."""

from __future__ import annotations

import numpy as np

from gpuqd.dynamics import ConstantTorque, Macrospin
from gpuqd.dynamics.engine_config import build_config
from gpuqd.dynamics.engines.kernel_engine import parameter_block


def cosine_cases() -> np.ndarray:
    """cos θ over [−1, 1]: random, within 1e-300…1e-2 of ±1 and 0, the branch points ±½, beyond ±1."""
    rng = np.random.default_rng(11)
    tiny = np.geomspace(1e-300, 1e-2, 400)
    special = [-1.0, 1.0, 0.0, -0.0, 0.5, -0.5, np.nextafter(0.5, 1), np.nextafter(-0.5, -1), 1.0 + 1e-15, -1.0 - 1e-15]
    return np.concatenate(
        [rng.uniform(-1, 1, 200_000), 1 - tiny, -1 + tiny, tiny, -tiny, special, np.cos(np.linspace(0, np.pi, 20_001))]
    )


def map_params() -> np.ndarray:
    """A parameter block (its angle-map entries are those of gpuqd.transport.torque_table)."""
    cfg = build_config(
        Macrospin(S=1.0, KV=0.1, alpha=0.1, sigma2=0.0),
        ConstantTorque(0.0, 0.0),
        1,
        0.01,
        1.0,
        0,
        0.0,
        0.5,
        None,
        None,
        0,
        None,
        None,
    )
    return parameter_block(cfg)

"""The kernel's FP64 angle functions (kernel/angle.cuh: acos by one asin polynomial, ln by an atanh
series, reciprocal by Newton steps on the GPU) against NumPy's arccos and log (independent
implementations), through the host build; the GPU versions are compared in tests/dynamics/test_dynamics_gpu.py.

Tolerances: the polynomials are accurate to 2e-16 relative (their Chebyshev interpolation error), so θ
agrees with arccos to a few ulp of π (bound 1.5e-15 absolute, measured 8.9e-16) and the table coordinate
s(θ), compared at the kernel's own θ (near θ = 0, π the log is ill-conditioned in θ), to a few ulp of
the log term (|ln| ≤ 13) divided by C ≈ 57 (bound 2e-15, measured 2.2e-16).
"""

from __future__ import annotations

import numpy as np

from gpuqd.dynamics import ConstantTorque, Macrospin
from gpuqd.dynamics.config import build_config
from gpuqd.dynamics.cpu_backend import angle_functions_host
from gpuqd.dynamics.kernel_engine import parameter_block
from gpuqd.transport.torque_table import s_of_theta


def _cosines() -> np.ndarray:
    rng = np.random.default_rng(11)
    tiny = np.geomspace(1e-300, 1e-2, 400)
    special = [-1.0, 1.0, 0.0, -0.0, 0.5, -0.5, np.nextafter(0.5, 1), np.nextafter(-0.5, -1), 1.0 + 1e-15,
               -1.0 - 1e-15]
    return np.concatenate([rng.uniform(-1, 1, 200_000), 1 - tiny, -1 + tiny, tiny, -tiny, special,
                           np.cos(np.linspace(0, np.pi, 20_001))])


def _params() -> np.ndarray:
    cfg = build_config(Macrospin(S=1.0, KV=0.1, alpha=0.1, sigma2=0.0), ConstantTorque(0.0, 0.0), 1, 0.01, 1.0,
                       0, 0.0, 0.5, None, None, 0, None, None)
    return parameter_block(cfg)


def test_acos_matches_numpy() -> None:
    c = _cosines()
    theta, _ = angle_functions_host(c, _params())
    exact = np.arccos(np.clip(c, -1.0, 1.0))
    assert np.max(np.abs(theta - exact)) < 1.5e-15
    assert theta[np.clip(c, -1, 1) == 1.0].max() == 0.0  # θ = 0 exactly at c = 1 (and c > 1 is clamped)
    assert np.all(theta[np.clip(c, -1, 1) == -1.0] == np.pi)


def test_table_coordinate_matches_s_of_theta() -> None:
    c = _cosines()
    theta, s = angle_functions_host(c, _params())
    assert np.max(np.abs(s - s_of_theta(theta))) < 2e-15
    assert np.all(np.diff(s[np.argsort(theta, kind="stable")]) >= -1e-15)  # monotone to rounding

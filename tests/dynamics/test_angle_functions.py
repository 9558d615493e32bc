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
from angle_cases import cosine_cases, map_params

from gpuqd.dynamics.engines.cpu_engine import angle_functions_host
from gpuqd.transport.torque_table import s_of_theta


def test_acos_matches_numpy() -> None:
    c = cosine_cases()
    theta, _ = angle_functions_host(c, map_params())
    exact = np.arccos(np.clip(c, -1.0, 1.0))
    assert np.max(np.abs(theta - exact)) < 1.5e-15
    assert theta[np.clip(c, -1, 1) == 1.0].max() == 0.0  # θ = 0 exactly at c = 1 (and c > 1 is clamped)
    assert np.all(theta[np.clip(c, -1, 1) == -1.0] == np.pi)


def test_table_coordinate_matches_s_of_theta() -> None:
    c = cosine_cases()
    theta, s = angle_functions_host(c, map_params())
    assert np.max(np.abs(s - s_of_theta(theta))) < 2e-15
    assert np.all(np.diff(s[np.argsort(theta, kind="stable")]) >= -1e-15)  # monotone to rounding

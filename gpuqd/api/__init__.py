"""The one-call Python API: a switching-time point, a ⟨θ⟩ map and a torque curve, with the energy
unit explicit in every call (``unit="U"`` or ``unit="Gamma"``) and [G]'s parameters as defaults.

Everything runs through the same code as ``gpuqd run`` (configuration validation, transport, dynamics,
statistics, Fokker–Planck); see docs/tutorial.md.
"""

from __future__ import annotations

from gpuqd.api.maps import ThetaMap, theta_map
from gpuqd.api.parameters import ENERGY_UNITS, PAPER_PARAMETERS
from gpuqd.api.switching import SwitchingTimes, switching_times
from gpuqd.api.torque import TorqueCurve, torque_curve

__all__ = [
    "ENERGY_UNITS",
    "PAPER_PARAMETERS",
    "SwitchingTimes",
    "ThetaMap",
    "TorqueCurve",
    "switching_times",
    "theta_map",
    "torque_curve",
]

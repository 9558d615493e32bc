"""Batched stochastic macrospin (LLG) dynamics on NumPy or CuPy (physics-spec §6, §10, §11).

Units: energies in Γ, times in 1/Γ, S in ħ, torques in ħΓ, charge current in Γ.
"""

from __future__ import annotations

from gpuqd.dynamics.model import ConstantTorque, Macrospin
from gpuqd.dynamics.philox import philox4x32
from gpuqd.dynamics.runner import EnsembleResult, EnsembleRunner, run_ensemble

__all__ = ["ConstantTorque", "EnsembleResult", "EnsembleRunner", "Macrospin", "philox4x32", "run_ensemble"]

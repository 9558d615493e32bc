"""Batched stochastic macrospin (LLG) dynamics on NumPy or CuPy (docs/physics.md §6, §10, §11).

Units: energies in Γ, times in 1/Γ, S in ħ, torques in ħΓ, charge current in Γ.

* :class:`Macrospin` (model), :class:`ConstantTorque` or ``gpuqd.transport.TorqueTable`` (torque),
  :class:`EnsembleSpec` (the one argument list of an ensemble), :func:`run_ensemble` (one call) and
  :class:`EnsembleRunner` (resumable: advance / get_state / set_state / result).
* Integrator: stochastic Heun with renormalisation (Stratonovich), explicit LL form (docs/physics.md §6.2).
* Noise: Philox4x32-10, counter (k_lo, k_hi, j_lo, j_hi) for step k and global trajectory id j, key =
  seed halves; identical integer words on NumPy and CUDA, so results do not depend on the split of
  the ensemble or the chunking.
* ``free="both"``: the source macrospin is integrated too; the drain torque uses the instantaneous
  source direction in place of e_z, and the source is pushed by its own torque, the transverse spin
  current into the source, I^S⊥ = FL_S (n_S × n_D) + DL_S (n_S × (n_S × n_D)), with the source
  coefficients of the torque provider (``TorqueTable.source_field_like``/``source_damping_like`` or
  ``ConstantTorque(source_field_like=…, source_damping_like=…)``; docs/physics.md §6.1).
"""

from __future__ import annotations

from gpuqd.dynamics.engine_config import EnsembleSpec
from gpuqd.dynamics.model import ConstantTorque, Macrospin
from gpuqd.dynamics.philox import philox4x32
from gpuqd.dynamics.runner import EnsembleResult, EnsembleRunner, run_ensemble

__all__ = [
    "ConstantTorque",
    "EnsembleResult",
    "EnsembleRunner",
    "EnsembleSpec",
    "Macrospin",
    "philox4x32",
    "run_ensemble",
]

"""Batched stochastic macrospin (LLG) dynamics on NumPy or CuPy (physics-spec §6, §10, §11).

Units: energies in Γ, times in 1/Γ, S in ħ, torques in ħΓ, charge current in Γ.

* :class:`Macrospin` (model), :class:`ConstantTorque` or ``gpuqd.transport.TorqueTable`` (torque),
  :func:`run_ensemble` (one call) and :class:`EnsembleRunner` (resumable: advance / get_state /
  set_state / result).
* Integrator: stochastic Heun with renormalisation (Stratonovich), explicit LL form (spec §6.2).
* Noise: Philox4x32-10, counter (k_lo, k_hi, j_lo, j_hi) for step k and global trajectory id j, key =
  seed halves; identical integer words on NumPy and CUDA, so results do not depend on the split of
  the ensemble or the chunking.
* ``free="both"``: the source macrospin is integrated too; the drain torque uses the instantaneous
  source direction in place of e_z, and the source receives the torque of the same form with the
  roles of the magnets swapped and the same coefficients I_FL(θ), I_DL(θ). This mirror-image
  source torque is an approximation (exact only for a left–right symmetric device).
"""

from __future__ import annotations

from gpuqd.dynamics.model import ConstantTorque, Macrospin
from gpuqd.dynamics.philox import philox4x32
from gpuqd.dynamics.runner import EnsembleResult, EnsembleRunner, run_ensemble

__all__ = ["ConstantTorque", "EnsembleResult", "EnsembleRunner", "Macrospin", "philox4x32", "run_ensemble"]

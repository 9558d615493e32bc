"""gpuqd: quantum-dot spin-valve transport to O(Γ²) and batched stochastic macrospin dynamics.

Units: ħ = e = k_B = 1; energies in units of Γ = (Γ_S + Γ_D)/2 unless a name says otherwise,
times in 1/Γ, particle currents in Γ, spin currents in ħΓ. See ``docs/physics.md``.
"""

from __future__ import annotations

__version__ = "0.2.0"

__all__ = ["__version__", "load_run"]


def load_run(path):  # noqa: ANN001, ANN201 - thin re-export, typed in gpuqd.run.store.results
    """Load the results of a finished run directory (see :func:`gpuqd.run.store.results.load_run`)."""
    from gpuqd.run.store.results import load_run as load

    return load(path)

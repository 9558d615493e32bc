"""Unit helpers: convert the model's natural units (ħ = e = k_B = 1, energies in Γ) to SI-like units.

All gpuqd quantities are dimensionless multiples of Γ := (Γ_S + Γ_D)/2 (docs/physics.md §1):

* energies (ε̃, V, U, T, KV, torques as energies)   : Γ
* times (dt, t_end, first-passage times)             : 1/Γ, i.e. ħ/Γ
* particle currents (I_C)                            : Γ/ħ  (electrons per unit time)
* spin currents, torque coefficients I_FL, I_DL     : Γ  (ħ · Γ/ħ)
* conductance I_C/V                                  : e²/ħ (not e²/h)

To attach numbers, choose Γ in meV.  Example: [G] ref. 23 suggests Γ ≈ 8 meV, giving
1/Γ = ħ/Γ ≈ 0.0823 ps, so the paper's window t = 2·10⁴/Γ is ≈ 1.6 ns.

>>> round(time_unit_ps(8.0), 4)
0.0823
"""

from __future__ import annotations

import numpy as np

#: ħ in meV·ps (CODATA 2018: 6.582119569e-13 meV·s).
HBAR_MEV_PS = 0.6582119569
#: Boltzmann constant in meV/K.
KB_MEV_PER_K = 0.08617333262
#: Elementary charge in C.
E_CHARGE_C = 1.602176634e-19
#: e²/ħ in siemens (= 2π e²/h ≈ 2.434e-4 S).
E2_OVER_HBAR_S = 2.434134807e-4


def time_unit_ps(gamma_meV: float) -> float:
    """The model's time unit 1/Γ = ħ/Γ in picoseconds, for Γ given in meV."""
    gamma_meV = float(gamma_meV)
    if not gamma_meV > 0:
        raise ValueError(f"Γ must be positive (meV), got {gamma_meV}")
    return HBAR_MEV_PS / gamma_meV


def time_to_ps(t: float | np.ndarray, gamma_meV: float) -> float | np.ndarray:
    """Convert a time in units of 1/Γ to picoseconds."""
    return np.asarray(t) * time_unit_ps(gamma_meV) if np.ndim(t) else float(t) * time_unit_ps(gamma_meV)


def time_from_ps(t_ps: float | np.ndarray, gamma_meV: float) -> float | np.ndarray:
    """Convert a time in picoseconds to units of 1/Γ."""
    unit = time_unit_ps(gamma_meV)
    return np.asarray(t_ps) / unit if np.ndim(t_ps) else float(t_ps) / unit


def energy_to_meV(e: float | np.ndarray, gamma_meV: float) -> float | np.ndarray:
    """Convert an energy in units of Γ to meV."""
    return e * float(gamma_meV)


def energy_from_meV(e_meV: float | np.ndarray, gamma_meV: float) -> float | np.ndarray:
    """Convert an energy in meV to units of Γ."""
    return e_meV / float(gamma_meV)


def temperature_to_K(T: float | np.ndarray, gamma_meV: float) -> float | np.ndarray:
    """Convert a temperature k_B T given in units of Γ to kelvin."""
    return T * float(gamma_meV) / KB_MEV_PER_K


def rate_to_per_ps(rate: float | np.ndarray, gamma_meV: float) -> float | np.ndarray:
    """Convert a rate (or particle current) in units of Γ/ħ to 1/ps."""
    return rate / time_unit_ps(gamma_meV)


def current_to_nA(I_C: float | np.ndarray, gamma_meV: float) -> float | np.ndarray:
    """Convert a particle current in units of Γ/ħ to an electric current magnitude in nA."""
    return I_C / (time_unit_ps(gamma_meV) * 1e-12) * E_CHARGE_C * 1e9


def conductance_to_S(G: float | np.ndarray) -> float | np.ndarray:
    """Convert a conductance in units of e²/ħ to siemens."""
    return G * E2_OVER_HBAR_S


__all__ = [
    "HBAR_MEV_PS",
    "KB_MEV_PER_K",
    "E_CHARGE_C",
    "E2_OVER_HBAR_S",
    "time_unit_ps",
    "time_to_ps",
    "time_from_ps",
    "energy_to_meV",
    "energy_from_meV",
    "temperature_to_K",
    "rate_to_per_ps",
    "current_to_nA",
    "conductance_to_S",
]

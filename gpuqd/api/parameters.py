"""Physical parameters and energy units of the one-call API (:mod:`gpuqd.api`).

Energies are in units of Γ = (Γ_S + Γ_D)/2 inside gpuqd; the API takes the (ε̃, V) of a point or a map
in the unit the caller names, ``unit="U"`` (the charging energy, as the CLI grid and [G]'s axes) or
``unit="Gamma"``. Any other value raises, so a wrong guess cannot fail silently. All other energies
(``U``, ``T``, ``KV``, ...) are in Γ, times in 1/Γ (docs/physics.md §1).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

__all__ = [
    "ENERGY_UNITS",
    "MAGNET_KEYS",
    "PAPER_PARAMETERS",
    "TRANSPORT_KEYS",
    "check_unit",
    "config_sections",
    "energy_in_gamma",
]

#: the allowed values of ``unit``
ENERGY_UNITS = ("U", "Gamma")

#: the parameters of [G] (docs/physics.md §7; S = 1 as proposed in §6.4), energies in Γ
PAPER_PARAMETERS: Mapping[str, Any] = MappingProxyType(
    {
        "U": 1000.0,  # charging energy, U = 100 T
        "T": 10.0,  # electron temperature
        "gamma_S": 2.0 / 3.0,  # Γ_D = 2 Γ_S, (Γ_S + Γ_D)/2 = 1
        "gamma_D": 4.0 / 3.0,
        "p_S": 0.99,
        "p_D": 0.99,
        "order": 2,  # O(Γ) + O(Γ²)
        "n_theta": 384,  # θ nodes of the torque table (log-clustered at 0, π)
        "S": 1.0,  # macrospin length (ħ)
        "KV": 0.01,  # uniaxial anisotropy
        "alpha": 0.1,  # Gilbert damping
        "sigma2": 1.0e-4,  # thermal-field variance, T_m = σ²/(2α) = 5·10⁻⁴ Γ
    }
)
#: keyword parameters that go to the transport (``transport:``) and magnet (``magnet:``) sections
TRANSPORT_KEYS = ("U", "T", "gamma_S", "gamma_D", "p_S", "p_D", "order", "n_theta")
MAGNET_KEYS = ("S", "KV", "alpha", "sigma2", "T_m", "anisotropy", "K_cubic", "field", "free")


def check_unit(unit: Any) -> str:
    """``unit`` if it is "U" or "Gamma"; else ValueError naming the value and the allowed ones."""
    if not isinstance(unit, str) or unit not in ENERGY_UNITS:
        raise ValueError(f"unit={unit!r}: allowed 'U' (charging energy) or 'Gamma' (Γ = (Γ_S + Γ_D)/2)")
    return unit


def energy_in_gamma(value: float, unit: str, U: float) -> float:
    """An energy given in ``unit`` ("U" or "Gamma") in units of Γ (``U``: the charging energy in Γ)."""
    if check_unit(unit) == "Gamma":
        return float(value)
    if not U > 0:
        raise ValueError(f"unit='U' needs a charging energy U > 0, got U={U!r}; give energies with unit='Gamma'")
    return float(value) * float(U)


def config_sections(parameters: Mapping[str, Any], *, with_magnet: bool = True) -> dict[str, dict[str, Any]]:
    """The ``transport`` (and ``magnet``) configuration sections: :data:`PAPER_PARAMETERS` updated by
    ``parameters``. Unknown names raise TypeError naming them and the allowed ones; values are checked
    by the configuration validation (one line naming key, value and allowed range)."""
    allowed = TRANSPORT_KEYS + (MAGNET_KEYS if with_magnet else ())
    unknown = sorted(set(parameters) - set(allowed))
    if unknown:
        raise TypeError(f"unknown parameter(s) {unknown}; allowed: {', '.join(allowed)}")
    merged = dict(PAPER_PARAMETERS) | dict(parameters)
    sections = {"transport": {k: merged[k] for k in TRANSPORT_KEYS if k in merged}}
    if with_magnet:
        magnet = {k: merged[k] for k in MAGNET_KEYS if k in merged}
        if "T_m" in parameters and "sigma2" not in parameters:
            magnet.pop("sigma2", None)  # the magnet temperature given instead of the noise variance
        if "field" in magnet:
            magnet["field"] = [float(x) for x in magnet["field"]]
        sections["magnet"] = magnet
    return sections

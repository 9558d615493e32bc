"""Macrospin model parameters and the constant-torque provider (docs/physics.md §1, §6.1).

Units: energies (KV, K_cubic, fields, torques) in Γ (ħΓ for torques), S in ħ, times in 1/Γ,
σ² in Γ²·(1/Γ) (thermal field correlator ⟨h_i(t) h_j(t')⟩ = σ² δ_ij δ(t − t')).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FREE_MODES = ("drain", "both")


def _finite(name: str, value: float | None, lower: float | None = None, strict: bool = False) -> float:
    if value is None:
        raise ValueError(f"{name} must be given")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if lower is not None and (value <= lower if strict else value < lower):
        bound = f"> {lower}" if strict else f">= {lower}"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return value


@dataclass(frozen=True)
class Macrospin:
    """Drain macrospin n (|n| = 1) with energy (Γ)

        E(n) = −(KV/2) n_z² + K_cubic (a²b² + b²c² + c²a²) − field·n − h_x cos(Ω t) n_x,

    where a, b, c = n·e_a, n·e_b, n·e_c for the orthonormal rows e_a, e_b, e_c of ``cubic_axes``
    (identity by default). Sign convention of the cubic term (E_c = 0 on ⟨100⟩, K_cubic/4 on ⟨110⟩,
    K_cubic/3 on ⟨111⟩): K_cubic > 0 makes the cube axes easy and the ⟨111⟩ diagonals hard; K_cubic < 0
    makes the ⟨111⟩ diagonals easy — the case of [G]'s ref. 23 (Fe₇₈Ga₂₂, K_cubic V = −0.2 Γ, where
    the source along e_z is not an easy direction; configs/cubic.yaml, docs/physics.md §12.4).

    Parameters
    ----------
    S : macrospin length (ħ), > 0.
    KV : uniaxial anisotropy energy (Γ), ≥ 0; easy axis e_z.
    alpha : Gilbert damping in the [G] form (S ṅ = … − α n × ṅ), ≥ 0 (> 0 when there is noise).
    sigma2, T_m : give exactly one; σ² = 2 α T_m (thermal field variance rate), T_m the magnet
        temperature (Γ). Both ≥ 0.
    K_cubic : cubic anisotropy constant (Γ), any finite sign.
    cubic_axes : 3×3 orthonormal matrix whose rows are the cubic axes; None → identity.
    field : static field (Γ) entering as energy −field·n.
    ac_field : (h_x, Ω) for an AC drive −h_x cos(Ω t) n_x (Γ, Γ); None for no drive.
    free : "drain" (source fixed along e_z) or "both" (source macrospin free as well, same
        parameters, pushed by the source torque coefficients of the torque provider).
    """

    S: float = 1.0
    KV: float = 0.01
    alpha: float = 0.1
    sigma2: float | None = None
    T_m: float | None = None
    K_cubic: float = 0.0
    cubic_axes: tuple | np.ndarray | None = None
    field: tuple[float, float, float] = (0.0, 0.0, 0.0)
    ac_field: tuple[float, float] | None = None
    free: str = "drain"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "S", _finite("S", self.S, 0.0, strict=True))
        set_(self, "KV", _finite("KV", self.KV, 0.0))
        set_(self, "alpha", _finite("alpha", self.alpha, 0.0))
        if (self.sigma2 is None) == (self.T_m is None):
            raise ValueError("give exactly one of sigma2 (>= 0) or T_m (>= 0)")
        if self.sigma2 is not None:
            set_(self, "sigma2", _finite("sigma2", self.sigma2, 0.0))
        else:
            set_(self, "T_m", _finite("T_m", self.T_m, 0.0))
        if self.noise_variance > 0.0 and self.alpha <= 0.0:
            raise ValueError("alpha must be > 0 when the thermal noise is non-zero (sigma2 = 2 alpha T_m)")
        set_(self, "K_cubic", _finite("K_cubic", self.K_cubic))
        axes = np.eye(3) if self.cubic_axes is None else np.asarray(self.cubic_axes, dtype=float)
        if axes.shape != (3, 3) or not np.all(np.isfinite(axes)):
            raise ValueError("cubic_axes must be a finite 3x3 matrix whose rows are the cubic axes")
        if not np.allclose(axes @ axes.T, np.eye(3), atol=1e-9):
            raise ValueError("cubic_axes must be orthonormal (rows e_a, e_b, e_c with e_i·e_j = δ_ij to 1e-9)")
        set_(self, "cubic_axes", tuple(map(tuple, axes.tolist())))
        fld = tuple(_finite(f"field[{i}]", f) for i, f in enumerate(np.asarray(self.field, dtype=float)))
        if len(fld) != 3:
            raise ValueError("field must have 3 components (Γ)")
        set_(self, "field", fld)
        if self.ac_field is not None:
            if len(self.ac_field) != 2:
                raise ValueError("ac_field must be (h_x, Omega) or None")
            h_x = _finite("ac_field h_x", self.ac_field[0])
            omega = _finite("ac_field Omega", self.ac_field[1], 0.0)
            set_(self, "ac_field", (h_x, omega))
        if self.free not in FREE_MODES:
            raise ValueError(f"free must be one of {FREE_MODES}, got {self.free!r}")

    @property
    def noise_variance(self) -> float:
        """σ² (= 2 α T_m)."""
        return float(self.sigma2) if self.sigma2 is not None else 2.0 * self.alpha * float(self.T_m or 0.0)

    @property
    def temperature(self) -> float:
        """Magnet temperature T_m = σ²/(2α) (Γ); inf if α = 0 with σ² > 0 (never allowed)."""
        if self.T_m is not None:
            return float(self.T_m)
        return self.noise_variance / (2.0 * self.alpha) if self.alpha > 0 else 0.0

    @property
    def fastest_rate(self) -> float:
        """Upper estimate of the magnet's own precession rate (Γ): (KV + |field| + |h_x| + 4|K_cubic|)/S."""
        h_ac = abs(self.ac_field[0]) if self.ac_field is not None else 0.0
        return (self.KV + float(np.linalg.norm(self.field)) + h_ac + 4.0 * abs(self.K_cubic)) / self.S


@dataclass(frozen=True)
class ConstantTorque:
    """Angle-independent torque coefficients: I⊥ = I_FL e_FL + I_DL e_DL (docs/physics.md §1), in ħΓ,
    with e_FL = n_D × n_S, e_DL = n_D × (n_D × n_S) (both of norm sin θ).

    ``charge_current`` (Γ) is the constant returned as the readout I_C. ``source_field_like``,
    ``source_damping_like`` (ħΓ) are the coefficients of the torque on the source when both magnets
    are free, I^S⊥ = FL_S (n_S × n_D) + DL_S (n_S × (n_S × n_D)) (n_S ↔ n_D in the drain's
    definition); required with ``Macrospin(free="both")``, ignored otherwise.
    """

    field_like: float
    damping_like: float
    charge_current: float = 0.0
    source_field_like: float | None = None
    source_damping_like: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "field_like", _finite("field_like", self.field_like))
        object.__setattr__(self, "damping_like", _finite("damping_like", self.damping_like))
        object.__setattr__(self, "charge_current", _finite("charge_current", self.charge_current))
        if (self.source_field_like is None) != (self.source_damping_like is None):
            raise ValueError("give both source_field_like and source_damping_like, or neither")
        if self.source_field_like is not None:
            object.__setattr__(self, "source_field_like", _finite("source_field_like", self.source_field_like))
            object.__setattr__(self, "source_damping_like", _finite("source_damping_like", self.source_damping_like))

    @property
    def has_source(self) -> bool:
        """Whether the source torque coefficients are given (needed with free="both")."""
        return self.source_field_like is not None

    @property
    def max_abs_torque(self) -> float:
        """|I_FL| + |I_DL| (ħΓ), the drain's torque rate for the time-step guard."""
        return abs(self.field_like) + abs(self.damping_like)

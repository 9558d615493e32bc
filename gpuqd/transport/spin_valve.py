"""The quantum-dot spin valve: stationary state, currents and spin torques (spec §1, §3.5, §4.3).

Energies in one unit of the caller's choice (the docs use Γ = (Γ_S + Γ_D)/2); currents are particle
currents (energy unit / ħ) and spin currents (ħ × energy unit / ħ). Nothing assumes Γ = 1.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from gpuqd.transport.kernel import coefficient_vector, kernel_coefficients

#: Coupling/temperature ratio above which perturbation theory in Γ is questionable.
GAMMA_OVER_T_WARNING = 0.2
#: Angle offset (rad) for the collinear limit of I_FL, I_DL: Richardson from h and 2h, error O((h/w)⁴)
#: for features of width w (≳ 1e-4 rad), plus rounding ~1e-12/h relative.
COLLINEAR_STEP = 1e-5
#: Points per chunk when assembling and solving (bounds memory to ~50 MB).
CHUNK = 1024
#: Row of the generator replaced by the normalisation Tr ρ = P0 + P1 + P2 = 1.
_TRACE_ROW = 1


def drain_direction(theta: Any) -> np.ndarray:
    """n_D = (sin θ, 0, cos θ), shape (..., 3)."""
    theta = np.asarray(theta, dtype=float)
    return np.stack([np.sin(theta), np.zeros_like(theta), np.cos(theta)], axis=-1)


@dataclass
class TransportResult:
    """Stationary transport quantities; every array has the broadcast shape of the inputs (+ (3,)).

    charge_current : I_C = particle current into the drain (> 0 for V > 0).
    spin_current_drain, spin_current_source : spin currents into each lead (ħ per time).
    torque_field_like, torque_damping_like : coefficients I_FL, I_DL of e_FL = n_D × n_S and
        e_DL = n_D × (n_D × n_S) in the transverse spin current into the drain (spec §1);
        at collinear n_D, n_S: their limit (by solve) or NaN (by solve_vectors).
    source_field_like, source_damping_like : the same for the source, n_S ↔ n_D: coefficients of
        n_S × n_D and n_S × (n_S × n_D) in the transverse spin current into the source
        (docs/physics.md §12.2).
    occupations : (P0, P1, P2); dot_spin : ⟨S⟩ (spin ½ per electron).
    particle_current_source : I^N_S (= −I_C in the stationary state).
    """

    charge_current: np.ndarray
    particle_current_source: np.ndarray
    spin_current_drain: np.ndarray
    spin_current_source: np.ndarray
    torque_field_like: np.ndarray
    torque_damping_like: np.ndarray
    occupations: np.ndarray
    dot_spin: np.ndarray
    source_field_like: np.ndarray
    source_damping_like: np.ndarray


def _check_finite(name: str, value: Any) -> None:
    if not np.all(np.isfinite(np.asarray(value, dtype=float))):
        raise ValueError(f"{name} must be finite, got {value!r}")


class SpinValve:
    """Single level (ε̃ = ε + U/2, charging energy U) between a source (n_S) and a drain (n_D).

    Parameters (energies in one unit, e.g. Γ): U ≥ 0, T > 0, gamma_S > 0, gamma_D > 0 (Γ_r = 2π t_r² ρ0),
    p_S, p_D ∈ [0, 1). Bias V gives μ_S = +V/2, μ_D = −V/2.
    """

    def __init__(
        self,
        U: float,
        T: float,
        gamma_S: float,
        gamma_D: float,
        p_S: float,
        p_D: float,
        *,
        log_cutoff: float = 8.0,
    ) -> None:
        for name, value in (("U", U), ("T", T), ("gamma_S", gamma_S), ("gamma_D", gamma_D),
                            ("p_S", p_S), ("p_D", p_D), ("log_cutoff", log_cutoff)):
            _check_finite(name, value)
        if U < 0:
            raise ValueError(f"U must be >= 0 (allowed range [0, inf)), got {U}")
        if T <= 0:
            raise ValueError(f"T must be > 0 (allowed range (0, inf)), got {T}")
        for name, value in (("gamma_S", gamma_S), ("gamma_D", gamma_D)):
            if value <= 0:
                raise ValueError(f"{name} must be > 0 (allowed range (0, inf)), got {value}")
        for name, value in (("p_S", p_S), ("p_D", p_D)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must lie in [0, 1), got {value}")
        if max(gamma_S, gamma_D) / T > GAMMA_OVER_T_WARNING:
            warnings.warn(
                f"max(gamma_S, gamma_D)/T = {max(gamma_S, gamma_D) / T:.3g} > {GAMMA_OVER_T_WARNING}: "
                "perturbation theory in Γ is questionable",
                stacklevel=2,
            )
        self.U, self.T = float(U), float(T)
        self.gamma_S, self.gamma_D = float(gamma_S), float(gamma_D)
        self.p_S, self.p_D = float(p_S), float(p_D)
        self.log_cutoff = float(log_cutoff)

    def __repr__(self) -> str:
        return (f"SpinValve(U={self.U}, T={self.T}, gamma_S={self.gamma_S}, gamma_D={self.gamma_D}, "
                f"p_S={self.p_S}, p_D={self.p_D})")

    @property
    def parameters(self) -> dict[str, float]:
        return {"U": self.U, "T": self.T, "gamma_S": self.gamma_S, "gamma_D": self.gamma_D,
                "p_S": self.p_S, "p_D": self.p_D}

    # ------------------------------------------------------------------ kernel
    def kernel_coefficients(self, eps_tilde: Any, V: Any) -> np.ndarray:
        """K matrices (n, 2, 72, 6, 6) of :mod:`gpuqd.transport.kernel` for 1-D ε̃, V arrays."""
        return kernel_coefficients(np.ravel(eps_tilde), np.ravel(V), self.U, self.T, self.log_cutoff)

    def generator(self, coefficients: np.ndarray, n_S: Any, n_D: Any, order: int = 2) -> np.ndarray:
        """Lead-resolved generators W_r, shape (..., 2, 6, 6), from K (..., 2, 72, 6, 6).

        With K of one (ε̃, V) point (shape (2, 72, 6, 6)) the directions are contracted by one matrix
        product (the fast path used by the solves); otherwise K broadcasts against the directions.
        """
        c = coefficient_vector(
            (self.gamma_S, self.gamma_D),
            self.p_S * np.asarray(n_S, dtype=float),
            self.p_D * np.asarray(n_D, dtype=float),
            order,
        )
        if coefficients.ndim == 4:
            flat = coefficients.transpose(1, 0, 2, 3).reshape(coefficients.shape[1], -1)
            return (c @ flat).reshape(c.shape[:-1] + coefficients.shape[:1] + coefficients.shape[2:])
        return np.einsum("...k,...rkij->...rij", c, coefficients)

    # ------------------------------------------------------------------ solves
    def solve(self, eps_tilde: Any, V: Any, theta: Any, order: int = 2) -> TransportResult:
        """Stationary state and currents for n_S = e_z, n_D = (sin θ, 0, cos θ); arguments broadcast.

        At collinear θ (0 or π) I_FL and I_DL are their limits, from a Richardson extrapolation of
        solves at θ ± h and ± 2h, h = COLLINEAR_STEP.
        """
        theta = np.asarray(theta, dtype=float)
        result = self.solve_vectors(eps_tilde, V, np.array([0.0, 0.0, 1.0]), drain_direction(theta), order)
        sin_theta = np.abs(np.sin(np.broadcast_to(theta, result.charge_current.shape)))
        collinear = sin_theta < 1e-6
        if np.any(collinear):
            e_b, v_b, t_b = np.broadcast_arrays(np.asarray(eps_tilde, float), np.asarray(V, float), theta)
            direction = np.where(np.cos(t_b[collinear]) > 0, 1.0, -1.0)
            names = ("torque_field_like", "torque_damping_like", "source_field_like", "source_damping_like")
            values = []
            for step in (COLLINEAR_STEP, 2 * COLLINEAR_STEP):
                near = self.solve_vectors(
                    e_b[collinear], v_b[collinear], np.array([0.0, 0.0, 1.0]),
                    drain_direction(t_b[collinear] + direction * step), order,
                )
                values.append([getattr(near, name) for name in names])
            for k, name in enumerate(names):
                getattr(result, name)[collinear] = (4 * values[0][k] - values[1][k]) / 3
        return result

    def solve_vectors(self, eps_tilde: Any, V: Any, n_S: Any, n_D: Any, order: int = 2) -> TransportResult:
        """Stationary state for arbitrary unit vectors n_S, n_D (shape (..., 3)); arguments broadcast.

        I_FL, I_DL are the coefficients of e_FL = n_D × n_S, e_DL = n_D × (n_D × n_S); NaN where
        n_D ∥ n_S (use :meth:`solve` for the collinear limit).
        """
        if order not in (1, 2):
            raise ValueError(f"order must be 1 or 2, got {order!r}")
        eps_tilde = np.asarray(eps_tilde, dtype=float)
        V = np.asarray(V, dtype=float)
        n_S = np.asarray(n_S, dtype=float)
        n_D = np.asarray(n_D, dtype=float)
        _check_finite("eps_tilde", eps_tilde)
        _check_finite("V", V)
        for name, n in (("n_S", n_S), ("n_D", n_D)):
            _check_finite(name, n)
            if n.shape[-1:] != (3,) or not np.allclose(np.linalg.norm(n, axis=-1), 1.0, atol=1e-9):
                raise ValueError(f"{name} must be unit vectors of shape (..., 3)")
        shape = np.broadcast_shapes(eps_tilde.shape, V.shape, n_S.shape[:-1], n_D.shape[:-1])
        e_flat = np.broadcast_to(eps_tilde, shape).ravel()
        v_flat = np.broadcast_to(V, shape).ravel()
        ns_flat = np.broadcast_to(n_S, shape + (3,)).reshape(-1, 3)
        nd_flat = np.broadcast_to(n_D, shape + (3,)).reshape(-1, 3)

        pairs, inverse = np.unique(np.stack([e_flat, v_flat], axis=-1), axis=0, return_inverse=True)
        inverse = inverse.ravel()
        x = np.empty((e_flat.size, 6))
        lead_rates = np.empty((e_flat.size, 2, 6))
        for start in range(0, pairs.shape[0], CHUNK):
            stop = min(start + CHUNK, pairs.shape[0])
            coefficients = self.kernel_coefficients(pairs[start:stop, 0], pairs[start:stop, 1])
            members = np.flatnonzero((inverse >= start) & (inverse < stop))
            w = np.empty((members.size, 2, 6, 6))
            # Group the directions by (ε̃, V) point: one matrix product per point.
            owner = inverse[members] - start
            order_by_owner = np.argsort(owner, kind="stable")
            bounds = np.searchsorted(owner[order_by_owner], np.arange(stop - start + 1))
            for point in range(stop - start):
                rows = order_by_owner[bounds[point] : bounds[point + 1]]
                if rows.size:
                    w[rows] = self.generator(coefficients[point], ns_flat[members[rows]],
                                             nd_flat[members[rows]], order)
            x[members] = stationary_state(w.sum(axis=-3))
            lead_rates[members] = np.einsum("...rij,...j->...ri", w, x[members])
        return _assemble_result(x, lead_rates, ns_flat, nd_flat, shape)

    # ------------------------------------------------------------------ exchange field and resonances
    def exchange_phase(self, eps_tilde: Any, V: Any, lead: str) -> np.ndarray:
        """Φ_r = Re ψ(½ + i(ε + U − μ_r)/(2πT)) − Re ψ(½ + i(ε − μ_r)/(2πT)) (dimensionless, spec §3.4)."""
        from scipy.special import psi

        eps = np.asarray(eps_tilde, dtype=float) - 0.5 * self.U
        mu = (0.5 if lead == "S" else -0.5) * np.asarray(V, dtype=float)
        scale = 2.0 * np.pi * self.T
        return (np.real(psi(0.5 + 1j * (eps + self.U - mu) / scale))
                - np.real(psi(0.5 + 1j * (eps - mu) / scale)))

    def exchange_fields(self, eps_tilde: Any, V: Any, n_S: Any = (0.0, 0.0, 1.0),
                        n_D: Any = (0.0, 0.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
        """First-order exchange fields B_r = (p_r Γ_r/π) Φ_r n_r (energy; dS/dt ∋ S × B), shape (..., 3)."""
        phi_s = self.exchange_phase(eps_tilde, V, "S")[..., None]
        phi_d = self.exchange_phase(eps_tilde, V, "D")[..., None]
        b_s = self.p_S * self.gamma_S / np.pi * phi_s * np.asarray(n_S, dtype=float)
        b_d = self.p_D * self.gamma_D / np.pi * phi_d * np.asarray(n_D, dtype=float)
        return b_s, b_d

    def resonance_condition(self, eps_tilde: Any, V: Any, kind: str = "resonance") -> np.ndarray:
        """p_D Γ_D Φ_D ∓ p_S Γ_S Φ_S: zero on the resonance (−) or partner (+) line (spec §5.6)."""
        if kind not in ("resonance", "partner"):
            raise ValueError(f"kind must be 'resonance' or 'partner', got {kind!r}")
        sign = -1.0 if kind == "resonance" else 1.0
        return (self.p_D * self.gamma_D * self.exchange_phase(eps_tilde, V, "D")
                + sign * self.p_S * self.gamma_S * self.exchange_phase(eps_tilde, V, "S"))

    def resonance_lines(self, eps_tilde: Any, V_min: float, V_max: float, kind: str = "resonance",
                        n_scan: int = 4001) -> np.ndarray:
        """Bias values V(ε̃) on the resonance or partner line within [V_min, V_max].

        Returns an (n_eps, K) array, NaN-padded, roots sorted; found by a sign-change scan on
        ``n_scan`` points refined with Brent's method (tolerance 1e-10 × (V_max − V_min)).
        """
        from scipy.optimize import brentq

        eps_values = np.atleast_1d(np.asarray(eps_tilde, dtype=float))
        grid = np.linspace(V_min, V_max, n_scan)
        roots: list[list[float]] = []
        for eps in eps_values:
            values = self.resonance_condition(eps, grid, kind)
            found = []
            for k in np.flatnonzero(np.sign(values[:-1]) * np.sign(values[1:]) < 0):
                found.append(brentq(lambda v, e=eps: float(self.resonance_condition(e, v, kind)),
                                    grid[k], grid[k + 1], xtol=1e-10 * (V_max - V_min)))
            found += [float(grid[k]) for k in np.flatnonzero(values == 0.0)]
            roots.append(sorted(found))
        width = max([len(r) for r in roots] + [1])
        out = np.full((eps_values.size, width), np.nan)
        for i, r in enumerate(roots):
            out[i, : len(r)] = r
        return out


def stationary_state(generator: np.ndarray) -> np.ndarray:
    """Solve W x = 0 with P0 + P1 + P2 = 1 for (..., 6, 6) real generators W (spec §4.3)."""
    a = np.array(generator, dtype=float, copy=True)
    a[..., _TRACE_ROW, :] = (1.0, 1.0, 1.0, 0.0, 0.0, 0.0)
    rhs = np.zeros(a.shape[:-1])
    rhs[..., _TRACE_ROW] = 1.0
    try:
        return np.linalg.solve(a, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.empty(rhs.shape)
        flat_a, flat_b, flat_out = a.reshape(-1, 6, 6), rhs.reshape(-1, 6), out.reshape(-1, 6)
        for k in range(flat_a.shape[0]):
            flat_out[k] = np.linalg.lstsq(flat_a[k], flat_b[k], rcond=None)[0]
        return out


def _assemble_result(x: np.ndarray, lead_rates: np.ndarray, n_S: np.ndarray, n_D: np.ndarray,
                     shape: tuple[int, ...]) -> TransportResult:
    """Currents into each lead are minus the lead-resolved rates of change of N and S (spec §3.5)."""
    particle = -(lead_rates[..., 1] + 2.0 * lead_rates[..., 2])  # (n, 2): into S, into D
    spin = -lead_rates[..., 3:6]  # (n, 2, 3)
    spin_drain = spin[:, 1]
    field_like, damping_like = torque_coefficients(spin_drain, n_D, n_S)
    source_fl, source_dl = torque_coefficients(spin[:, 0], n_S, n_D)
    return TransportResult(
        charge_current=particle[:, 1].reshape(shape),
        particle_current_source=particle[:, 0].reshape(shape),
        spin_current_drain=spin_drain.reshape(shape + (3,)),
        spin_current_source=spin[:, 0].reshape(shape + (3,)),
        torque_field_like=field_like.reshape(shape),
        torque_damping_like=damping_like.reshape(shape),
        occupations=x[:, 0:3].reshape(shape + (3,)),
        dot_spin=x[:, 3:6].reshape(shape + (3,)),
        source_field_like=source_fl.reshape(shape),
        source_damping_like=source_dl.reshape(shape),
    )


def torque_coefficients(spin_current: np.ndarray, n_own: np.ndarray, n_other: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (FL, DL) of e_FL = n_own × n_other and e_DL = n_own × (n_own × n_other) in the
    transverse part of ``spin_current`` (into the lead of direction n_own), docs/physics.md §1;
    NaN where the directions are collinear. Shapes (..., 3) → (...)."""
    transverse = spin_current - n_own * np.sum(n_own * spin_current, axis=-1, keepdims=True)
    e_fl = np.cross(n_own, n_other)
    e_dl = np.cross(n_own, e_fl)
    norm2 = np.sum(e_fl * e_fl, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        safe = norm2 > 1e-24
        field_like = np.where(safe, np.sum(transverse * e_fl, axis=-1) / np.where(safe, norm2, 1.0), np.nan)
        damping_like = np.where(safe, np.sum(transverse * e_dl, axis=-1) / np.where(safe, norm2, 1.0), np.nan)
    return field_like, damping_like



"""The quantum-dot spin valve: stationary state, currents and spin torques (docs/physics.md §1, §3.5, §4.3).

Energies in one unit of the caller's choice (the docs use Γ = (Γ_S + Γ_D)/2); currents are particle
currents (energy unit / ħ) and spin currents (ħ × energy unit / ħ). Nothing assumes Γ = 1.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from gpuqd.transport.arrays import array_module, to_numpy
from gpuqd.transport.kernel import (
    angular_map,
    coefficient_vector,
    integral_vector,
    kernel_coefficients,
    monomials,
    sparse_on,
)
from gpuqd.transport.stationary import (
    COLLINEAR_SIN,
    TransportResult,
    assemble_result,
    assemble_result_angular,
    collinear_limits,
    stationary_derivative,
    stationary_state,
)

__all__ = ["SpinValve", "TransportResult", "drain_direction", "stationary_state"]

#: Coupling/temperature ratio above which perturbation theory in Γ is questionable.
GAMMA_OVER_T_WARNING = 0.2
#: (ε̃, V) points per kernel block, and directions per block of the direction contraction (bounds memory).
CHUNK = 256
MEMBER_CHUNK = 4096
_E_Z = np.array([0.0, 0.0, 1.0])


def drain_direction(theta: Any) -> np.ndarray:
    """n_D = (sin θ, 0, cos θ), shape (..., 3)."""
    theta = np.asarray(theta, dtype=float)
    return np.stack([np.sin(theta), np.zeros_like(theta), np.cos(theta)], axis=-1)


def _check_finite(name: str, value: Any) -> None:
    if not np.all(np.isfinite(np.asarray(value, dtype=float))):
        raise ValueError(f"{name} must be finite, got {value!r}")


def _check_order(order: Any) -> None:
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")


def _group(e_flat: np.ndarray, v_flat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (ε̃, V) pairs, the members sorted by pair, and the member bounds of each pair."""
    keys, inverse = np.unique(e_flat + 1j * v_flat, return_inverse=True)  # complex: lexicographic (ε̃, V)
    pairs = np.stack([keys.real, keys.imag], axis=-1)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(pairs.shape[0] + 1))
    return pairs, order, bounds


class SpinValve:
    """Single level (ε̃ = ε + U/2, charging energy U) between a source (n_S) and a drain (n_D).

    Parameters (energies in one unit, e.g. Γ): U ≥ 0, T > 0, gamma_S > 0, gamma_D > 0 (Γ_r = 2π t_r² ρ0),
    p_S, p_D ∈ [0, 1). Bias V gives μ_S = +V/2, μ_D = −V/2. ``backend`` ("numpy" or "cupy") is the array
    backend of the kernel build, the direction contraction and the stationary solves; results are NumPy.
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
        backend: str = "numpy",
    ) -> None:
        for name, value in (
            ("U", U),
            ("T", T),
            ("gamma_S", gamma_S),
            ("gamma_D", gamma_D),
            ("p_S", p_S),
            ("p_D", p_D),
            ("log_cutoff", log_cutoff),
        ):
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
        self.backend = backend
        self.xp = array_module(backend)
        self._angular_maps: dict[int, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the parameters only (the array module and the per-order angular maps are rebuilt), so a
        spin valve can travel to other processes with a work unit."""
        state = self.__dict__.copy()
        del state["xp"]
        state["_angular_maps"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.xp = array_module(self.backend)

    def __repr__(self) -> str:
        return (
            f"SpinValve(U={self.U}, T={self.T}, gamma_S={self.gamma_S}, gamma_D={self.gamma_D}, "
            f"p_S={self.p_S}, p_D={self.p_D})"
        )

    @property
    def parameters(self) -> dict[str, float]:
        return {
            "U": self.U,
            "T": self.T,
            "gamma_S": self.gamma_S,
            "gamma_D": self.gamma_D,
            "p_S": self.p_S,
            "p_D": self.p_D,
        }

    # ------------------------------------------------------------------ kernel
    def kernel_coefficients(self, eps_tilde: Any, V: Any, order: int = 2) -> Any:
        """K matrices (n, 2, 72, 6, 6) of :mod:`gpuqd.transport.kernel` for 1-D ε̃, V arrays (backend array)."""
        xp = self.xp
        return kernel_coefficients(
            xp.asarray(np.ravel(eps_tilde)), xp.asarray(np.ravel(V)), self.U, self.T, self.log_cutoff, order, xp
        )

    def angular_coefficients(self, eps_tilde: Any, V: Any, order: int = 2) -> Any:
        """A (n, 6, 2, 6, 6) with W_r(θ) = Σ_q φ_q(θ) A[q, r], φ = (1, s, c, s², sc, c²), for n_S = e_z,
        n_D = (sin θ, 0, cos θ) (docs/physics.md §4.5); backend array."""
        xp = self.xp
        if order not in self._angular_maps:
            self._angular_maps[order] = sparse_on(
                angular_map((self.gamma_S, self.gamma_D), (self.p_S, self.p_D), order), xp
            )
        z = integral_vector(
            xp.asarray(np.ravel(eps_tilde)), xp.asarray(np.ravel(V)), self.U, self.T, self.log_cutoff, order, xp
        )
        return (self._angular_maps[order] @ xp.ascontiguousarray(z.T)).T.reshape(z.shape[0], 6, 2, 6, 6)

    def generator(self, coefficients: Any, n_S: Any, n_D: Any, order: int = 2) -> Any:
        """Lead-resolved generators W_r, shape (..., 2, 6, 6), from K (..., 2, 72, 6, 6).

        With K of one (ε̃, V) point (shape (2, 72, 6, 6)) the directions are contracted by one matrix
        product; otherwise K broadcasts against the directions.
        """
        xp = self.xp
        c = coefficient_vector(
            (self.gamma_S, self.gamma_D),
            self.p_S * xp.asarray(n_S, dtype=float),
            self.p_D * xp.asarray(n_D, dtype=float),
            order,
            xp,
        )
        if coefficients.ndim == 4:
            flat = coefficients.transpose(1, 0, 2, 3).reshape(coefficients.shape[1], -1)
            return (c @ flat).reshape(c.shape[:-1] + coefficients.shape[:1] + coefficients.shape[2:])
        return xp.einsum("...k,...rkij->...rij", c, coefficients)

    # ------------------------------------------------------------------ solves
    def solve(self, eps_tilde: Any, V: Any, theta: Any, order: int = 2) -> TransportResult:
        """Stationary state and currents for n_S = e_z, n_D = (sin θ, 0, cos θ); arguments broadcast.

        Each distinct (ε̃, V) kernel is built once (as a polynomial in sin θ, cos θ). Where |sin θ| <
        COLLINEAR_SIN the torque coefficients are their collinear limits, from the analytic θ-derivative
        of the stationary solve (no extra kernels).
        """
        _check_order(order)
        eps_tilde, V, theta = (np.asarray(a, dtype=float) for a in (eps_tilde, V, theta))
        for name, value in (("eps_tilde", eps_tilde), ("V", V), ("theta", theta)):
            _check_finite(name, value)
        shape = np.broadcast_shapes(eps_tilde.shape, V.shape, theta.shape)
        e_flat, v_flat, t_flat = (np.broadcast_to(a, shape).ravel() for a in (eps_tilde, V, theta))
        pairs, members, bounds = _group(e_flat, v_flat)
        x = np.empty((t_flat.size, 6))
        rates = np.empty((t_flat.size, 2, 6))
        collinear = np.abs(np.sin(t_flat)) < COLLINEAR_SIN
        d_rates = np.zeros((t_flat.size, 2, 6))
        counts = np.diff(bounds)
        for start in range(0, pairs.shape[0], CHUNK):
            stop = min(start + CHUNK, pairs.shape[0])
            coefficients = self.angular_coefficients(pairs[start:stop, 0], pairs[start:stop, 1], order)
            step = max(1, MEMBER_CHUNK // int(counts[start:stop].max()))
            for s0 in range(start, stop, step):  # points padded to a common number of directions
                s1 = min(s0 + step, stop)
                width = int(counts[s0:s1].max())
                slot = np.arange(width)[None, :]
                valid = slot < counts[s0:s1, None]
                rows = members[np.minimum(bounds[s0:s1, None] + slot, members.size - 1)]
                theta_padded = np.where(valid, t_flat[rows], 0.5 * np.pi)
                xs, rs, ds = self._solve_points(
                    coefficients[s0 - start : s1 - start], theta_padded, valid & collinear[rows]
                )
                x[rows[valid]], rates[rows[valid]] = xs[valid], rs[valid]
                if ds is not None:
                    d_rates[rows[valid & collinear[rows]]] = ds
        result = assemble_result_angular(x, rates, t_flat, shape)
        if np.any(collinear):
            limits = collinear_limits(-rates[collinear, :, 3:6], -d_rates[collinear, :, 3:6], np.cos(t_flat[collinear]))
            for name, value in limits.items():
                getattr(result, name).reshape(-1)[collinear] = value
        return result

    def _solve_points(
        self, coefficients: Any, theta: np.ndarray, collinear: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """x (p, c, 6), lead rates W_r x (p, c, 2, 6) and, at the ``collinear`` members, d(W_r x)/dθ (k, 2, 6),
        for the directions θ (p, c) of the p points whose angular coefficients (p, 6, 2, 6, 6) are given.

        Per point: W(θ) = φ(θ) A summed over leads is one (c × 6)·(6 × 36) product; the rates use
        W_r x = Σ_{q,j} φ_q x_j A[q, r, :, j], one (c × 36)·(36 × 12) product."""
        xp = self.xp
        p, c = theta.shape
        summed = coefficients.sum(axis=2).reshape(p, 6, 36)
        by_lead = coefficients.transpose(0, 1, 4, 2, 3).reshape(p, 36, 12)
        phi, dphi = monomials(xp.asarray(theta), xp)  # (p, c, 6)
        generator = (phi @ summed).reshape(p, c, 6, 6)
        x = stationary_state(generator, xp)
        rates = ((phi[..., :, None] * x[..., None, :]).reshape(p, c, 36) @ by_lead).reshape(p, c, 2, 6)
        d_rates = None
        if np.any(collinear):
            k, j = (xp.asarray(i) for i in np.nonzero(collinear))
            ph, dph, xk = phi[k, j], dphi[k, j], x[k, j]
            d_generator = (dph[:, None, :] @ summed[k])[:, 0].reshape(-1, 6, 6)
            dx = stationary_derivative(generator[k, j], d_generator, xk, xp)
            d_outer = (dph[:, :, None] * xk[:, None, :] + ph[:, :, None] * dx[:, None, :]).reshape(-1, 1, 36)
            d_rates = to_numpy((d_outer @ by_lead[k])[:, 0].reshape(-1, 2, 6))
        return to_numpy(x), to_numpy(rates), d_rates

    def solve_vectors(self, eps_tilde: Any, V: Any, n_S: Any, n_D: Any, order: int = 2) -> TransportResult:
        """Stationary state for arbitrary unit vectors n_S, n_D (shape (..., 3)); arguments broadcast.

        Uses the general kernel K (all 72 polarisation coefficients). I_FL, I_DL are the coefficients of
        e_FL = n_D × n_S, e_DL = n_D × (n_D × n_S); NaN where n_D ∥ n_S (use :meth:`solve` for the limit).
        """
        _check_order(order)
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
        pairs, members, bounds = _group(e_flat, v_flat)
        x = np.empty((e_flat.size, 6))
        rates = np.empty((e_flat.size, 2, 6))
        xp = self.xp
        for start in range(0, pairs.shape[0], CHUNK):
            stop = min(start + CHUNK, pairs.shape[0])
            coefficients = self.kernel_coefficients(pairs[start:stop, 0], pairs[start:stop, 1], order)
            block = members[bounds[start] : bounds[stop]]
            owner_all = np.repeat(np.arange(stop - start), np.diff(bounds[start : stop + 1]))
            for m0 in range(0, block.size, MEMBER_CHUNK // 8):
                rows, owner = block[m0 : m0 + MEMBER_CHUNK // 8], owner_all[m0 : m0 + MEMBER_CHUNK // 8]
                c = coefficient_vector(
                    (self.gamma_S, self.gamma_D),
                    self.p_S * xp.asarray(ns_flat[rows]),
                    self.p_D * xp.asarray(nd_flat[rows]),
                    order,
                    xp,
                )
                w = xp.einsum("mk,mrkij->mrij", c, coefficients[xp.asarray(owner)])
                xs = stationary_state(w.sum(axis=1), xp)
                x[rows] = to_numpy(xs)
                rates[rows] = to_numpy((w @ xs[:, None, :, None])[..., 0])
        return assemble_result(x, rates, ns_flat, nd_flat, shape)

    # ------------------------------------------------------------------ exchange field and resonances
    def exchange_phase(self, eps_tilde: Any, V: Any, lead: str) -> np.ndarray:
        """Φ_r = Re ψ(½ + i(ε + U − μ_r)/(2πT)) − Re ψ(½ + i(ε − μ_r)/(2πT)) (dimensionless, docs/physics.md §3.4)."""
        from scipy.special import psi

        eps = np.asarray(eps_tilde, dtype=float) - 0.5 * self.U
        mu = (0.5 if lead == "S" else -0.5) * np.asarray(V, dtype=float)
        scale = 2.0 * np.pi * self.T
        return np.real(psi(0.5 + 1j * (eps + self.U - mu) / scale)) - np.real(psi(0.5 + 1j * (eps - mu) / scale))

    def exchange_fields(
        self, eps_tilde: Any, V: Any, n_S: Any = (0.0, 0.0, 1.0), n_D: Any = (0.0, 0.0, 1.0)
    ) -> tuple[np.ndarray, np.ndarray]:
        """First-order exchange fields B_r = (p_r Γ_r/π) Φ_r n_r (energy; dS/dt ∋ S × B), shape (..., 3)."""
        phi_s = self.exchange_phase(eps_tilde, V, "S")[..., None]
        phi_d = self.exchange_phase(eps_tilde, V, "D")[..., None]
        b_s = self.p_S * self.gamma_S / np.pi * phi_s * np.asarray(n_S, dtype=float)
        b_d = self.p_D * self.gamma_D / np.pi * phi_d * np.asarray(n_D, dtype=float)
        return b_s, b_d

    def resonance_condition(self, eps_tilde: Any, V: Any, kind: str = "resonance") -> np.ndarray:
        """p_D Γ_D Φ_D ∓ p_S Γ_S Φ_S: zero on the resonance (−) or partner (+) line (docs/physics.md §5.6)."""
        if kind not in ("resonance", "partner"):
            raise ValueError(f"kind must be 'resonance' or 'partner', got {kind!r}")
        sign = -1.0 if kind == "resonance" else 1.0
        return self.p_D * self.gamma_D * self.exchange_phase(
            eps_tilde, V, "D"
        ) + sign * self.p_S * self.gamma_S * self.exchange_phase(eps_tilde, V, "S")

    def resonance_lines(
        self, eps_tilde: Any, V_min: float, V_max: float, kind: str = "resonance", n_scan: int = 4001
    ) -> np.ndarray:
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
                found.append(
                    brentq(
                        lambda v, e=eps: float(self.resonance_condition(e, v, kind)),
                        grid[k],
                        grid[k + 1],
                        xtol=1e-10 * (V_max - V_min),
                    )
                )
            found += [float(grid[k]) for k in np.flatnonzero(values == 0.0)]
            roots.append(sorted(found))
        width = max([len(r) for r in roots] + [1])
        out = np.full((eps_values.size, width), np.nan)
        for i, r in enumerate(roots):
            out[i, : len(r)] = r
        return out

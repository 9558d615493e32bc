"""Legendre–Galerkin form of the axial Fokker–Planck equation, propagated exactly in time
(docs/physics.md §14, §16).

With u = cos θ, D = σ²/(2(S² + α²)) and f(u) = [α(KV u + h_z + I_FL(u)) − S I_DL(u)]/(S² + α²), the
equation of docs/physics.md §14 is

    ∂_t p = ∂_u[D (1 − u²) ∂_u p] − ∂_u[(1 − u²) f(u) p]      (zero flux at u = ±1).

In the Legendre basis p = Σ_l c_l P_l(u) the diffusion operator is diagonal, ∂_u[(1 − u²) P_l'] = −l(l+1) P_l,
and the Galerkin projection of the drift term (integrated by parts; the boundary term vanishes because
1 − u² does) gives

    dc_k/dt = −D k(k+1) c_k + (2k + 1)/2 Σ_l c_l ∫ P_k'(u) (1 − u²) f(u) P_l(u) du .

The k = 0 row vanishes, so probability is conserved exactly; the no-flux boundary conditions are natural.
The time evolution over a segment of constant torques is the exact operator exp(M t) (no time steps). The
integrals use Gauss–Legendre panels in θ that break at the torque table's nodes (its interpolant is a
piecewise cubic in the table coordinate) and are narrower than 2π/(3 L), 10 nodes each.
Unlike the finite-volume scheme of fokker_planck.py (upwind-like numerical diffusion, which decides the
small tails a write-error rate consists of), the error falls exponentially with the degree L wherever the
density is smooth; :func:`gpuqd.observables.write_error.write_error_rate_fp` checks it at two degrees.
Units: times in 1/Γ, energies in Γ.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import legendre
from scipy.linalg import expm

from gpuqd.dynamics.model import ConstantTorque, Macrospin
from gpuqd.observables.fokker_planck import check_axial
from gpuqd.transport.torque_table import TorqueTable, node_s, theta_of_s

#: Gauss–Legendre nodes per θ panel of the Galerkin integrals.
PANEL_NODES = 10


def legendre_table(degree: int, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P_l(u) and (1 − u²) P_l'(u) for l = 0 … degree−1, shape (degree, u.size) (three-term recurrences)."""
    values = np.empty((degree, u.size))
    weighted_slope = np.zeros((degree, u.size))
    values[0] = 1.0
    if degree > 1:
        values[1] = u
    for n in range(1, degree - 1):
        values[n + 1] = ((2 * n + 1) * u * values[n] - n * values[n - 1]) / (n + 1)
    for n in range(1, degree):  # (1 − u²) P_n' = n (P_{n−1} − u P_n)
        weighted_slope[n] = n * (values[n - 1] - u * values[n])
    return values, weighted_slope


def theta_panels(breaks: np.ndarray, max_width: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes θ and weights for ∫ dθ over [0, π], panels split at ``breaks`` and no wider
    than ``max_width`` (rad)."""
    edges = np.unique(np.concatenate([[0.0, math.pi], breaks[(breaks > 0) & (breaks < math.pi)]]))
    pieces = np.maximum(np.ceil(np.diff(edges) / max_width), 1).astype(int)
    fine = np.unique(
        np.concatenate([np.linspace(a, b, k + 1) for a, b, k in zip(edges[:-1], edges[1:], pieces, strict=True)])
    )
    x, w = legendre.leggauss(PANEL_NODES)
    half = 0.5 * np.diff(fine)
    mid = 0.5 * (fine[1:] + fine[:-1])
    return (mid[:, None] + half[:, None] * x).ravel(), (half[:, None] * w).ravel()


class LegendreFokkerPlanck:
    """Galerkin generators of the axial Fokker–Planck equation of one magnet for several torque rows.

    magnet : axial Macrospin (gpuqd.observables.fokker_planck.check_axial).
    torque : ConstantTorque, or a TorqueTable (rows chosen per call by grid-point index).
    degree : number L of Legendre polynomials (degree L − 1).
    """

    def __init__(self, magnet: Macrospin, torque: ConstantTorque | TorqueTable, degree: int) -> None:
        check_axial(magnet)
        if int(degree) < 4:
            raise ValueError(f"degree must be >= 4, got {degree}")
        self.magnet, self.torque, self.degree = magnet, torque, int(degree)
        breaks = torque.theta_nodes if isinstance(torque, TorqueTable) else theta_of_s(node_s(64))
        theta, w_theta = theta_panels(np.asarray(breaks), 2.0 * math.pi / (3.0 * self.degree))
        self.u = np.cos(theta)
        self.weights = w_theta * np.sin(theta)  # ∫ g du = Σ w g(u)
        self.values, self.weighted_slope = legendre_table(self.degree, self.u)
        denom = magnet.S**2 + magnet.alpha**2
        self.diffusion = magnet.noise_variance / (2.0 * denom)
        self._generators: dict[int, np.ndarray] = {}
        self._hemisphere_rules: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def torques(self, point: int, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(I_FL, I_DL, I_C) of torque row ``point`` at u = cos θ."""
        if isinstance(self.torque, ConstantTorque):
            t = self.torque
            return tuple(np.full(u.size, v) for v in (t.field_like, t.damping_like, t.charge_current))  # type: ignore[return-value]
        fl, dl, ic = self.torque.evaluate(np.full(u.size, point), u)
        return np.asarray(fl, float), np.asarray(dl, float), np.asarray(ic, float)

    def generator(self, point: int, keep: bool = True) -> np.ndarray:
        """(L, L) matrix M with dc/dt = M c for torque row ``point`` (0 for a ConstantTorque); kept for the
        next call unless ``keep`` is False (a map over many rows: L² doubles each)."""
        if point in self._generators:
            return self._generators[point]
        m = self.magnet
        fl, dl, _ = self.torques(point, self.u)
        drift = (m.alpha * (m.KV * self.u + m.field[2] + fl) - m.S * dl) / (m.S**2 + m.alpha**2)
        k = np.arange(self.degree)
        matrix = (self.weighted_slope * (self.weights * drift)) @ self.values.T
        matrix *= ((2 * k + 1) / 2.0)[:, None]
        matrix[k, k] -= self.diffusion * k * (k + 1)
        if keep:
            self._generators[point] = matrix
        return matrix

    def evolve(self, point: int, duration: float, coefficients: np.ndarray, keep: bool = True) -> np.ndarray:
        """exp(M t) c: coefficients (L,) or (L, k) after ``duration`` (1/Γ) at torque row ``point``
        (``keep``: as in :meth:`generator`)."""
        if duration == 0.0:
            return coefficients
        return expm(self.generator(point, keep) * float(duration)) @ coefficients

    def project(self, density_u: np.ndarray, weights_u: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Legendre coefficients c_l = (2l + 1)/2 ∫ p P_l du of a density given on quadrature nodes
        ``u`` with weights ``weights_u`` (exact for the rule)."""
        values, _ = legendre_table(self.degree, u)
        return (2 * np.arange(self.degree) + 1) / 2.0 * (values @ (weights_u * density_u))

    def hemisphere_mass(self, coefficients: np.ndarray, sign: int) -> np.ndarray:
        """∫ p du over u > 0 (sign = +1) or u < 0 (sign = −1), exact for the polynomial."""
        if sign not in self._hemisphere_rules:  # Gauss rule on the hemisphere, built once per sign
            x, w = legendre.leggauss(self.degree + 2)
            values, _ = legendre_table(self.degree, 0.5 * (x + 1.0) * sign)
            self._hemisphere_rules[sign] = (0.5 * w, values.T)
        half_weights, values_t = self._hemisphere_rules[sign]
        return half_weights @ (values_t @ coefficients)

    def expectation(self, coefficients: np.ndarray, observable: np.ndarray) -> np.ndarray:
        """∫ g(u) p(u) du for g given at the Galerkin quadrature nodes (self.u)."""
        return (self.weights * observable) @ (self.values.T @ coefficients)

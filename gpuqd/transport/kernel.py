"""Per-(ε̃, V) kernel coefficients: the generator as a polynomial in the lead polarisations.

For one (ε̃, V) point the full kernel of lead r (first + second order, split by the lead of the
left-most vertex, spec §3.5) acting on x = (P0, P1, P2, Sx, Sy, Sz) is

    W_r = Σ_k c_k(Γ_S, Γ_D, P_S, P_D) K[r, k],   k = 0 … 71,

with the coefficient vector (spec §4.5)
    c[0:8]  = Γ_q P_q^μ            (first order, lead q, μ = 0..3, P^0 = 1, P = p n),
    c[8:72] = Γ_a Γ_b P_a^μ P_b^ν  (second order, lead pair (a, b) = (r_u, r_v), μ, ν = 0..3),
and real 6×6 matrices K that depend on (ε̃, V, U, T) only. Building K is the expensive part
(frequency integrals); any direction of either magnet is then a 72-term sum and a 6×6 solve.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gpuqd.transport.frequency_integrals import first_order_basis, second_order_basis
from gpuqd.transport.kernel_terms import N_PHYS, first_order_map, second_order_map
from gpuqd.transport.liouville import physical_to_real_basis

N_FIRST = 8
N_COEFFICIENTS = 72


def _to_real_basis(k_complex: np.ndarray) -> np.ndarray:
    """Change a (..., 6, 6) physical-subspace matrix to the basis x = (P0, P1, P2, S) (complex result;
    its imaginary part vanishes for Hermiticity-preserving kernels)."""
    to_rho, to_x = physical_to_real_basis()
    return to_x @ k_complex @ to_rho


def kernel_coefficients_complex(
    eps_tilde: np.ndarray, V: np.ndarray, U: float, T: float, log_cutoff: float = 8.0
) -> np.ndarray:
    """As :func:`kernel_coefficients` before dropping the (vanishing) imaginary part."""
    eps_tilde = np.atleast_1d(np.asarray(eps_tilde, dtype=float))
    V = np.atleast_1d(np.asarray(V, dtype=float))
    n = eps_tilde.size
    eps = eps_tilde - 0.5 * U
    basis1 = np.stack([first_order_basis(e, U, v, T, log_cutoff).ravel() for e, v in zip(eps, V, strict=True)])
    basis2 = np.stack([second_order_basis(e, U, v, T, log_cutoff).ravel() for e, v in zip(eps, V, strict=True)])

    out = np.zeros((n, 2, N_COEFFICIENTS, N_PHYS, N_PHYS), dtype=complex)
    k1 = _to_real_basis((basis1 @ first_order_map().T).reshape(n, 2, 4, N_PHYS, N_PHYS))
    for lead in (0, 1):
        out[:, lead, 4 * lead : 4 * lead + 4] = k1[:, lead]
    for (r_u, r_v), mapping in second_order_map().items():
        k2 = _to_real_basis((mapping @ basis2.T).T.reshape(n, 2, 16, N_PHYS, N_PHYS))
        slots = slice(N_FIRST + 16 * (2 * r_u + r_v), N_FIRST + 16 * (2 * r_u + r_v) + 16)
        out[:, r_v, slots] += k2[:, 0]  # X pairing: left-most vertex in the v-pair
        out[:, r_u, slots] += k2[:, 1]  # D pairing: left-most vertex in the u-pair
    return out


def kernel_coefficients(
    eps_tilde: np.ndarray, V: np.ndarray, U: float, T: float, log_cutoff: float = 8.0
) -> np.ndarray:
    """Coefficient matrices K of shape (n_points, 2 leads, 72, 6, 6) for 1-D arrays ε̃, V."""
    return np.ascontiguousarray(np.real(kernel_coefficients_complex(eps_tilde, V, U, T, log_cutoff)))


def coefficient_vector(
    gamma: tuple[float, float], polarisation_S: Any, polarisation_D: Any, order: int
) -> np.ndarray:
    """c_k of the module docstring, shape (..., 72); polarisations P_r = p_r n_r of shape (..., 3)."""
    ps = np.asarray(polarisation_S, dtype=float)
    pd = np.asarray(polarisation_D, dtype=float)
    shape = np.broadcast_shapes(ps.shape, pd.shape)[:-1]
    one = np.ones(shape + (1,))
    full = [
        gamma[0] * np.concatenate([one, np.broadcast_to(ps, shape + (3,))], axis=-1),
        gamma[1] * np.concatenate([one, np.broadcast_to(pd, shape + (3,))], axis=-1),
    ]
    c = np.zeros(shape + (N_COEFFICIENTS,))
    c[..., 0:4], c[..., 4:8] = full[0], full[1]
    if order >= 2:
        for r_u in (0, 1):
            for r_v in (0, 1):
                start = N_FIRST + 16 * (2 * r_u + r_v)
                pair = full[r_u][..., :, None] * full[r_v][..., None, :]
                c[..., start : start + 16] = pair.reshape(shape + (16,))
    return c

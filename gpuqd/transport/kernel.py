"""Per-(ε̃, V) kernel coefficients: the generator as a polynomial in the lead polarisations.

For one (ε̃, V) point the full kernel of lead r (first + second order, split by the lead of the
left-most vertex, docs/physics.md §3.5) acting on x = (P0, P1, P2, Sx, Sy, Sz) is

    W_r = Σ_k c_k(Γ_S, Γ_D, P_S, P_D) K[r, k],   k = 0 … 71,

with the coefficient vector (docs/physics.md §4.5)
    c[0:8]  = Γ_q P_q^μ            (first order, lead q, μ = 0..3, P^0 = 1, P = p n),
    c[8:72] = Γ_a Γ_b P_a^μ P_b^ν  (second order, lead pair (a, b) = (r_u, r_v), μ, ν = 0..3),
and real 6×6 matrices K that depend on (ε̃, V, U, T) only. K is one linear map of the frequency
integrals (:mod:`gpuqd.transport.frequency_integrals`): the *integral vector* z of a point holds the
real and imaginary parts of the 12 first-order basis values and of the 160 second-order basis integrals
that are used by the kernel terms and do not vanish identically (order 1: the first 24 entries only).

The map from z to K (:func:`general_map`) is the one source of truth. For the fixed geometry
n_S = e_z, n_D = (sin θ, 0, cos θ) the coefficients c_k are polynomials in (sin θ, cos θ) of degree ≤ 2,
so W_r(θ) = Σ_q φ_q(θ) A[q, r] with φ = (1, s, c, s², sc, c²); :func:`angular_map` contracts the general
map with those polynomials once per spin valve, so a point costs one small matrix product.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType
from typing import Any

import numpy as np
import scipy.sparse as sparse

from gpuqd.transport.frequency_integrals import first_order_basis, second_order_basis
from gpuqd.transport.kernel_terms import (
    FIRST_ORDER_SHAPE,
    N_PHYS,
    SECOND_ORDER_SHAPE,
    first_order_map,
    second_order_map,
)
from gpuqd.transport.liouville import physical_to_real_basis

N_FIRST = 8
N_COEFFICIENTS = 72
N_FIRST_INTEGRALS = int(np.prod(FIRST_ORDER_SHAPE))
#: Monomials φ_q(θ) of the angular form: (1, s, c, s², sc, c²) with s = sin θ, c = cos θ.
N_MONOMIALS = 6


@cache
def second_order_columns() -> np.ndarray:
    """Flat indices (in SECOND_ORDER_SHAPE) of the second-order integrals that are computed: used by the
    kernel terms, and neither a = 0 (ν = 1) nor (X, b = 0), which vanish identically."""
    used = np.zeros(int(np.prod(SECOND_ORDER_SHAPE)), dtype=bool)
    for mapping in second_order_map().values():
        used[np.unique(mapping.tocoo().col)] = True
    kind, a, b = np.unravel_index(np.arange(used.size), SECOND_ORDER_SHAPE)[:3]
    vanishing = (a == 0) | ((kind == 0) & (b == 0))
    return np.flatnonzero(used & ~vanishing)


def integral_count(order: int) -> int:
    """Length of the integral vector z at ``order``."""
    return 2 * N_FIRST_INTEGRALS + (2 * second_order_columns().size if order >= 2 else 0)


def integral_vector(
    eps_tilde: Any, V: Any, U: float, T: float, log_cutoff: float = 8.0, order: int = 2, xp: ModuleType = np
) -> Any:
    """Real integral vectors z, shape (n, integral_count(order)), for 1-D arrays ε̃, V (energy unit of U)."""
    eps = xp.asarray(eps_tilde, dtype=float) - 0.5 * U
    V = xp.asarray(V, dtype=float)
    b1 = first_order_basis(eps, U, V, T, log_cutoff, xp).reshape(eps.shape[0], -1)
    parts = [b1.real, b1.imag]
    if order >= 2:
        columns = xp.asarray(second_order_columns())
        b2 = second_order_basis(eps, U, V, T, log_cutoff, xp).reshape(eps.shape[0], -1)[:, columns]
        parts += [b2.real, b2.imag]
    return xp.concatenate(parts, axis=1)


@cache
def _complex_map() -> sparse.csr_matrix:
    """Complex map (2 leads · 72 · 36 rows in the x basis) from the complex basis values
    [b1 (12), b2 at second_order_columns()] to K."""
    columns = second_order_columns()
    compact = np.full(int(np.prod(SECOND_ORDER_SHAPE)), -1)
    compact[columns] = np.arange(columns.size) + N_FIRST_INTEGRALS
    n_cols = N_FIRST_INTEGRALS + columns.size
    block = N_PHYS * N_PHYS
    rows, cols, vals = [], [], []
    first = first_order_map().reshape(2, 4, block, N_FIRST_INTEGRALS)
    for lead in (0, 1):
        for mu in range(4):
            r, c = np.nonzero(first[lead, mu])
            rows.append((lead * N_COEFFICIENTS + 4 * lead + mu) * block + r)
            cols.append(c)
            vals.append(first[lead, mu][r, c])
    for (r_u, r_v), mapping in second_order_map().items():
        coo = mapping.tocoo()
        kind, mu_nu, e = np.unravel_index(coo.row, (2, 16, block))
        keep = compact[coo.col] >= 0  # the dropped columns are identically zero integrals
        leads = np.where(kind == 0, r_v, r_u)  # X: left-most vertex in the v-pair; D: in the u-pair
        slot = N_FIRST + 16 * (2 * r_u + r_v) + mu_nu
        rows.append(((leads * N_COEFFICIENTS + slot) * block + e)[keep])
        cols.append(compact[coo.col][keep])
        vals.append(coo.data[keep])
    rho_map = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(2 * N_COEFFICIENTS * block, n_cols),
    )
    to_rho, to_x = physical_to_real_basis()
    change = sparse.kron(sparse.identity(2 * N_COEFFICIENTS), sparse.csr_matrix(np.kron(to_x, to_rho.T)))
    out = (change @ rho_map).tocsr()
    out.data[np.abs(out.data) < 1e-300] = 0.0
    out.eliminate_zeros()
    return out


@cache
def general_map(order: int) -> sparse.csr_matrix:
    """Real sparse map z → K (rows: lead, k, 6·6), i.e. K = Re(M b) written on [Re b, Im b]."""
    m = _complex_map()
    n1 = N_FIRST_INTEGRALS
    re, im = m.real.tocsr(), m.imag.tocsr()
    blocks = [re[:, :n1], -im[:, :n1]]
    if order >= 2:
        blocks += [re[:, n1:], -im[:, n1:]]
    out = sparse.hstack(blocks).tocsr()
    out.eliminate_zeros()
    return out


def angular_polynomials(gamma: tuple[float, float], p: tuple[float, float], order: int) -> np.ndarray:
    """C (72, 6) with c_k(θ) = Σ_q C[k, q] φ_q(θ) for n_S = e_z, n_D = (sin θ, 0, cos θ)."""
    # Each Γ_r P_r^μ as a linear form in (1, s, c).
    linear = np.zeros((2, 4, 3))
    linear[0, 0, 0], linear[0, 3, 0] = gamma[0], gamma[0] * p[0]
    linear[1, 0, 0], linear[1, 1, 1], linear[1, 3, 2] = gamma[1], gamma[1] * p[1], gamma[1] * p[1]
    to_monomial = np.array([[0, 1, 2], [1, 3, 4], [2, 4, 5]])  # (1,s,c)⊗(1,s,c) → (1,s,c,s²,sc,c²)
    out = np.zeros((N_COEFFICIENTS, N_MONOMIALS))
    out[0:4, 0:3], out[4:8, 0:3] = linear[0], linear[1]
    if order >= 2:
        for r_u in (0, 1):
            for r_v in (0, 1):
                start = N_FIRST + 16 * (2 * r_u + r_v)
                product = linear[r_u][:, None, :, None] * linear[r_v][None, :, None, :]  # (μ, ν, 3, 3)
                for i in range(3):
                    for j in range(3):
                        out[start : start + 16, to_monomial[i, j]] += product[:, :, i, j].reshape(16)
    return out


def angular_map(gamma: tuple[float, float], p: tuple[float, float], order: int) -> sparse.csr_matrix:
    """Sparse real map (6 monomials · 2 leads · 36, n_z): map @ z = A[q, r] flattened, W_r(θ) = Σ_q φ_q A[q, r].

    Sparse (≈ 4 % filled), and a sparse product accumulates each output in a fixed order, so a point's
    result does not depend on the other points of its batch."""
    g = general_map(order).toarray().reshape(2, N_COEFFICIENTS, N_PHYS * N_PHYS, -1)
    c = angular_polynomials(gamma, p, order)
    out = sparse.csr_matrix(np.einsum("kq,rkez->qrez", c, g).reshape(-1, g.shape[-1]))
    out.eliminate_zeros()
    return out


def monomials(theta: Any, xp: ModuleType = np) -> tuple[Any, Any]:
    """φ_q(θ) and dφ_q/dθ, each of shape θ.shape + (6,)."""
    s, c = xp.sin(theta), xp.cos(theta)
    one, zero = xp.ones_like(s), xp.zeros_like(s)
    phi = xp.stack([one, s, c, s * s, s * c, c * c], axis=-1)
    dphi = xp.stack([zero, c, -s, 2 * s * c, c * c - s * s, -2 * s * c], axis=-1)
    return phi, dphi


def kernel_from_basis(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Complex K (n, 2, 72, 6, 6) from basis values of any evaluation (NumPy): ``first`` (n, 4, 3) and
    ``second`` (n, 2, 3, 3, 3, 4, 4) in the layout of :mod:`gpuqd.transport.frequency_integrals`; the
    identically vanishing second-order entries are not read."""
    n = first.shape[0]
    b = np.concatenate([first.reshape(n, -1), second.reshape(n, -1)[:, second_order_columns()]], axis=1)
    return (_complex_map() @ b.T).T.reshape(n, 2, N_COEFFICIENTS, N_PHYS, N_PHYS)


def kernel_coefficients_complex(
    eps_tilde: np.ndarray, V: np.ndarray, U: float, T: float, log_cutoff: float = 8.0
) -> np.ndarray:
    """K before dropping its (vanishing) imaginary part, shape (n, 2, 72, 6, 6) (NumPy; for tests)."""
    eps = np.atleast_1d(np.asarray(eps_tilde, dtype=float)) - 0.5 * U
    V = np.atleast_1d(np.asarray(V, dtype=float))
    return kernel_from_basis(first_order_basis(eps, U, V, T, log_cutoff), second_order_basis(eps, U, V, T, log_cutoff))


def kernel_coefficients(
    eps_tilde: Any, V: Any, U: float, T: float, log_cutoff: float = 8.0, order: int = 2, xp: ModuleType = np
) -> Any:
    """Coefficient matrices K of shape (n_points, 2 leads, 72, 6, 6) for 1-D arrays ε̃, V."""
    z = integral_vector(
        xp.atleast_1d(xp.asarray(eps_tilde, dtype=float)),
        xp.atleast_1d(xp.asarray(V, dtype=float)),
        U,
        T,
        log_cutoff,
        order,
        xp,
    )
    return (sparse_on(general_map(order), xp) @ xp.ascontiguousarray(z.T)).T.reshape(
        -1, 2, N_COEFFICIENTS, N_PHYS, N_PHYS
    )


def sparse_on(matrix: sparse.csr_matrix, xp: ModuleType) -> Any:
    """``matrix`` as a sparse matrix of the backend of ``xp``."""
    if xp is np:
        return matrix
    import cupyx.scipy.sparse as cupy_sparse  # pragma: no cover - needs a GPU

    return cupy_sparse.csr_matrix(matrix)  # pragma: no cover


def coefficient_vector(
    gamma: tuple[float, float], polarisation_S: Any, polarisation_D: Any, order: int, xp: ModuleType = np
) -> Any:
    """c_k of the module docstring, shape (..., 72); polarisations P_r = p_r n_r of shape (..., 3)."""
    ps = xp.asarray(polarisation_S, dtype=float)
    pd = xp.asarray(polarisation_D, dtype=float)
    shape = tuple(np.broadcast_shapes(ps.shape, pd.shape)[:-1])
    one = xp.ones(shape + (1,))
    full = [
        gamma[0] * xp.concatenate([one, xp.broadcast_to(ps, shape + (3,))], axis=-1),
        gamma[1] * xp.concatenate([one, xp.broadcast_to(pd, shape + (3,))], axis=-1),
    ]
    c = xp.zeros(shape + (N_COEFFICIENTS,))
    c[..., 0:4], c[..., 4:8] = full[0], full[1]
    if order >= 2:
        for r_u in (0, 1):
            for r_v in (0, 1):
                start = N_FIRST + 16 * (2 * r_u + r_v)
                pair = full[r_u][..., :, None] * full[r_v][..., None, :]
                c[..., start : start + 16] = pair.reshape(shape + (16,))
    return c

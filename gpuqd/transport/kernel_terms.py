"""Symbolic enumeration of the first- and fourth-order kernel terms (docs/physics.md §3.3, §4.1).

Everything here is independent of the model parameters. Each kernel term is a product of tunnelling
vertex superoperators times a frequency integral; the integrals are expanded on a small basis
(see :mod:`gpuqd.transport.frequency_integrals`), the spin-channel sums are written with the lead
coupling matrices Γ^r = Γ_r Σ_μ P_r^μ σ^μ (P^0 = 1, P = p_r n_r). The result is a pair of linear maps

* ``first_order_map[r]``: basis values (λ, b) → K1[r, μ, f, i]
* ``second_order_map[(r_u, r_v)]``: basis values (kind, a, b, λ2, λ1, λ3) → K2[kind, μ, ν, f, i]

with f, i running over the six physical Liouville elements. The kernel of lead r (the lead of the
left-most vertex) is then W_r = Γ_r Σ_μ P_r^μ K1[r, μ] + Σ Γ_{r_u} Γ_{r_v} P_{r_u}^μ P_{r_v}^ν K2[...]
(docs/physics.md §4.5: a polynomial of degree ≤ 2 in the polarisation vectors).

Basis conventions (shared with the integral evaluation):
* contraction functions ν ∈ {1, f_{+V/2}, f_{−V/2}} (index a), since ν_{s,m} = δ_{s,−1} + s f_m;
* J functions J ∈ {1, L − ψ_{+V/2}, L − ψ_{−V/2}} (index b), since J_{s,m} = s (L − ψ_m) − iπ/2;
* the signed chemical potential of a contraction is m = η μ_r with μ_S = +V/2, μ_D = −V/2.
"""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np
import scipy.sparse as sparse

from gpuqd.transport.liouville import (
    PAULI,
    PHYSICAL_INDICES,
    liouville_energy_coefficients,
    vertex_superoperator,
)

#: λ of Liouville elements whose particle-number difference is ±1, as (coef of ε, coef of U).
LAMBDA_ODD = ((1, 0), (-1, 0), (1, 1), (-1, -1))
#: λ of elements with particle-number difference 0 or ±2.
LAMBDA_EVEN = ((0, 0), (2, 1), (-2, -1))
#: Sign of μ_r: source μ_S = +V/2, drain μ_D = −V/2.
LEAD_SIGN = (+1, -1)
KINDS = ("X", "D")
N_PHYS = len(PHYSICAL_INDICES)
SIGNS = (+1, -1)

_ODD_INDEX = {lam: k for k, lam in enumerate(LAMBDA_ODD)}
_EVEN_INDEX = {lam: k for k, lam in enumerate(LAMBDA_EVEN)}
_PHYS_INDEX = {int(k): n for n, k in enumerate(PHYSICAL_INDICES)}

FIRST_ORDER_SHAPE = (len(LAMBDA_ODD), 3)  # (λ, b)
SECOND_ORDER_SHAPE = (2, 3, 3, len(LAMBDA_EVEN), len(LAMBDA_ODD), len(LAMBDA_ODD))  # (kind, a, b, λ2, λ1, λ3)


def _basis_of_m(eta: int, lead: int) -> int:
    """Basis index (1 or 2) of the signed chemical potential m = η μ_r."""
    return 1 if eta * LEAD_SIGN[lead] > 0 else 2


@cache
def _superoperators() -> dict[tuple[int, int, int], np.ndarray]:
    return {(spin, eta, p): vertex_superoperator(spin, eta, p) for spin in (0, 1) for eta in SIGNS for p in SIGNS}


def _paths(ops: list[np.ndarray]) -> list[tuple[int, int, list[int], float]]:
    """Non-zero paths of the product ops[0] @ ops[1] @ … applied to physical columns.

    Returns (f, i, intermediates, value) where intermediates are the Liouville elements after each
    vertex except the last one applied (ordered as in docs/physics.md §4.1: k1 after vertex 2, …).
    """
    out = []
    for i_phys, i in enumerate(PHYSICAL_INDICES):
        state, value, inter = int(i), 1.0, []
        for op in reversed(ops):
            column = op[:, state]
            nz = np.flatnonzero(column)
            if nz.size == 0:
                value = 0.0
                break
            # Each vertex maps a Liouville basis element onto a single basis element.
            (new_state,) = nz
            value *= float(np.real(column[new_state]))
            inter.append(int(new_state))
            state = int(new_state)
        if value == 0.0 or state not in _PHYS_INDEX:
            continue
        out.append((_PHYS_INDEX[state], i_phys, inter[-2::-1], value))
    return out


def _pauli_factor(spin_created: int, spin_annihilated: int) -> np.ndarray:
    """(σ^μ)_{σb σa} for μ = 0..3: the coupling-matrix element of one contraction."""
    return PAULI[:, spin_created, spin_annihilated]


def _pair_pauli(pair: tuple[int, int], eta: dict[int, int], spin: dict[int, int]) -> np.ndarray:
    """Pauli factor of one contraction: the η = +1 vertex annihilates spin σa, the other creates σb."""
    plus = pair[0] if eta[pair[0]] > 0 else pair[1]
    minus = pair[1] if plus == pair[0] else pair[0]
    return _pauli_factor(spin[minus], spin[plus])


@cache
def first_order_map() -> np.ndarray:
    """Dense complex map (2 leads, 4 μ, 6, 6, 4 λ, 3 b): basis J values → K1 (docs/physics.md §3.3).

    W⁽¹⁾_r = −i Σ_s (Γ_rs/2π) Σ_η Σ_{p,p'} p p' 𝒢^p_{c,−η} 𝒥_{η,p'} 𝒢^{p'}_{c,η}, with 𝒥 diagonal:
    J_{s,m}(−λ_k + i0), s = −p', m = η μ_r.
    """
    ops = _superoperators()
    out = np.zeros((2, 4, N_PHYS, N_PHYS) + FIRST_ORDER_SHAPE, dtype=complex)
    for eta, p_left, p_right, spin_left, spin_right in itertools.product(SIGNS, SIGNS, SIGNS, (0, 1), (0, 1)):
        left = ops[(spin_left, -eta, p_left)]
        right = ops[(spin_right, eta, p_right)]
        # The η = +1 vertex annihilates on the dot (spin σa), the η = −1 vertex creates (σb).
        spin_a, spin_b = (spin_right, spin_left) if eta > 0 else (spin_left, spin_right)
        pauli = _pauli_factor(spin_b, spin_a)
        s = -p_right
        for f, i, inter, value in _paths([left, right]):
            lam = _ODD_INDEX[liouville_energy_coefficients(inter[0])]
            coef = -1j / (2 * np.pi) * p_left * p_right * value
            for lead in (0, 1):
                b = _basis_of_m(eta, lead)
                out[lead, :, f, i, lam, b] += coef * s * pauli
                out[lead, :, f, i, lam, 0] += coef * (-0.5j * np.pi) * pauli
    return out.reshape(2 * 4 * N_PHYS * N_PHYS, -1)


def _wick_sign(keldysh: dict[int, int], pair_u: tuple[int, int], pair_v: tuple[int, int]) -> int:
    """−1 if the two contractions interleave on the Keldysh contour sequence (docs/physics.md §4.1), else +1."""
    sequence = [i for i in (4, 3, 2, 1) if keldysh[i] < 0] + [i for i in (1, 2, 3, 4) if keldysh[i] > 0]
    pos = {v: k for k, v in enumerate(sequence)}
    a, b = sorted((pos[pair_u[0]], pos[pair_u[1]]))
    c, d = sorted((pos[pair_v[0]], pos[pair_v[1]]))
    return -1 if (a < c < b < d) or (c < a < d < b) else +1


@cache
def second_order_map() -> dict[tuple[int, int], sparse.csr_matrix]:
    """Sparse maps per lead pair (r_u, r_v): basis integrals → K2[kind, μ, ν, f, i] (docs/physics.md §4.1).

    Term: −i σ_W p1p2p3p4 (Γ_cu Γ_cv/(2π)²) [𝒢1 𝒢2 𝒢3 𝒢4 weighted by I_kind(λ_k1, λ_k2, λ_k3)],
    added to the kernel of the lead of vertex 1 (r_v for X, r_u for D).
    """
    ops = _superoperators()
    n_cols = int(np.prod(SECOND_ORDER_SHAPE))
    rows: dict[tuple[int, int], list[int]] = {(ru, rv): [] for ru in (0, 1) for rv in (0, 1)}
    cols: dict[tuple[int, int], list[int]] = {key: [] for key in rows}
    vals: dict[tuple[int, int], list[complex]] = {key: [] for key in rows}
    for kind_index, kind in enumerate(KINDS):
        i_u = 2 if kind == "X" else 1
        i_v = 1 if kind == "X" else 2
        pair_u, pair_v = (i_u, 4), (i_v, 3)
        for eta_u, eta_v in itertools.product(SIGNS, SIGNS):
            eta = {4: eta_u, i_u: -eta_u, 3: eta_v, i_v: -eta_v}
            for p in itertools.product(SIGNS, repeat=4):
                keldysh = dict(zip((1, 2, 3, 4), p, strict=True))
                sign = _wick_sign(keldysh, pair_u, pair_v) * p[0] * p[1] * p[2] * p[3]
                s_u, s_v = -keldysh[4], -keldysh[3]
                for spins in itertools.product((0, 1), repeat=4):
                    spin = dict(zip((1, 2, 3, 4), spins, strict=True))
                    chain = [ops[(spin[k], eta[k], keldysh[k])] for k in (1, 2, 3, 4)]
                    paths = _paths(chain)
                    if not paths:
                        continue

                    pauli_uv = np.outer(_pair_pauli(pair_u, eta, spin), _pair_pauli(pair_v, eta, spin))  # (μ, ν)
                    for f, i, inter, value in paths:
                        k1, k2, k3 = inter
                        lam1 = _ODD_INDEX[liouville_energy_coefficients(k1)]
                        lam2 = _EVEN_INDEX[liouville_energy_coefficients(k2)]
                        lam3 = _ODD_INDEX[liouville_energy_coefficients(k3)]
                        coef = -1j * sign * value / (2 * np.pi) ** 2
                        for ru, rv in rows:
                            nu_terms = [(_basis_of_m(eta_u, ru), float(s_u))]
                            if s_u < 0:
                                nu_terms.append((0, 1.0))
                            j_terms = [(_basis_of_m(eta_v, rv), float(s_v)), (0, -0.5j * np.pi)]
                            for (a, ca), (b, cb) in itertools.product(nu_terms, j_terms):
                                col = np.ravel_multi_index((kind_index, a, b, lam2, lam1, lam3), SECOND_ORDER_SHAPE)
                                for mu, nu in zip(*np.nonzero(pauli_uv), strict=True):
                                    row = np.ravel_multi_index((kind_index, mu, nu, f, i), (2, 4, 4, N_PHYS, N_PHYS))
                                    rows[(ru, rv)].append(int(row))
                                    cols[(ru, rv)].append(int(col))
                                    vals[(ru, rv)].append(coef * ca * cb * pauli_uv[mu, nu])
    n_rows = 2 * 16 * N_PHYS * N_PHYS
    return {key: sparse.csr_matrix((vals[key], (rows[key], cols[key])), shape=(n_rows, n_cols)) for key in rows}

"""Fock space of the spin-degenerate level, tunnelling vertex superoperators, physical subspace.

docs/physics.md §2 and §3.1. Fock basis index a = 0..3: |0⟩, |↑⟩, |↓⟩, |2⟩ = d†_↑ d†_↓ |0⟩. Liouville vectors
are row-major: vec(X)[4a + b] = X_ab. Left multiplication X ↦ A X is A ⊗ 1, right multiplication
X ↦ X A is 1 ⊗ Aᵀ.

The physical (charge-superselected, Hermitian) stationary state lives on the six Liouville elements
|0⟩⟨0|, |↑⟩⟨↑|, |↑⟩⟨↓|, |↓⟩⟨↑|, |↓⟩⟨↓|, |2⟩⟨2| and is parametrised by the real vector
x = (P0, P1, P2, S_x, S_y, S_z) with ρ_1 = P1/2 + S·σ on the singly occupied block.
"""

from __future__ import annotations

import numpy as np

UP, DOWN = 0, 1
N_FOCK = 4
#: Particle number of each Fock state.
PARTICLE_NUMBER = np.array([0, 1, 1, 2])
#: Energy of each Fock state as integer coefficients (of ε, of U): E = (0, ε, ε, 2ε + U).
ENERGY_COEFFICIENTS = np.array([[0, 0], [1, 0], [1, 0], [2, 1]])

#: Annihilators d_↑ = |0⟩⟨↑| + |↓⟩⟨2|, d_↓ = |0⟩⟨↓| − |↑⟩⟨2| (fermionic sign), as 4×4 matrices.
ANNIHILATOR = np.zeros((2, 4, 4))
ANNIHILATOR[UP, 0, 1] = 1.0
ANNIHILATOR[UP, 2, 3] = 1.0
ANNIHILATOR[DOWN, 0, 2] = 1.0
ANNIHILATOR[DOWN, 1, 3] = -1.0
PARITY = np.diag([1.0, -1.0, -1.0, 1.0])

#: Pauli matrices σ^μ, μ = 0..3 (σ^0 = identity).
PAULI = np.array([[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)

#: Liouville indices of the six physical elements, in the order 00, ↑↑, ↑↓, ↓↑, ↓↓, 22.
PHYSICAL_INDICES = np.array([0, 5, 6, 9, 10, 15])


def vertex_operator(spin: int, eta: int) -> np.ndarray:
    """Dot vertex operator O_{σ,η}: P d_σ for η = +1 (pairs with a lead creator), d†_σ P for η = −1."""
    d = ANNIHILATOR[spin]
    return PARITY @ d if eta > 0 else d.T @ PARITY


def vertex_superoperator(spin: int, eta: int, keldysh: int) -> np.ndarray:
    """16×16 superoperator 𝒢^p_{σ,η}: X ↦ O X for p = +1, X ↦ X O for p = −1."""
    op = vertex_operator(spin, eta)
    eye = np.eye(N_FOCK)
    return np.kron(op, eye) if keldysh > 0 else np.kron(eye, op.T)


def liouville_energy_coefficients(index: int) -> tuple[int, int]:
    """λ = E_a − E_b of Liouville element |a⟩⟨b| as integer coefficients (of ε, of U)."""
    a, b = divmod(index, N_FOCK)
    diff = ENERGY_COEFFICIENTS[a] - ENERGY_COEFFICIENTS[b]
    return int(diff[0]), int(diff[1])


def physical_to_real_basis() -> tuple[np.ndarray, np.ndarray]:
    """Matrices (T, T⁻¹) with ρ_phys = T x and x = T⁻¹ ρ_phys, x = (P0, P1, P2, Sx, Sy, Sz)."""
    to_rho = np.zeros((6, 6), dtype=complex)
    to_rho[0, 0] = 1.0  # ρ_00 = P0
    to_rho[1, 1], to_rho[1, 5] = 0.5, 1.0  # ρ_↑↑ = P1/2 + Sz
    to_rho[2, 3], to_rho[2, 4] = 1.0, -1j  # ρ_↑↓ = Sx − i Sy
    to_rho[3, 3], to_rho[3, 4] = 1.0, 1j  # ρ_↓↑ = Sx + i Sy
    to_rho[4, 1], to_rho[4, 5] = 0.5, -1.0  # ρ_↓↓ = P1/2 − Sz
    to_rho[5, 2] = 1.0  # ρ_22 = P2
    return to_rho, np.linalg.inv(to_rho)

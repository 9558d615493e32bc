"""Independent oracle: exact stationary currents of a non-interacting level (U = 0), docs/physics.md §5.1.

Written from the Keldysh Green's-function formulas only (no gpuqd code): a 2×2 spin level
h = ε·1 coupled to leads with coupling matrices Γ^r = Γ_r (1 + p_r n_r·σ).
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import quad

SIGMA = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)


def fermi(omega: float, mu: float, T: float) -> float:
    x = (omega - mu) / T
    return 0.5 * (1.0 - np.tanh(0.5 * x))


def exact_currents(
    eps: float, V: float, T: float, gamma_S: float, gamma_D: float, p_S: float, p_D: float, n_S, n_D
) -> dict[str, np.ndarray]:
    """Particle and spin currents into each lead (I^N_S, I^N_D, I^S_S, I^S_D) at U = 0."""
    mu = {"S": 0.5 * V, "D": -0.5 * V}
    coupling = {
        "S": gamma_S * (np.eye(2) + p_S * np.einsum("i,ijk->jk", np.asarray(n_S, float), SIGMA)),
        "D": gamma_D * (np.eye(2) + p_D * np.einsum("i,ijk->jk", np.asarray(n_D, float), SIGMA)),
    }
    total = coupling["S"] + coupling["D"]
    observables = [np.eye(2)] + [0.5 * s for s in SIGMA]

    def integrand(omega: float, lead: str, k: int) -> float:
        g_ret = np.linalg.inv((omega - eps) * np.eye(2) + 0.5j * total)
        g_adv = g_ret.conj().T
        lesser = (
            1j * g_ret @ (fermi(omega, mu["S"], T) * coupling["S"] + fermi(omega, mu["D"], T) * coupling["D"]) @ g_adv
        )
        m = observables[k]
        value = m @ (fermi(omega, mu[lead], T) * g_ret @ coupling[lead] + 0.5 * lesser @ coupling[lead])
        return float(np.imag(np.trace(value))) / np.pi

    width = gamma_S + gamma_D
    points = sorted({eps, mu["S"], mu["D"], eps - 3 * width, eps + 3 * width, eps - width, eps + width})
    lo, hi = min(points) - 40 * T - 50 * width, max(points) + 40 * T + 50 * width
    out = {}
    for lead in ("S", "D"):
        values = []
        for k in range(4):
            core = quad(integrand, lo, hi, args=(lead, k), points=points, limit=800, epsabs=1e-15, epsrel=1e-12)[0]
            tails = quad(integrand, -np.inf, lo, args=(lead, k), epsabs=1e-15, epsrel=1e-12, limit=400)[0]
            tails += quad(integrand, hi, np.inf, args=(lead, k), epsabs=1e-15, epsrel=1e-12, limit=400)[0]
            values.append(core + tails)
        out[f"particle_{lead}"] = values[0]
        out[f"spin_{lead}"] = np.array(values[1:])
    return out

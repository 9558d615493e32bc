"""Time propagation of the finite-volume master equation of the axial Fokker–Planck theory (docs/physics.md §14).

A tridiagonal generator K (rates between neighbouring cells) is integrated with the L-stable TR-BDF2 scheme
(trapezoid stage of length γh, γ = 2 − √2, then BDF2), batched over grid points; the window average of cell
observables uses the trapezoid rule on the step values. Units: times in 1/Γ.
"""

from __future__ import annotations

import math

import numpy as np

#: TR-BDF2 time steps: first step (1/Γ), growth factor, and steps across the averaging window.
FIRST_STEP = 1e-2
GROWTH = 1.25
WINDOW_STEPS = 100

_GAMMA = 2.0 - math.sqrt(2.0)


def time_grid(t_start: float, t_end: float) -> np.ndarray:
    """Times 0 = t_0 < … containing t_start and t_end: geometric steps from FIRST_STEP, capped at
    (t_end − t_start)/WINDOW_STEPS."""
    h_max = (t_end - t_start) / WINDOW_STEPS
    times, t, h = [0.0], 0.0, min(FIRST_STEP, h_max)
    while t < t_end * (1 - 1e-14):
        step = min(h, h_max)
        nxt = t + step
        if t < t_start < nxt * (1 + 1e-12) or (t < t_start and t_start - nxt < 1e-9 * step):
            nxt = t_start
        if nxt > t_end or t_end - nxt < 1e-9 * step:
            nxt = t_end
        times.append(nxt)
        t, h = nxt, step * GROWTH
    return np.array(times)


def _tridiagonal_factor(lower: np.ndarray, diag: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, ...]:
    """Batched Thomas factorisation (no pivoting: the matrices 1 − aK here are column-diagonally dominant
    M-matrices). Returns (lower, c, 1/denominator) for :func:`_tridiagonal_solve`."""
    n = diag.shape[1]
    c = np.zeros_like(diag)
    inv = np.empty_like(diag)
    inv[:, 0] = 1.0 / diag[:, 0]
    c[:, 0] = upper[:, 0] * inv[:, 0]
    for i in range(1, n):
        inv[:, i] = 1.0 / (diag[:, i] - lower[:, i] * c[:, i - 1])
        c[:, i] = upper[:, i] * inv[:, i]
    return lower, c, inv


def _tridiagonal_solve(factor: tuple[np.ndarray, ...], rhs: np.ndarray) -> np.ndarray:
    lower, c, inv = factor
    n = rhs.shape[1]
    x = np.empty_like(rhs)
    x[:, 0] = rhs[:, 0] * inv[:, 0]
    for i in range(1, n):
        x[:, i] = (rhs[:, i] - lower[:, i] * x[:, i - 1]) * inv[:, i]
    for i in range(n - 2, -1, -1):
        x[:, i] -= c[:, i] * x[:, i + 1]
    return x


def propagate_window_average(
    cell_log_mass: np.ndarray,
    log_res: np.ndarray,
    observables: np.ndarray,
    start_cell: np.ndarray,
    t_start: float,
    t_end: float,
) -> np.ndarray:
    """(B, k) averages over t ∈ [t_start, t_end] of Σ_i P_i(t) observables[:, i, :] for the finite-volume
    master equation with rates k_{i→i±1} = 1/(R_{i±1/2} π_i) (π_i cell mass, R from ``log_res``),
    all probability in ``start_cell`` at t = 0. TR-BDF2 in time, trapezoid rule for the window integral.
    """
    b, n = cell_log_mass.shape
    up = np.exp(-log_res - cell_log_mass[:, :-1])  # k_{i→i+1}, (B, N−1)
    down = np.exp(-log_res - cell_log_mass[:, 1:])  # k_{i+1→i}
    zeros = np.zeros((b, 1))
    # dP_i/dt = up_{i−1} P_{i−1} + down_i P_{i+1} − (up_i + down_{i−1}) P_i
    k_lower = np.concatenate([zeros, up], 1)  # coefficient of P_{i−1} in row i
    k_upper = np.concatenate([down, zeros], 1)  # coefficient of P_{i+1} in row i
    k_diag = -(np.concatenate([up, zeros], 1) + np.concatenate([zeros, down], 1))

    def apply(p: np.ndarray) -> np.ndarray:
        out = k_diag * p
        out[:, 1:] += k_lower[:, 1:] * p[:, :-1]
        out[:, :-1] += k_upper[:, :-1] * p[:, 1:]
        return out

    factors: dict[float, tuple[np.ndarray, ...]] = {}

    def implicit(p_rhs: np.ndarray, a: float) -> np.ndarray:  # solve (1 − a K) x = rhs
        if a not in factors:
            if len(factors) > 8:
                factors.clear()
            factors[a] = _tridiagonal_factor(-a * k_lower, 1.0 - a * k_diag, -a * k_upper)
        return _tridiagonal_solve(factors[a], p_rhs)

    p = np.zeros((b, n))
    p[np.arange(b), start_cell] = 1.0
    times = time_grid(t_start, t_end)
    acc = np.zeros((b, observables.shape[2]))
    prev = np.einsum("bi,bik->bk", p, observables)
    w2 = (1.0 - _GAMMA) / (2.0 - _GAMMA)
    c1, c2 = 1.0 / (_GAMMA * (2.0 - _GAMMA)), (1.0 - _GAMMA) ** 2 / (_GAMMA * (2.0 - _GAMMA))
    for t0, t1 in zip(times[:-1], times[1:], strict=True):
        h = t1 - t0
        mid = implicit(p + 0.5 * _GAMMA * h * apply(p), 0.5 * _GAMMA * h)
        p = implicit(c1 * mid - c2 * p, w2 * h)
        cur = np.einsum("bi,bik->bk", p, observables)
        if t0 >= t_start * (1 - 1e-12):
            acc += 0.5 * h * (prev + cur)
        prev = cur
    return acc / (t_end - t_start)

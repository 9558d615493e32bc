"""The axial failure committor of a write pulse: the importance function of the rare-event estimator
(docs/physics.md §16.3).

q(t, u) = P(the write fails | n_z = u at time t of the write segment) for the *axial part* of the model
(cubic anisotropy, transverse and AC fields dropped, drain-pinned source). It solves the backward equation
of the axial Fokker–Planck equation of docs/physics.md §14 (drift f(u), diffusion D(1 − u²)),

    −∂_t q = (1 − u²) f ∂_u q − 2 D u ∂_u q + D (1 − u²) ∂²_u q,   q(t_read, u) = 1[s u > 0],

discretised as a Markov chain on cells uniform in θ (edges at π/2 included) with Scharfetter–Gummel
(exponentially fitted) rates between neighbours, r_{i→i+1} = B_f Bern(−Pe)/(h Δ_i), Bern(x) = x/(eˣ − 1),
Pe = v h / B at the face (Scharfetter and Gummel, IEEE Trans. Electron Devices 16, 64 (1969)): the rates
are positive, the chain keeps the exact Boltzmann stationary law of §14 for I_DL = 0, and exp(Q τ) of its
generator Q maps the failure indicator to a strictly positive committor — no Gibbs oscillations, which a
Legendre expansion of the sharp terminal indicator has (at the 1e-7 level for 128 polynomials). The
scheme is first-order accurate in the tails; that only changes the variance of the estimator, never its
mean (any positive importance function is allowed). Values at a particle's u: linear interpolation of
log q in θ between cell centres. Units: times in 1/Γ.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from scipy.linalg import expm

from gpuqd.dynamics.model import ConstantTorque, Macrospin
from gpuqd.observables.write_error import PulseProtocol
from gpuqd.transport.torque_table import TorqueTable


def axial_part(magnet: Macrospin) -> Macrospin:
    """The magnet with the terms that break the axial symmetry dropped (the model the committor solves)."""
    return replace(magnet, K_cubic=0.0, field=(0.0, 0.0, magnet.field[2]), ac_field=None, free="drain")


def bernoulli(x: np.ndarray) -> np.ndarray:
    """x/(eˣ − 1), 1 at x = 0, evaluated without overflow or cancellation."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-8
    safe = np.where(small, 1.0, x)
    return np.where(small, 1.0 - 0.5 * x, safe / np.expm1(safe))


class CellChain:
    """Backward generators on ``n_cells`` cells uniform in θ ∈ [0, π] (cell i: θ_i < θ < θ_{i+1})."""

    def __init__(self, magnet: Macrospin, torque: ConstantTorque | TorqueTable, n_cells: int) -> None:
        if int(n_cells) < 8 or int(n_cells) % 2:
            raise ValueError(f"n_cells must be an even number >= 8, got {n_cells}")
        self.magnet, self.torque = axial_part(magnet), torque
        self.edges = np.linspace(0.0, math.pi, int(n_cells) + 1)
        self.centres = 0.5 * (self.edges[1:] + self.edges[:-1])
        self._generators: dict[int, np.ndarray] = {}

    def generator(self, point: int) -> np.ndarray:
        """Q with dq/dτ = Q q (τ: time before the read) for torque row ``point``."""
        if point not in self._generators:
            m = self.magnet
            u_face = np.cos(self.edges[1:-1])
            u_centre = np.cos(self.centres)
            if isinstance(self.torque, ConstantTorque):
                fl, dl = self.torque.field_like, self.torque.damping_like
            else:
                fl, dl, _ = self.torque.evaluate(np.full(u_face.size, point), u_face)
            denom = m.S**2 + m.alpha**2
            f = (m.alpha * (m.KV * u_face + m.field[2] + np.asarray(fl)) - m.S * np.asarray(dl)) / denom
            diffusion = m.noise_variance / (2.0 * denom)
            h = u_centre[:-1] - u_centre[1:]  # centre spacing along x = −u (increasing with i)
            width = -np.diff(np.cos(self.edges))  # Δ_i in u
            b_face = diffusion * (1.0 - u_face**2)
            peclet = -f * h / diffusion  # velocity along x is −(1 − u²) f
            forward = b_face * bernoulli(-peclet) / (h * width[:-1])  # i → i+1
            backward = b_face * bernoulli(peclet) / (h * width[1:])  # i+1 → i
            q = np.diag(np.concatenate([forward, [0.0]]) + np.concatenate([[0.0], backward])) * -1.0
            idx = np.arange(u_face.size)
            q[idx, idx + 1] = forward
            q[idx + 1, idx] = backward
            self._generators[point] = q
        return self._generators[point]


class FailureCommittor:
    """q(t_m, u) on the stage times t_m (1/Γ, from the start of the write segment), and at the start.

    magnet, torque, protocol : the run's model (its axial part is used) and pulse.
    stage_times : increasing times in [0, width]; width : the pulse width w (1/Γ).
    n_cells : cells of the chain (even; 1/Γ-independent resolution Δθ = π/n_cells).
    """

    def __init__(
        self,
        magnet: Macrospin,
        torque: ConstantTorque | TorqueTable,
        protocol: PulseProtocol,
        stage_times: np.ndarray,
        width: float,
        n_cells: int = 400,
    ) -> None:
        chain = CellChain(magnet, torque, n_cells)
        self.centres = chain.centres
        q = (np.cos(chain.centres) * protocol.sign > 0.0).astype(float)
        for point, duration in reversed(protocol.after()):
            if duration > 0.0:
                q = expm(chain.generator(point) * duration) @ q
        times = np.asarray(stage_times, dtype=float)
        rows = np.empty((times.size, q.size))
        later = float(width)
        propagators: dict[float, np.ndarray] = {}  # the stage grid has one or two distinct spacings
        for m in range(times.size - 1, -1, -1):
            if later > times[m]:
                span = round(later - float(times[m]), 12)
                if span not in propagators:
                    propagators[span] = expm(chain.generator(protocol.write) * span)
                q = propagators[span] @ q
                later = float(times[m])
            rows[m] = q
        for point, duration in reversed(protocol.before()):
            if duration > 0.0:
                q = expm(chain.generator(point) * duration) @ q
        tiny = np.finfo(float).tiny
        self.log_rows = np.log(np.clip(rows, tiny, 1.0))
        self.log_start = np.log(np.clip(q, tiny, 1.0))

    def _interpolate(self, log_q: np.ndarray, u: np.ndarray) -> np.ndarray:
        theta = np.arccos(np.clip(np.asarray(u, dtype=float), -1.0, 1.0))
        return np.exp(np.interp(theta, self.centres, log_q))

    def __call__(self, stage: int, u: np.ndarray) -> np.ndarray:
        """q(t_stage, u) at the directions' u = n_z."""
        return self._interpolate(self.log_rows[stage], u)

    def at_start(self, u: np.ndarray) -> np.ndarray:
        """q at the start of the protocol (before ``rest_before`` and the rise)."""
        return self._interpolate(self.log_start, u)

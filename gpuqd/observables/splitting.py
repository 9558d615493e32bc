"""Rare write errors by splitting in time with the Fokker–Planck committor as importance function: an
interacting-particle (genealogical) estimator on the same ensemble engines (docs/physics.md §16.3).

Where the axial Fokker–Planck answer does not exist (cubic anisotropy, a transverse field) write-error
rates of 1e-6 … 1e-9 are out of reach by brute force (~1e8 … 1e11 trajectories). Here N particles run the
protocol in lockstep; the write segment is cut at the stage times 0 = t_0 < t_1 < … < t_M = w, and at each
t_m the particles are resampled (systematic resampling) with weights

    G_m = q_m(u(t_m)) / q_{m−1}(u(t_{m−1})),     q_{−1} := q_start (see below),

where q_m(u) = q(t_m, u) is the failure committor of the protocol's axial part
(:class:`gpuqd.observables.committor.FailureCommittor`): the probability that the write still fails given
n_z = u at t_m. Particles on their way to failure are copied, the ones that will switch are dropped. Each
particle carries L = log q_M along its ancestral line (the log G telescope). With Z = Π_m (mean of G_m
over the particles), the estimator

    p̂ = Z · (1/N) Σ_i 1[u_i(t_read) s > 0] / q_M(u_i(w))

is unbiased for the write-error rate for any N and any positive importance function (Feynman–Kac particle
approximation: Del Moral, *Feynman–Kac Formulae*, Springer 2004; Del Moral and Garnier,
Ann. Appl. Probab. 15, 2496 (2005)); when q is the exact committor of the simulated dynamics the weights
are those of Doob's h-transform and the variance is small. For axial models q is the committor of a
400-cell approximation of the axial equation (first order in the tails: variance, not bias); for
non-axial ones it is that of the axial part, which stays a valid (positive) importance function, so the
estimate stays unbiased and only its variance grows.
The initial directions are drawn from the initial density tilted by the committor at the start of the
protocol, p0 q_start / E_p0[q_start] (E_p0[q_start] by quadrature: the first factor of Z), so that the
first resampling does not have to find the few starting points that resist the write. The particles keep
fixed trajectory ids (slots): after a resampling the copy in slot i continues with slot i's noise
(seed, i, k), independent of everything before step k, so copies separate at once and the run is
reproducible for any chunking. ``repeats`` independent replicas (their own slots) give the stated error:
the standard error of their mean. Units: times in 1/Γ.
"""

from __future__ import annotations

import math

import numpy as np

from gpuqd.dynamics.engine_config import EnsembleSpec
from gpuqd.dynamics.model import ConstantTorque, Macrospin
from gpuqd.observables.committor import FailureCommittor
from gpuqd.observables.first_passage import compact_state
from gpuqd.observables.pulse_ensemble import (
    Segments,
    sample_tilted_initial_directions,
    segment_steps,
    steps_of,
)
from gpuqd.observables.write_error import PulseProtocol
from gpuqd.transport.torque_table import TorqueTable


def systematic_resample(weights: np.ndarray, uniform: float) -> np.ndarray:
    """Indices of N offspring by systematic resampling (each i gets ⌊N w_i⌋ or ⌈N w_i⌉ copies; E = N w_i)."""
    cumulative = np.cumsum(weights / weights.sum())
    cumulative[-1] = 1.0
    positions = (uniform + np.arange(weights.size)) / weights.size
    return np.searchsorted(cumulative, positions, side="right").clip(0, weights.size - 1)


def splitting_write_error(
    magnet: Macrospin,
    torque: ConstantTorque | TorqueTable,
    protocol: PulseProtocol,
    width: float,
    dt: float,
    seed: int,
    n_particles: int = 1000,
    n_stages: int = 40,
    repeats: int = 20,
    backend: str = "auto",
    trajectory_offset: int = 0,
    threads: int | None = None,
    n_cells: int = 400,
) -> dict[str, float | np.ndarray]:
    """Write-error rate of ``protocol`` at pulse ``width`` (1/Γ) by committor-weighted splitting in time
    (module docstring); ``n_cells``: cells of the committor chain; ``threads``: OpenMP threads of the cpu
    engine (None: its default; results do not depend on it).

    Returns ``estimate`` (mean over the repeats), ``standard_error`` (of that mean), ``estimates``
    (repeats,), ``trajectory_steps`` (the work) and ``brute_force_steps`` — the trajectory-steps plain
    sampling needs for the same relative standard error, (1 − p)/(p ε²) trajectories of the same length.
    """
    if n_particles < 2 or n_stages < 1 or repeats < 2:
        raise ValueError(
            f"need n_particles >= 2, n_stages >= 1, repeats >= 2; got {n_particles}, {n_stages}, {repeats}"
        )
    before, after = segment_steps(protocol.before(), dt), segment_steps(protocol.after(), dt)
    write_steps = steps_of("pulse width", width, dt)
    bounds = np.unique(np.round(np.linspace(0, write_steps, n_stages + 1)).astype(np.int64))
    committor = FailureCommittor(magnet, torque, protocol, bounds * dt, write_steps * dt, n_cells)
    n_total = n_particles * repeats
    ids = trajectory_offset + np.arange(n_total, dtype=np.int64)
    end = sum(s for _, s in before) + write_steps + sum(s for _, s in after)
    segs = Segments(EnsembleSpec(magnet, torque, n_total, dt, end * dt, seed, trajectory_ids=ids), backend, threads)
    directions, start_mean = sample_tilted_initial_directions(magnet, torque, protocol, seed, ids, committor.at_start)
    state = segs.initial(protocol.rest, directions)
    for point, steps in before:
        state = segs.run(state, point, steps)
    # initial draws from p0 q_start / E[q_start]: weights telescope from log q_start on
    v_prev = np.log(committor.at_start(directions[:, 2]))
    log_weight = v_prev.copy()
    log_norm = np.full(repeats, math.log(start_mean))
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, int(trajectory_offset) & 0xFFFFFFFF, 0x53504C54])
    for m, steps in enumerate(np.diff(bounds, prepend=0)):
        if steps > 0:
            state = segs.run(state, protocol.write, int(steps))
        v = np.log(committor(m, state["n"][:, 2]))
        log_g = v - v_prev
        index = np.empty(n_total, dtype=np.int64)
        for r in range(repeats):
            block = slice(r * n_particles, (r + 1) * n_particles)
            top = log_g[block].max()
            g = np.exp(log_g[block] - top)
            log_norm[r] += top + math.log(g.mean())
            index[block] = r * n_particles + systematic_resample(g, rng.random())
        log_weight = (log_weight + log_g)[index]
        v_prev = v[index]
        state = compact_state(state, index)
    for point, steps in after:
        state = segs.run(state, point, steps)
    failed = (state["n"][:, 2] * protocol.sign > 0.0).reshape(repeats, n_particles)
    weight = np.exp(-log_weight.reshape(repeats, n_particles))
    estimates = np.exp(log_norm) * (failed * weight).mean(1)
    mean = float(estimates.mean())
    se = float(estimates.std(ddof=1) / math.sqrt(repeats))
    if mean > 0.0 and se > 0.0:
        brute = (1.0 - mean) / (mean * (se / mean) ** 2) * end
    else:
        brute = math.inf
    return {
        "estimate": mean,
        "standard_error": se,
        "estimates": estimates,
        "trajectory_steps": float(segs.trajectory_steps),
        "brute_force_steps": float(brute),
    }

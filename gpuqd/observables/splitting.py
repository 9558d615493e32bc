"""Rare write errors by splitting in time: an interacting-particle (genealogical) estimator on the same
ensemble engines (docs/physics.md §16).

Where the axial Fokker–Planck answer does not exist (cubic anisotropy, a transverse field, both magnets
free) write-error rates of 1e-6 … 1e-9 are out of reach by brute force (~1e8 … 1e11 trajectories). Here
N particles run the protocol in lockstep; the write segment is cut into M stages, and at the end of each
stage the particles are resampled with weights

    G_m = exp(V_m(u(t_m)) − V_{m−1}(u(t_{m−1}))),   V_m(u) = λ s u (m < M),   V_M(u) = λ min(s u, 0),   V_0 = 0

(s = +1 for a P start, −1 for AP, λ = ``tilt``), so that particles which resist the write (lag behind on
their way to the other pole) are copied and the ones that switch are dropped (systematic resampling);
the last potential is flat over the initial hemisphere so that the particles read as failures carry equal
weights. Each particle carries the sum L of log G along its
ancestral line. With Z = Π_m (mean of G_m over the particles), the estimator

    p̂ = Z · (1/N) Σ_i 1[u_i(t_read) s > 0] e^{−L_i}

is unbiased for the write-error rate for any N and any λ ≥ 0 (Feynman–Kac particle approximation: Del Moral and
Garnier, Ann. Appl. Probab. 15, 2496 (2005); Del Moral, *Feynman–Kac Formulae*, Springer 2004). λ only
changes the variance: the estimates are heavy-tailed (log-normal-like across replicas) when λ is far
from the one that makes the tilted ensemble fail as often as it switches (docs/physics.md §16 gives the
measured spread). The particles keep fixed trajectory ids (slots): after a resampling the copy in
slot i continues with slot i's noise (seed, i, k), independent of everything before step k, so copies
separate at once and the run is reproducible for any chunking. ``repeats`` independent replicas (their
own slots) give the stated error: the standard error of their mean. Units: times in 1/Γ.
"""

from __future__ import annotations

import math

import numpy as np

from gpuqd.dynamics.model import ConstantTorque, Macrospin
from gpuqd.observables.first_passage import compact_state
from gpuqd.observables.pulse_ensemble import (
    Segments,
    sample_initial_directions,
    segment_steps,
    steps_of,
)
from gpuqd.observables.write_error import PulseProtocol
from gpuqd.transport.torque_table import TorqueTable


def importance(u: np.ndarray, sign: int, tilt: float, final: bool) -> np.ndarray:
    """V = λ s u during the write (larger the less the write has moved n from its initial pole); at the
    end of the write V = λ min(s u, 0), flat over the initial hemisphere so that every particle that
    will be read as a failure carries the same weight."""
    return tilt * (np.minimum(sign * u, 0.0) if final else sign * u)


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
    n_stages: int = 20,
    tilt: float = 40.0,
    repeats: int = 10,
    backend: str = "auto",
    trajectory_offset: int = 0,
    threads: int | None = None,
) -> dict[str, float | np.ndarray]:
    """Write-error rate of ``protocol`` at pulse ``width`` (1/Γ) by splitting in time (module docstring).

    Returns ``estimate`` (mean over the repeats), ``standard_error``, ``estimates`` (repeats,),
    ``trajectory_steps`` (the work) and ``brute_force_steps`` — the trajectory-steps plain sampling
    needs for the same relative standard error, (1 − p)/(p ε²) trajectories of the same length.
    """
    if n_particles < 2 or n_stages < 1 or repeats < 2 or not tilt >= 0.0:
        raise ValueError(
            f"need n_particles >= 2, n_stages >= 1, repeats >= 2, tilt >= 0; got {n_particles}, {n_stages}, "
            f"{repeats}, {tilt}"
        )
    before, after = segment_steps(protocol.before(), dt), segment_steps(protocol.after(), dt)
    write_steps = steps_of("pulse width", width, dt)
    bounds = np.unique(np.round(np.linspace(0, write_steps, n_stages + 1)).astype(np.int64))
    n_total = n_particles * repeats
    ids = trajectory_offset + np.arange(n_total, dtype=np.int64)
    end = sum(s for _, s in before) + write_steps + sum(s for _, s in after)
    segs = Segments(magnet, torque, dt, seed, backend, threads, ids, end)
    state = segs.initial(protocol.rest, sample_initial_directions(magnet, torque, protocol, seed, ids))
    for point, steps in before:
        state = segs.run(state, point, steps)
    sign = protocol.sign
    log_weight = np.zeros(n_total)
    log_norm = np.zeros(repeats)
    v_prev = np.zeros(n_total)
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, int(trajectory_offset) & 0xFFFFFFFF, 0x53504C54])
    stages = [int(b) for b in np.diff(bounds)]
    for m, steps in enumerate(stages):
        state = segs.run(state, protocol.write, steps)
        v = importance(state["n"][:, 2], sign, tilt, final=m == len(stages) - 1)
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
    failed = (state["n"][:, 2] * sign > 0.0).reshape(repeats, n_particles)
    weight = np.exp(-log_weight.reshape(repeats, n_particles))
    estimates = np.exp(log_norm) * (failed * weight).mean(1)
    mean = float(estimates.mean())
    se = float(estimates.std(ddof=1) / math.sqrt(repeats))
    steps_per_trajectory = end
    if mean > 0.0 and se > 0.0:
        brute = (1.0 - mean) / (mean * (se / mean) ** 2) * steps_per_trajectory
    else:
        brute = math.inf
    return {
        "estimate": mean,
        "standard_error": se,
        "estimates": estimates,
        "trajectory_steps": float(segs.trajectory_steps),
        "brute_force_steps": float(brute),
    }

"""Simulated write pulses on the ensemble engines, and the exact binomial interval (docs/physics.md §16).

The engines run one torque-table row per trajectory, so a pulse is run segment by segment: one
:class:`~gpuqd.dynamics.EnsembleRunner` per segment whose ``point_index`` is the segment's grid point and
whose ``t_end`` is the segment's end time; the state (direction, step counter) is carried across with
``get_state``/``set_state``. The noise of trajectory j at step k is the counter-based Philox draw
(seed, j, k) of docs/physics.md §11 whatever the segment, so results do not depend on the chunking. All
pulse widths share one write run: at each width the state is copied and run through fall and settle
separately (common random numbers across widths; each width's estimate is exact in distribution).

Initial state: the stationary density of the rest point (docs/physics.md §14) restricted to the initial
hemisphere, sampled by inverse transform (CDF exact to quadrature accuracy at the edges of 2¹² equal θ panels,
linear inside a panel)
from 53-bit uniforms drawn with the run's Philox key at a counter no run step uses; the azimuth is
uniform. Units: times in 1/Γ, currents in Γ.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from gpuqd.dynamics.engine_config import EnsembleSpec
from gpuqd.dynamics.model import ConstantTorque, Macrospin
from gpuqd.dynamics.philox import philox4x32, split_seed
from gpuqd.dynamics.runner import EnsembleRunner
from gpuqd.observables.fp_legendre import PANEL_NODES, theta_panels
from gpuqd.observables.write_error import PulseProtocol, check_widths, initial_density
from gpuqd.transport.torque_table import TorqueTable

#: Counter (step word) of the initial-state draws: above any step count a run can reach.
INITIAL_STATE_STEP = 0xFFFF_FFFF_FFFF_FFFF


def clopper_pearson(failures: np.ndarray, trials: np.ndarray, confidence: float = 0.99) -> tuple:
    """Exact binomial (Clopper–Pearson) two-sided interval (lower, upper) of a probability from
    ``failures`` out of ``trials`` at the given confidence (beta quantiles; 0 and 1 at the ends)."""
    k = np.asarray(failures, dtype=float)
    n = np.asarray(trials, dtype=float)
    a = 1.0 - confidence
    with np.errstate(invalid="ignore"):
        lower = np.where(k > 0, stats.beta.ppf(a / 2, k, n - k + 1), 0.0)
        upper = np.where(k < n, stats.beta.ppf(1 - a / 2, k + 1, n - k), 1.0)
    return lower, upper


def uniforms(seed: int, trajectory_ids: np.ndarray, stream: int) -> np.ndarray:
    """53-bit uniforms in (0, 1) per trajectory id for the initial state (``stream`` 0 or 1)."""
    ids = np.asarray(trajectory_ids).astype(np.uint64)
    step = np.uint64(INITIAL_STATE_STEP - stream)
    mask, shift = np.uint64(0xFFFFFFFF), np.uint64(32)
    words = philox4x32((step & mask, step >> shift, ids & mask, ids >> shift), split_seed(seed))
    hi = words[0].astype(np.uint64) >> np.uint64(6)  # 26 bits
    lo = words[1].astype(np.uint64) >> np.uint64(5)  # 27 bits
    return ((hi * np.uint64(1 << 27) + lo).astype(np.float64) + 0.5) / float(1 << 53)


def sample_initial_directions(
    magnet: Macrospin,
    torque: ConstantTorque | TorqueTable,
    protocol: PulseProtocol,
    seed: int,
    trajectory_ids: np.ndarray,
) -> np.ndarray:
    """(n, 3) unit vectors from the protocol's initial density (see the module docstring)."""
    return sample_tilted_initial_directions(magnet, torque, protocol, seed, trajectory_ids, None)[0]


def sample_tilted_initial_directions(
    magnet: Macrospin,
    torque: ConstantTorque | TorqueTable,
    protocol: PulseProtocol,
    seed: int,
    trajectory_ids: np.ndarray,
    tilt: Callable[[np.ndarray], np.ndarray] | None,
) -> tuple[np.ndarray, float]:
    """(n, 3) unit vectors from the initial density p0 times ``tilt``(u) (> 0; None: 1), normalised, and
    the mean of the tilt under p0 (same quadrature as the sampling; 1 without a tilt)."""
    edges = np.linspace(0.0, math.pi, 2**12 + 1)
    theta, w_theta = theta_panels(edges, 1.0)  # PANEL_NODES Gauss–Legendre nodes per panel
    density = initial_density(magnet, torque, protocol, theta)
    mass = w_theta * np.sin(theta) * density
    tilted = mass if tilt is None else mass * tilt(np.cos(theta))
    panel_mass = tilted.reshape(-1, PANEL_NODES).sum(1)
    cdf = np.concatenate([[0.0], np.cumsum(panel_mass)])
    cdf /= cdf[-1]
    # inverse transform: exact CDF at the panel edges, linear inside a panel (width π/2¹²)
    target = uniforms(seed, trajectory_ids, 0)
    panel = np.clip(np.searchsorted(cdf, target, side="right") - 1, 0, edges.size - 2)
    fraction = (target - cdf[panel]) / np.maximum(cdf[panel + 1] - cdf[panel], 1e-300)
    polar = edges[panel] + np.clip(fraction, 0.0, 1.0) * (edges[panel + 1] - edges[panel])
    azimuth = 2.0 * math.pi * uniforms(seed, trajectory_ids, 1)
    s = np.sin(polar)
    directions = np.stack([s * np.cos(azimuth), s * np.sin(azimuth), np.cos(polar)], axis=1)
    return directions, float(tilted.sum() / mass.sum())


def steps_of(name: str, duration: float, dt: float) -> int:
    count = round(duration / dt)
    if abs(duration / dt - count) > 1e-9 * max(1.0, duration / dt):
        raise ValueError(f"{name} = {duration} (1/Γ) must be a whole number of time steps dt = {dt}")
    return int(count)


def segment_steps(segments: list[tuple[int, float]], dt: float) -> list[tuple[int, int]]:
    """(point, steps) of the segments of non-zero duration; ValueError unless whole numbers of steps."""
    return [(p, steps_of("segment duration", d, dt)) for p, d in segments if d > 0]


class Segments:
    """Runs a fixed set of trajectories segment by segment: one runner per grid point (``spec`` with
    every trajectory on that table point; ``spec.t_end``, 1/Γ, the end of the last segment; reused by
    every segment at that point), the state moved into it with set_state. ``backend``, ``threads``: as
    in :class:`~gpuqd.dynamics.EnsembleRunner`."""

    def __init__(self, spec: EnsembleSpec, backend: str, threads: int | None = None) -> None:
        self.spec, self.backend, self.threads = spec, backend, threads
        self._runners: dict[int, EnsembleRunner] = {}
        #: trajectory-steps integrated so far (the cost)
        self.trajectory_steps = 0

    def runner(self, point: int, backend: str | None = None) -> EnsembleRunner:
        """The runner of grid ``point`` (built once)."""
        if backend is None and point in self._runners:
            return self._runners[point]
        spec = self.spec
        if isinstance(spec.torque, TorqueTable):
            spec = dataclasses.replace(spec, point_index=np.full(spec.n_traj, point, dtype=np.int64))
        runner = EnsembleRunner(spec, backend=self.backend if backend is None else backend, threads=self.threads)
        if backend is None:
            self._runners[point] = runner
        return runner

    def run(self, state: dict, point: int, steps: int) -> dict:
        """Run the trajectories from ``state`` for ``steps`` steps at grid ``point``; the new state."""
        runner = self.runner(point)
        state = dict(state)
        state["config_fingerprint"] = np.array(runner.fingerprint, dtype=np.uint64)
        runner.set_state(state)
        if runner.advance(steps) != steps:
            raise ValueError(f"segment of {steps} steps runs past the planned end step {runner.steps_total}")
        self.trajectory_steps += steps * self.spec.n_traj
        return runner.get_state()

    def initial(self, point: int, directions: np.ndarray) -> dict:
        """The engine state at step 0 with the given directions (n, 3)."""
        state = self.runner(point, backend="numpy").get_state()
        state["n"] = np.array(directions, dtype=float)
        state["state"] = np.where(directions[:, 2] >= 0.0, 1, -1).astype(state["state"].dtype)
        return state


def run_pulse_ensemble(
    magnet: Macrospin,
    torque: ConstantTorque | TorqueTable,
    protocol: PulseProtocol,
    widths: ArrayLike,
    n_traj: int,
    dt: float,
    seed: int,
    backend: str = "auto",
    trajectory_offset: int = 0,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Simulate the protocol for every width with ``n_traj`` trajectories (ids trajectory_offset + i).

    Returns ``failed`` (n_widths, n_traj) bool — u still in the initial hemisphere at the read time;
    ``final_u`` (n_widths, n_traj); ``readout_current_before`` (n_traj,) and ``readout_current_after``
    (n_widths, n_traj) — I_C (Γ) of the read point at the initial and final directions.
    Every segment duration must be a whole number of steps. ``threads``: OpenMP threads of the cpu engine
    (None: its default); results do not depend on it.
    """
    w = check_widths(widths)
    ids = trajectory_offset + np.arange(int(n_traj), dtype=np.int64)
    directions = sample_initial_directions(magnet, torque, protocol, seed, ids)

    def read_current(n: np.ndarray) -> np.ndarray:
        if isinstance(torque, ConstantTorque):
            return np.full(n.shape[0], torque.charge_current)
        return np.asarray(torque.evaluate(np.full(n.shape[0], protocol.read_point), n[:, 2])[2], dtype=float)

    before, after = segment_steps(protocol.before(), dt), segment_steps(protocol.after(), dt)
    width_steps = [steps_of("pulse width", x, dt) for x in w]
    total = sum(s for _, s in before) + width_steps[-1] + sum(s for _, s in after)
    segs = Segments(EnsembleSpec(magnet, torque, ids.size, dt, total * dt, seed, trajectory_ids=ids), backend, threads)
    # step 0: a zero-step runner at the rest point provides the initial state layout
    state = segs.initial(protocol.rest, directions)
    for point, steps in before:
        state = segs.run(state, point, steps)
    failed = np.empty((w.size, int(n_traj)), dtype=bool)
    final_u = np.empty((w.size, int(n_traj)))
    current_after = np.empty((w.size, int(n_traj)))
    done = 0
    for i, ws in enumerate(width_steps):
        if ws > done:
            state = segs.run(state, protocol.write, ws - done)
            done = ws
        branch = state
        for point, steps in after:
            branch = segs.run(branch, point, steps)
        u = branch["n"][:, 2]
        final_u[i] = u
        failed[i] = u * protocol.sign > 0.0
        current_after[i] = read_current(branch["n"])
        if progress is not None:
            progress(i + 1)
    return {
        "failed": failed,
        "final_u": final_u,
        "readout_current_before": read_current(directions),
        "readout_current_after": current_after,
    }

"""First-passage ensembles with compaction: stop stepping trajectories once they have switched.

:class:`FirstPassageEnsemble` runs a set of trajectories, given by their global trajectory ids
(the Philox noise counter j, docs/physics.md §11), until each has made its first hysteretic switch away from
its initial state (docs/physics.md §10) or reached ``t_end``. Between chunks the switched trajectories are
dropped and the survivors continue in :meth:`gpuqd.dynamics.EnsembleRunner.subset` (their rows of
the engine state, their global ``trajectory_ids``; the table stays on the device). Because the noise of a trajectory
depends only on (seed, id, step), the first-passage times are the same as without compaction (bit
for bit on NumPy). Units: times in 1/Γ, angles in rad.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from gpuqd.dynamics import ConstantTorque, EnsembleRunner, EnsembleSpec, Macrospin
from gpuqd.dynamics.engine_config import STATE_KEYS
from gpuqd.transport.torque_table import TorqueTable

__all__ = ["FirstPassageEnsemble", "block_spec", "compact_state", "first_passage_spec", "first_passage_times"]

# Per-trajectory engine state entries (axis 0 = trajectory); "samples" and "steps_done" are not.
_PER_TRAJECTORY_KEYS = tuple(k for k in STATE_KEYS if k not in ("samples", "steps_done"))
_RUNNER_PREFIX = "engine."


def compact_state(state: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
    """Rows ``keep`` (local indices or a boolean mask) of an engine state (no θ samples allowed)."""
    if np.size(state["samples"]):
        raise ValueError("compaction of a state with θ(t) samples is not supported")
    out = {key: np.asarray(state[key])[keep] for key in _PER_TRAJECTORY_KEYS}
    out["samples"] = np.asarray(state["samples"])
    out["steps_done"] = np.asarray(state["steps_done"])
    return out


def first_passage_spec(
    magnet: Macrospin,
    torque: ConstantTorque | TorqueTable,
    dt: float,
    t_end: float,
    seed: int,
    trajectory_ids: np.ndarray,
    initial_theta: float | np.ndarray = 0.0,
    point_index: np.ndarray | None = None,
    switch_threshold: float = 0.5,
) -> EnsembleSpec:
    """The :class:`~gpuqd.dynamics.EnsembleSpec` of first-passage trajectories with explicit global ids
    (units: energies Γ, times 1/Γ, angles rad): the field form of :class:`FirstPassageEnsemble`."""
    template = EnsembleSpec(magnet, torque, 0, dt, t_end, seed, switch_threshold=switch_threshold)
    return block_spec(template, trajectory_ids, initial_theta, point_index)


def block_spec(
    template: EnsembleSpec,
    trajectory_ids: np.ndarray,
    initial_theta: float | np.ndarray = 0.0,
    point_index: np.ndarray | None = None,
) -> EnsembleSpec:
    """``template`` (its magnet, torque, dt, t_end, seed, switch_threshold) for the trajectories with the
    global ids ``trajectory_ids``, start angles ``initial_theta`` (rad) and table points ``point_index``:
    one round or block of a first-passage run."""
    ids = np.asarray(trajectory_ids, dtype=np.int64)
    return dataclasses.replace(
        template,
        n_traj=ids.size,
        trajectory_offset=0,
        trajectory_ids=ids,
        initial_theta=initial_theta,
        point_index=point_index,
    )


class FirstPassageEnsemble:
    """Resumable, compacting first-passage run of trajectories with explicit global ids.

    ``FirstPassageEnsemble(spec, backend=..., threads=..., compaction=...)`` with an
    :class:`~gpuqd.dynamics.EnsembleSpec` (its ``trajectory_ids``, or ``trajectory_offset + arange(n_traj)``,
    are the global ids; no θ(t) samples), or with the fields of :func:`first_passage_spec`:
    ``FirstPassageEnsemble(magnet, torque, dt, t_end, seed, trajectory_ids, initial_theta=0.0,
    point_index=None, switch_threshold=0.5, backend=..., compaction=...)``.

    Parameters (units: energies Γ, times 1/Γ)
    ----------
    magnet, torque : model and torque provider (ConstantTorque or TorqueTable).
    dt, t_end : time step and observation window (right-censoring time); t_end/dt an integer.
    seed : 64-bit noise key.
    trajectory_ids : (n,) distinct global trajectory ids (noise counters).
    initial_theta : scalar or (n,) start angle (0: P, π: AP).
    point_index : (n,) table point of each trajectory (TorqueTable only).
    switch_threshold : u_s of the hysteretic states.
    backend : "numpy" | "cpu" | "cupy" | "auto"; threads : OpenMP threads of the cpu engine (None: its
        default; results do not depend on it).
    compaction : drop switched trajectories between chunks (False: keep the full batch until all
        have switched or t_end is reached; same first-passage times, more work).
    """

    def __init__(
        self,
        *args: Any,
        backend: str = "numpy",
        threads: int | None = None,
        compaction: bool = True,
        **fields: Any,
    ) -> None:
        if args and isinstance(args[0], EnsembleSpec):
            if len(args) > 1 or fields:
                raise TypeError("give an EnsembleSpec or its fields, not both")
            spec = args[0]
        else:
            spec = first_passage_spec(*args, **fields)
        if spec.trajectory_ids is not None:
            ids = np.asarray(spec.trajectory_ids, dtype=np.int64)
        else:
            ids = int(spec.trajectory_offset) + np.arange(int(spec.n_traj), dtype=np.int64)
        n = ids.size
        theta = np.broadcast_to(np.asarray(spec.initial_theta, dtype=float), (n,)).copy()
        points = None if spec.point_index is None else np.asarray(spec.point_index, dtype=np.int64)
        #: the whole ensemble with explicit global ids; the runners get its rows (:meth:`_make_runner`)
        self.spec = block_spec(spec, ids, theta, points)
        self.dt = float(spec.dt)
        self.trajectory_ids, self.initial_theta, self.point_index = ids, theta, points
        self.backend, self.threads = backend, threads
        self.compaction = bool(compaction)
        self.first_switch_step = np.full(n, -1, dtype=np.int64)
        self.active = np.arange(n, dtype=np.int64)
        #: trajectory-steps integrated so far (work done; compaction lowers it)
        self.trajectory_steps = 0
        self._steps_done = 0
        self._runner: EnsembleRunner | None = self._make_runner(self.active) if n else None
        self.steps_total = self._runner.steps_total if self._runner is not None else 0

    # ------------------------------------------------------------------ runner management
    def _make_runner(self, local: np.ndarray) -> EnsembleRunner:
        points = None if self.point_index is None else self.point_index[local]
        spec = block_spec(self.spec, self.trajectory_ids[local], self.initial_theta[local], points)
        return EnsembleRunner(spec, backend=self.backend, threads=self.threads)

    @property
    def n_traj(self) -> int:
        return self.trajectory_ids.size

    @property
    def steps_done(self) -> int:
        return self._steps_done

    @property
    def done(self) -> bool:
        return self._runner is None or self._steps_done >= self.steps_total

    def advance(self, n_steps: int) -> int:
        """Run up to ``n_steps`` more steps of the unswitched trajectories; then compact."""
        runner = self._runner
        if runner is None or self.done:
            return 0
        taken = runner.advance(n_steps)
        self.trajectory_steps += taken * runner.config.n_traj
        self._steps_done = runner.steps_done
        first = runner.state_field("first_switch_step")
        switched = first >= 0
        self.first_switch_step[self.active[switched]] = first[switched]
        if switched.all():
            self._runner, self.active = None, self.active[:0]
        elif self.compaction and switched.any():
            keep = ~switched
            self.active = self.active[keep]
            self._runner = runner.subset(keep)  # state gathered on the device, table not re-uploaded
        return taken

    def run(self, chunk_steps: int) -> np.ndarray:
        """Advance to the end in chunks of ``chunk_steps``; returns :meth:`first_passage_time`."""
        while not self.done:
            self.advance(chunk_steps)
        return self.first_passage_time()

    def first_passage_time(self) -> np.ndarray:
        """(n,) first-passage times (1/Γ): step·dt, ``np.inf`` if not (yet) switched."""
        return first_passage_times(self.first_switch_step, self.dt)

    # ------------------------------------------------------------------ checkpoints
    def get_state(self) -> dict[str, np.ndarray]:
        """NumPy arrays to continue later: first_switch_step, active, counters and the engine state."""
        out = {
            "first_switch_step": self.first_switch_step.copy(),
            "active": self.active.copy(),
            "steps_done": np.array(self._steps_done, dtype=np.int64),
            "trajectory_steps": np.array(self.trajectory_steps, dtype=np.int64),
        }
        if self._runner is not None:
            out.update({_RUNNER_PREFIX + k: v for k, v in self._runner.get_state().items()})
        return out

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore a state from :meth:`get_state` of an ensemble with the same arguments."""
        first = np.asarray(state["first_switch_step"], dtype=np.int64)
        active = np.asarray(state["active"], dtype=np.int64)
        if first.shape != (self.n_traj,) or (active.size and (active.min() < 0 or active.max() >= self.n_traj)):
            raise ValueError("first-passage state does not match this ensemble (sizes)")
        self.first_switch_step = first.copy()
        self.active = active.copy()
        self._steps_done = int(state["steps_done"])
        self.trajectory_steps = int(state["trajectory_steps"])
        if active.size == 0:
            self._runner = None
            return
        self._runner = self._make_runner(self.active)
        engine = {k[len(_RUNNER_PREFIX) :]: v for k, v in state.items() if k.startswith(_RUNNER_PREFIX)}
        self._runner.set_state(engine)


def first_passage_times(first_switch_step: np.ndarray, dt: float) -> np.ndarray:
    """Steps → times (1/Γ); −1 (no switch) → ``np.inf`` (right-censored)."""
    steps = np.asarray(first_switch_step)
    return np.where(steps >= 0, steps * float(dt), np.inf)

"""Resumable ensemble driver (:class:`EnsembleRunner`), its result and :func:`run_ensemble`."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gpuqd.dynamics import table_cache
from gpuqd.dynamics.engine_config import (
    STATE_KEYS,
    EngineConfig,
    EnsembleSpec,
    build_config,
    config_fingerprint,
    initial_state,
    subset_config,
    torque_digest,
)
from gpuqd.dynamics.engines import registry as backends
from gpuqd.dynamics.engines.catalog import EngineOptions, make_engine
from gpuqd.dynamics.host_build import HostBuildError

logger = logging.getLogger(__name__)

# Default number of steps per advance() call in run_ensemble (progress / checkpoint granularity).
DEFAULT_CHUNK_STEPS = 10_000


def resolve_backend(backend: str) -> str:
    """ "auto" | "numpy" | "cpu" | "cupy" → the backend to use
    (:func:`gpuqd.dynamics.engines.registry.resolve_backend`).

    A fallback of "auto" is announced with a :class:`gpuqd.dynamics.engines.registry.BackendNotice` warning; an explicit
    backend that is not usable raises :class:`gpuqd.dynamics.engines.registry.BackendUnavailable` (a RuntimeError).
    """
    return backends.resolve_backend(backend)


def ensemble_spec(args: tuple, fields: dict[str, Any], backend: str) -> tuple[EnsembleSpec, str]:
    """The :class:`EnsembleSpec` and backend of a call ``(spec)`` or ``(magnet, torque, n_traj, dt, t_end,
    seed[, backend], **fields)`` of :class:`EnsembleRunner` / :func:`run_ensemble` (a backend after the
    seed is the historical positional form; every other field goes by name)."""
    if args and isinstance(args[0], EnsembleSpec):
        if len(args) > 1 or fields:
            raise TypeError("give an EnsembleSpec or its fields, not both")
        return args[0], backend
    required = list(args)
    if len(required) == 7 and isinstance(required[6], str):
        backend = required.pop()
    if len(required) > 6:
        raise TypeError(
            "positional arguments: magnet, torque, n_traj, dt, t_end, seed and optionally backend; "
            "give the other fields of EnsembleSpec by name"
        )
    return EnsembleSpec(*required, **fields), backend


@dataclass
class EnsembleResult:
    """Per-trajectory observables of one ensemble run (times in 1/Γ, angles in rad, I_C in Γ).

    first_passage_time : (n_traj,) time of the first switch away from the initial state (inf: never).
    n_switches : (n_traj,) number of hysteretic P↔AP switches (threshold ±switch_threshold on n·n_S).
    time_in_parallel, time_in_antiparallel : (n_traj,) total time spent in each state over [0, t_end].
    mean_theta : (n_traj,) window average of θ = ∠(n, n_S) (left-point rule on steps
        k_avg ≤ k < K, k_avg = average_from/dt); NaN if average_from is None.
    mean_charge_current : (n_traj,) window average of I_C(θ(t)) (same rule); NaN if average_from is None.
    final_direction : (n_traj, 3) drain direction at t_end.
    final_source_direction : (n_traj, 3) source direction (e_z unless free="both").
    final_state : (n_traj,) +1 P, −1 AP at t_end.
    samples : (n_sample_traj, n_samples) θ every sample_every steps from t = 0 (empty if not asked).
    sample_directions : (n_sample_traj, n_samples, 3) drain direction n at the same times.
    sample_times : (n_samples,) times of the samples.
    trajectory_ids : (n_traj,) global ids (trajectory_offset + local index, or the explicit ids given).
    """

    first_passage_time: np.ndarray
    n_switches: np.ndarray
    time_in_parallel: np.ndarray
    time_in_antiparallel: np.ndarray
    mean_theta: np.ndarray
    mean_charge_current: np.ndarray
    final_direction: np.ndarray
    final_source_direction: np.ndarray
    final_state: np.ndarray
    samples: np.ndarray
    sample_directions: np.ndarray
    sample_times: np.ndarray
    trajectory_ids: np.ndarray
    dt: float
    t_end: float


class PendingState:
    """A state copy in flight (:meth:`EnsembleRunner.snapshot`); ``result()`` waits for it."""

    def __init__(self, pending: Any, fingerprint: int) -> None:
        self._pending, self._fingerprint = pending, fingerprint

    @property
    def in_flight(self) -> bool:
        """True while the copy may still be under way (a device engine); False when it is on the host."""
        return bool(getattr(self._pending, "in_flight", False))

    def result(self) -> dict[str, np.ndarray]:
        """The state dictionary of :meth:`EnsembleRunner.get_state` at the time of the snapshot."""
        state = self._pending if isinstance(self._pending, dict) else self._pending.result()
        state = dict(state)
        state["config_fingerprint"] = np.array(self._fingerprint, dtype=np.uint64)
        return state


class EnsembleRunner:
    """Resumable batched LLG run: ``advance`` in chunks, checkpoint with get_state/set_state.

    ``EnsembleRunner(spec, backend=..., threads=...)`` with an :class:`EnsembleSpec`, or with its
    fields: ``EnsembleRunner(magnet, torque, n_traj, dt, t_end, seed, backend, initial_theta=..., ...)``;
    ``backend`` and ``threads`` as in :func:`run_ensemble`. The noise of trajectory j (global id
    trajectory_offset + local index, or ``trajectory_ids[local index]``) at step k depends on
    (seed, j, k) only, so results are identical for any split of the ensemble and any chunking;
    NumPy resumes are bit-identical. A subset of trajectories can be continued in a new runner
    built with their ``trajectory_ids`` and the corresponding rows of the state (compaction).
    """

    def __init__(self, *args: Any, backend: str = "numpy", threads: int | None = None, **fields: Any) -> None:
        spec, backend = ensemble_spec(args, fields, backend)
        self.config: EngineConfig = build_config(spec)
        self.t_end = float(spec.t_end)
        self._fingerprint: int | None = None
        self._torque_digest: bytes | None = None
        self.backend = resolve_backend(backend)
        options = EngineOptions(threads=threads)
        try:
            self._engine = make_engine(self.backend, self.config, options)
        except HostBuildError as exc:
            if backend != "auto":
                raise
            # the probe built the default variant; this configuration's variant did not compile
            warnings.warn(
                f"backend auto → numpy (cpu skipped: {str(exc).splitlines()[0]})", backends.BackendNotice, stacklevel=2
            )
            self.backend = "numpy"
            self._engine = make_engine("numpy", self.config, options)
        logger.debug(
            "EnsembleRunner: %d trajectories, %d steps, backend %s",
            self.config.n_traj,
            self.config.steps_total,
            self.backend,
        )

    @property
    def steps_done(self) -> int:
        return self._engine.steps_done

    @property
    def steps_total(self) -> int:
        return self.config.steps_total

    @property
    def done(self) -> bool:
        return self.steps_done >= self.steps_total

    def advance(self, n_steps: int) -> int:
        """Run up to ``n_steps`` more steps; returns how many were run."""
        return self._engine.advance(n_steps)

    @property
    def fingerprint(self) -> int:
        """64-bit digest of the configuration (saved with the state, checked by set_state)."""
        if self._fingerprint is None:
            if self._torque_digest is None:
                cfg = self.config
                self._torque_digest = (
                    table_cache.table_digest(cfg.torque, cfg.both_free, lambda: torque_digest(cfg))
                    if cfg.is_table
                    else torque_digest(cfg)
                )
            self._fingerprint = config_fingerprint(self.config, self._torque_digest)
        return self._fingerprint

    def subset(self, keep: np.ndarray) -> EnsembleRunner:
        """A runner that continues only the trajectories ``keep`` (local indices or a boolean mask).

        The state rows are gathered on the engine's device; the torque table, parameters and compiled
        kernel are shared with this runner (nothing is rebuilt or uploaded again). The subset keeps its
        global trajectory ids, so its trajectories are identical to those of this runner, and its
        fingerprint equals that of a runner built with the same ids, rows and arguments. Not for runs
        that record θ(t) samples.
        """
        keep = np.asarray(keep)
        if keep.dtype == bool:
            if keep.shape != (self.config.n_traj,):
                raise ValueError(f"keep mask must have shape ({self.config.n_traj},), got {keep.shape}")
            keep = np.flatnonzero(keep)
        keep = keep.astype(np.int64)
        if keep.ndim != 1 or keep.size == 0:
            raise ValueError("keep must select at least one trajectory")
        if keep.min() < 0 or keep.max() >= self.config.n_traj or np.any(np.diff(keep) <= 0):
            raise ValueError(f"keep must be increasing local indices in [0, {self.config.n_traj - 1}]")
        new = object.__new__(EnsembleRunner)
        new.config = subset_config(self.config, keep)
        new.t_end = self.t_end
        new.backend = self.backend
        new._fingerprint = None
        new._torque_digest = self._torque_digest
        new._engine = self._engine.subset(keep, new.config)
        return new

    def state_field(self, name: str) -> np.ndarray:
        """Host copy of one per-trajectory state field (a key of get_state other than samples/steps_done),
        without copying the rest of the state."""
        if name not in STATE_KEYS or name in ("samples", "steps_done"):
            raise ValueError(f"unknown per-trajectory state field {name!r}")
        return self._engine.state_field(name)

    def get_state(self) -> dict[str, np.ndarray]:
        """Everything needed to continue: NumPy arrays under :data:`gpuqd.dynamics.engine_config.STATE_KEYS`
        plus ``config_fingerprint`` (0-d uint64)."""
        state = self._engine.get_state()
        state["config_fingerprint"] = np.array(self.fingerprint, dtype=np.uint64)
        return state

    def snapshot(self) -> PendingState:
        """Start a checkpoint copy of the state and return at once; ``.result()`` waits and returns what
        :meth:`get_state` would have returned now. With CuPy the copy runs on a side stream while
        further :meth:`advance` calls are queued, so writing checkpoints does not idle the GPU; with
        the host engines the copy is made immediately."""
        engine_snapshot = getattr(self._engine, "snapshot", None)
        pending = engine_snapshot() if engine_snapshot is not None else self._engine.get_state()
        return PendingState(pending, self.fingerprint)

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore a state from :meth:`get_state` (same configuration required)."""
        if int(state.get("config_fingerprint", -1)) != self.fingerprint:
            raise ValueError("state was saved by a run with a different configuration (config_fingerprint)")
        reference = initial_state(self.config)
        for key in STATE_KEYS:
            if key not in state:
                raise ValueError(f"state is missing {key!r}")
            if np.shape(state[key]) != reference[key].shape:
                raise ValueError(f"state[{key!r}] has shape {np.shape(state[key])}, expected {reference[key].shape}")
        if not 0 <= int(state["steps_done"]) <= self.steps_total:
            raise ValueError(f"state['steps_done'] must be in [0, {self.steps_total}]")
        self._engine.set_state(state)

    def result(self) -> EnsembleResult:
        """Observables at the current step (normally called when :attr:`done`)."""
        cfg = self.config
        st = self.get_state()
        dt = cfg.dt
        k_done = int(st["steps_done"])
        open_dwell = k_done - st["last_switch_step"]
        parallel = st["state"] > 0
        steps_p = st["steps_in_parallel"] + np.where(parallel, open_dwell, 0)
        steps_ap = st["steps_in_antiparallel"] + np.where(parallel, 0, open_dwell)
        window = k_done - cfg.average_start_step
        if cfg.average_start_step >= 0 and window > 0:
            mean_theta = st["sum_theta"] / window
            mean_ic = st["sum_charge_current"] / window
        else:
            mean_theta = np.full(cfg.n_traj, np.nan)
            mean_ic = np.full(cfg.n_traj, np.nan)
        first = st["first_switch_step"]
        n_samples = cfg.n_samples
        return EnsembleResult(
            first_passage_time=np.where(first >= 0, first * dt, np.inf),
            n_switches=st["n_switches"],
            time_in_parallel=steps_p * dt,
            time_in_antiparallel=steps_ap * dt,
            mean_theta=mean_theta,
            mean_charge_current=mean_ic,
            final_direction=st["n"],
            final_source_direction=st["m"],
            final_state=st["state"],
            samples=st["samples"][:, :, 0],
            sample_directions=st["samples"][:, :, 1:],
            sample_times=np.arange(n_samples) * cfg.sample_every * dt,
            trajectory_ids=cfg.global_ids.copy(),
            dt=dt,
            t_end=self.t_end,
        )


def run_ensemble(
    *args: Any,
    backend: str = "auto",
    chunk_steps: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    threads: int | None = None,
    **fields: Any,
) -> EnsembleResult:
    """Integrate ``n_traj`` independent stochastic LLG trajectories to ``t_end`` and return observables.

    What to integrate: an :class:`EnsembleSpec`, or its fields (``run_ensemble(magnet, torque, n_traj,
    dt, t_end, seed, backend, initial_theta=..., ...)``; units: energies Γ, times 1/Γ). How:
    backend : "auto" | "numpy" | "cpu" | "cupy" (gpuqd.dynamics.engines.registry).
    chunk_steps : steps per advance() call (default 10⁴); progress(steps_done, steps_total) is called
        after each chunk.
    threads : OpenMP threads of the cpu backend (None: OMP_NUM_THREADS or the usable CPUs); results
        do not depend on it.
    """
    spec, backend = ensemble_spec(args, fields, backend)
    runner = EnsembleRunner(spec, backend=backend, threads=threads)
    chunk = DEFAULT_CHUNK_STEPS if chunk_steps is None else int(chunk_steps)
    if chunk < 1:
        raise ValueError(f"chunk_steps must be >= 1, got {chunk}")
    while not runner.done:
        runner.advance(chunk)
        if progress is not None:
            progress(runner.steps_done, runner.steps_total)
    return runner.result()

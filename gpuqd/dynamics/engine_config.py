"""What an ensemble run is (:class:`EnsembleSpec`, the one argument list) and what the engines get
from it (:class:`EngineConfig`, validated and resolved by :func:`build_config`), shared by the NumPy,
cpu and CuPy engines; also the initial state and the digests that tie saved states to a configuration.

Units: energies in Γ, times in 1/Γ, S in ħ.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from gpuqd.dynamics import layout
from gpuqd.dynamics.model import ConstantTorque, Macrospin
from gpuqd.dynamics.philox import split_seed
from gpuqd.dynamics.stability import check_time_step, table_torque_bound
from gpuqd.transport.torque_table import TorqueTable

#: The one tolerance of "a time is a whole number of steps" (t_end/dt, average_from/dt; also the
#: configuration check of :mod:`gpuqd.run.config`), relative to the step count. Round-off in
#: t_end/dt is a few ulp (~1e-16 relative), so 1e-9 accepts every intended multiple with a margin of
#: 10⁶ and rejects a t_end off by more than 1e-9 of a step count up to 5·10⁸ steps; a looser 1e-6
#: would pass any t_end once t_end/dt > 5·10⁵ (|n − round(n)| ≤ ½) and silently round it.
STEP_COUNT_RTOL = 1e-9


@dataclass(frozen=True, eq=False)
class EngineConfig:
    """Everything an engine needs; built by :func:`build_config` (units: Γ, 1/Γ, ħ)."""

    magnet: Macrospin
    torque: ConstantTorque | TorqueTable
    n_traj: int
    dt: float
    steps_total: int
    key: tuple[int, int]
    seed: int
    trajectory_offset: int
    initial_theta: np.ndarray  # (n_traj,) rad
    switch_threshold: float
    average_start_step: int  # -1: no averaging
    point_index: np.ndarray  # (n_traj,) int64, zeros for a constant torque
    sample_every: int  # 0: no samples
    sample_trajectories: np.ndarray  # local indices (int64)
    # explicit global trajectory ids (n_traj,) int64, or None: ids are trajectory_offset + arange(n_traj)
    trajectory_ids: np.ndarray | None = None

    @property
    def global_ids(self) -> np.ndarray:
        """(n_traj,) int64 global trajectory ids (the noise counter j of each local trajectory)."""
        if self.trajectory_ids is not None:
            return self.trajectory_ids
        return self.trajectory_offset + np.arange(self.n_traj, dtype=np.int64)

    @property
    def noise_scale(self) -> float:
        """sqrt(σ²/dt): standard deviation of the thermal field held constant over one step (Γ)."""
        return math.sqrt(self.magnet.noise_variance / self.dt)

    @property
    def is_table(self) -> bool:
        return isinstance(self.torque, TorqueTable)

    @property
    def table(self) -> TorqueTable:
        """The torque table (TypeError for a constant torque: check :attr:`is_table` first)."""
        if not isinstance(self.torque, TorqueTable):
            raise TypeError("the torque is constant, not a table")
        return self.torque

    @property
    def both_free(self) -> bool:
        return self.magnet.free == "both"

    @property
    def n_samples(self) -> int:
        return self.steps_total // self.sample_every + 1 if self.sample_every > 0 else 0


def step_count(value: float, dt: float, name: str = "t_end") -> int:
    """value/dt as a whole number of steps (value and dt in 1/Γ); ValueError unless value is a multiple
    of dt within :data:`STEP_COUNT_RTOL`."""
    ratio = value / dt
    count = round(ratio)
    if abs(ratio - count) > STEP_COUNT_RTOL * max(1.0, abs(ratio)):
        raise ValueError(f"{name}/dt must be an integer number of steps (a multiple of dt), got {name}/dt = {ratio!r}")
    return int(count)


@dataclass(frozen=True, eq=False)
class EnsembleSpec:
    """The one argument list of an ensemble run: what to integrate (units: energies Γ, times 1/Γ, S in ħ).

    :func:`build_config` validates it (ValueError naming the offending field) and resolves it into the
    :class:`EngineConfig` the engines use; :class:`gpuqd.dynamics.EnsembleRunner` and
    :func:`gpuqd.dynamics.run_ensemble` take one, or its fields, plus how to run it (backend, threads).

    magnet, torque : model and torque provider (ConstantTorque or TorqueTable).
    n_traj, dt, t_end : ensemble size, time step, end time (t_end/dt a whole number of steps,
        :func:`step_count`).
    seed : 64-bit Philox key.
    initial_theta : scalar or (n_traj,) polar angle of the start direction (sin θ, 0, cos θ), rad.
    switch_threshold : u_s of the hysteretic P/AP states, in [0, 1) (docs/physics.md §10).
    average_from : start of the averaging window for mean_theta / mean_charge_current (None: no averages).
    point_index : (n_traj,) table grid point of each trajectory (TorqueTable only).
    trajectory_offset : global id of trajectory 0 (noise counter), so split ensembles reproduce.
    sample_every, sample_trajectories : record θ of these local trajectories every sample_every steps.
    trajectory_ids : optional (n_traj,) distinct global ids in [0, 2**63), replacing
        trajectory_offset + arange(n_traj) (not together with a non-zero trajectory_offset).
    """

    magnet: Macrospin
    torque: ConstantTorque | TorqueTable
    n_traj: int
    dt: float
    t_end: float
    seed: int
    initial_theta: float | np.ndarray = 0.0
    switch_threshold: float = 0.5
    average_from: float | None = None
    point_index: np.ndarray | None = None
    trajectory_offset: int = 0
    sample_every: int | None = None
    sample_trajectories: np.ndarray | list[int] | None = None
    trajectory_ids: np.ndarray | None = None


def build_config(*args: Any, **fields: Any) -> EngineConfig:
    """Validate an ensemble (an :class:`EnsembleSpec`, or its fields in order or by name) and resolve it
    into an :class:`EngineConfig`; ValueError naming the offending field. The one validation of the
    ensemble arguments (the engines and runners rely on it)."""
    spec = (
        args[0]
        if len(args) == 1 and not fields and isinstance(args[0], EnsembleSpec)
        else EnsembleSpec(*args, **fields)
    )
    if not isinstance(spec.magnet, Macrospin):
        raise ValueError("magnet must be a gpuqd.dynamics.Macrospin")
    if not isinstance(spec.torque, ConstantTorque | TorqueTable):
        raise ValueError("torque must be a ConstantTorque or a gpuqd.transport.TorqueTable")
    n_traj = int(spec.n_traj)
    if n_traj < 1:
        raise ValueError(f"n_traj must be >= 1, got {n_traj}")
    dt, t_end, steps_total = _time_axis(spec.dt, spec.t_end)
    trajectory_offset, trajectory_ids = _global_ids(spec.trajectory_offset, spec.trajectory_ids, n_traj)
    key = split_seed(spec.seed)
    theta0 = np.broadcast_to(np.asarray(spec.initial_theta, dtype=float), (n_traj,)).copy()
    if not np.all(np.isfinite(theta0)):
        raise ValueError("initial_theta must be finite (rad)")
    switch_threshold = float(spec.switch_threshold)
    if not 0.0 <= switch_threshold < 1.0:
        raise ValueError(f"switch_threshold must be in [0, 1), got {switch_threshold}")
    average_start = _average_start(spec.average_from, t_end, dt)
    point_index, max_torque = _points_and_torque_bound(spec.magnet, spec.torque, spec.point_index, n_traj)
    # the noise bound for this ensemble's own draws (a run's validation uses the larger default bound)
    check_time_step(spec.magnet, max_torque, dt, trajectory_steps=float(n_traj) * max(steps_total, 1))
    sample_every, sample_ids = _samples(spec.sample_every, spec.sample_trajectories, n_traj)
    return EngineConfig(
        magnet=spec.magnet,
        torque=spec.torque,
        n_traj=n_traj,
        dt=dt,
        steps_total=steps_total,
        key=key,
        seed=int(spec.seed),
        trajectory_offset=trajectory_offset,
        initial_theta=theta0,
        switch_threshold=switch_threshold,
        average_start_step=average_start,
        point_index=point_index,
        sample_every=sample_every,
        sample_trajectories=sample_ids,
        trajectory_ids=trajectory_ids,
    )


def _time_axis(dt: float, t_end: float) -> tuple[float, float, int]:
    """(dt, t_end, steps) checked: dt finite > 0, t_end finite >= 0 and a whole number of steps."""
    dt = float(dt)
    if not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a finite number > 0 (1/Γ), got {dt}")
    t_end = float(t_end)
    if not (math.isfinite(t_end) and t_end >= 0):
        raise ValueError(f"t_end must be finite and >= 0 (1/Γ), got {t_end}")
    return dt, t_end, step_count(t_end, dt, "t_end")


def _global_ids(
    trajectory_offset: int, trajectory_ids: np.ndarray | None, n_traj: int
) -> tuple[int, np.ndarray | None]:
    """The trajectory offset and the explicit ids (int64, distinct, in [0, 2**63)) if given."""
    trajectory_offset = int(trajectory_offset)
    if not 0 <= trajectory_offset <= 2**63 - n_traj:
        raise ValueError(f"trajectory_offset must be in [0, 2**63 - n_traj], got {trajectory_offset}")
    if trajectory_ids is None:
        return trajectory_offset, None
    if trajectory_offset != 0:
        raise ValueError("give either trajectory_ids or a non-zero trajectory_offset, not both")
    ids = np.asarray(trajectory_ids)
    if ids.shape != (n_traj,) or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"trajectory_ids must be an integer array of shape ({n_traj},)")
    if ids.min() < 0 or (ids.dtype.kind == "u" and ids.max() > 2**63 - 1):
        raise ValueError("trajectory_ids must lie in [0, 2**63)")
    ids = ids.astype(np.int64)
    if np.unique(ids).size != n_traj:
        raise ValueError("trajectory_ids must be distinct (equal ids would share their noise)")
    return trajectory_offset, ids


def _average_start(average_from: float | None, t_end: float, dt: float) -> int:
    """First step of the averaging window (-1: no averaging)."""
    if average_from is None:
        return -1
    average_from = float(average_from)
    if not 0.0 <= average_from < t_end:
        raise ValueError(f"average_from must be in [0, t_end) = [0, {t_end}), got {average_from}")
    return step_count(average_from, dt, "average_from")


def _points_and_torque_bound(
    magnet: Macrospin, torque: ConstantTorque | TorqueTable, point_index: np.ndarray | None, n_traj: int
) -> tuple[np.ndarray, float]:
    """Table point of every trajectory (int64; zeros for a constant torque) and the largest torque
    coefficient the used points (and, with free='both', the source) can reach, for the time-step guard."""
    if isinstance(torque, TorqueTable):
        if point_index is None:
            if torque.n_points != 1:
                raise ValueError("point_index (n_traj,) is required when the TorqueTable has more than one point")
            point_index = np.zeros(n_traj, dtype=np.int64)
        point_index = np.asarray(point_index)
        if point_index.shape != (n_traj,) or not np.issubdtype(point_index.dtype, np.integer):
            raise ValueError(f"point_index must be an integer array of shape ({n_traj},)")
        if point_index.min() < 0 or point_index.max() >= torque.n_points:
            raise ValueError(f"point_index values must lie in [0, {torque.n_points - 1}]")
        point_index = point_index.astype(np.int64)
        used = np.unique(point_index)
        max_torque = table_torque_bound(torque.field_like[used], torque.damping_like[used])
    else:
        if point_index is not None:
            raise ValueError("point_index is only meaningful with a TorqueTable")
        point_index = np.zeros(n_traj, dtype=np.int64)
        max_torque = torque.max_abs_torque
    if magnet.free == "both":
        if not torque.has_source:
            raise ValueError(
                "free='both' needs the source torque coefficients: a TorqueTable built from a transport model "
                "or a ConstantTorque with source_field_like and source_damping_like"
            )
        fl_s, dl_s = torque.source_field_like, torque.source_damping_like
        assert fl_s is not None and dl_s is not None  # has_source
        if isinstance(torque, TorqueTable):
            source_torque = table_torque_bound(np.asarray(fl_s)[used], np.asarray(dl_s)[used])
        else:
            source_torque = abs(float(fl_s)) + abs(float(dl_s))
        max_torque = max(max_torque, source_torque)
    return point_index, max_torque


def _samples(
    sample_every: int | None, sample_trajectories: np.ndarray | list[int] | None, n_traj: int
) -> tuple[int, np.ndarray]:
    """(sample_every, local indices of the sampled trajectories); sample_every 0 when nothing is sampled."""
    sample_every = 0 if sample_every is None else int(sample_every)
    if sample_every < 0:
        raise ValueError(f"sample_every must be >= 1 (steps) or None, got {sample_every}")
    if sample_trajectories is None:
        sample_ids = np.zeros(0, dtype=np.int64)
    else:
        sample_ids = np.atleast_1d(np.asarray(sample_trajectories, dtype=np.int64))
        if sample_ids.size and (sample_ids.min() < 0 or sample_ids.max() >= n_traj):
            raise ValueError(f"sample_trajectories must be local indices in [0, {n_traj - 1}]")
    if sample_ids.size and sample_every == 0:
        raise ValueError("sample_trajectories needs sample_every >= 1 (steps)")
    if sample_ids.size == 0:
        sample_every = 0
    return sample_every, sample_ids


def subset_config(cfg: EngineConfig, keep: np.ndarray) -> EngineConfig:
    """The configuration of the trajectories ``keep`` (sorted distinct local indices) of ``cfg``, with
    their global ids as explicit ``trajectory_ids`` (so their noise is unchanged). Runs with θ(t)
    samples cannot be subset."""
    if cfg.sample_trajectories.size:
        raise ValueError("a run that records θ(t) samples cannot be reduced to a subset of trajectories")
    return dataclasses.replace(
        cfg,
        n_traj=int(keep.size),
        trajectory_offset=0,
        initial_theta=cfg.initial_theta[keep],
        point_index=cfg.point_index[keep],
        trajectory_ids=cfg.global_ids[keep],
    )


def initial_state(cfg: EngineConfig) -> dict[str, np.ndarray]:
    """Engine state at step 0 (NumPy arrays; the layout get_state/set_state exchange).

    Keys (:data:`gpuqd.dynamics.layout.STATE_KEYS`): the per-trajectory fields of
    :data:`gpuqd.dynamics.layout.STATE` — ``n`` (n_traj, 3) drain direction (sin θ₀, 0, cos θ₀);
    ``state`` +1 (P) where n_z ≥ 0, −1 (AP) otherwise; the others at their declared fill value —
    then ``samples`` (n_sample_traj, n_samples, 4) = :data:`gpuqd.dynamics.layout.SAMPLE_COLUMNS`
    every sample_every steps (column 0 filled, NaN elsewhere) and ``steps_done`` (0-d).
    """
    n = cfg.n_traj
    theta0 = cfg.initial_theta
    direction = np.stack([np.sin(theta0), np.zeros(n), np.cos(theta0)], axis=1)
    computed = {"n": direction, "state": np.where(direction[:, 2] >= 0.0, 1, -1)}
    state: dict[str, np.ndarray] = {}
    for field in layout.STATE:
        shape = (n, field.components) if field.components > 1 else (n,)
        if field.fill is None:
            value = computed[field.name]
        else:
            value = np.broadcast_to(np.asarray(field.fill), shape)
        state[field.name] = np.array(value, dtype=field.dtype).reshape(shape)
    samples = np.full((cfg.sample_trajectories.size, cfg.n_samples, len(layout.SAMPLE_COLUMNS)), np.nan)
    if samples.size:
        samples[:, 0, 0] = np.arccos(np.clip(direction[cfg.sample_trajectories, 2], -1.0, 1.0))
        samples[:, 0, 1:] = direction[cfg.sample_trajectories]
    state["samples"] = samples
    state["steps_done"] = np.array(0, dtype=np.int64)
    return state


def torque_digest(cfg: EngineConfig) -> bytes:
    """Digest of the torque provider as it acts in this configuration (part of the fingerprint;
    hashing a large table takes a while, so runners cache it and pass it on to their subsets)."""
    digest = hashlib.blake2b(digest_size=16)
    if cfg.is_table:
        digest.update(np.ascontiguousarray(cfg.table.stacked()).tobytes())
        if cfg.both_free:  # the source coefficients only act (and only count) when the source moves
            digest.update(np.ascontiguousarray(cfg.torque.source_field_like).tobytes())
            digest.update(np.ascontiguousarray(cfg.torque.source_damping_like).tobytes())
    else:
        digest.update(repr(cfg.torque).encode())
    return digest.digest()


def config_fingerprint(cfg: EngineConfig, torque_digest_bytes: bytes | None = None) -> int:
    """64-bit digest of everything that determines the trajectories (stored with saved states).

    ``torque_digest_bytes``: :func:`torque_digest` of ``cfg`` if already known."""
    digest = hashlib.blake2b(digest_size=8)
    scalars = (
        cfg.n_traj,
        cfg.dt,
        cfg.steps_total,
        cfg.seed,
        cfg.trajectory_offset,
        cfg.switch_threshold,
        cfg.average_start_step,
        cfg.sample_every,
        repr(cfg.magnet),
    )
    digest.update(repr(scalars).encode())
    digest.update(torque_digest(cfg) if torque_digest_bytes is None else torque_digest_bytes)
    for array in (cfg.initial_theta, cfg.point_index, cfg.sample_trajectories):
        digest.update(np.ascontiguousarray(array).tobytes())
    if cfg.trajectory_ids is not None:  # absent ids leave the digest of offset-based runs unchanged
        digest.update(b"trajectory_ids")
        digest.update(np.ascontiguousarray(cfg.trajectory_ids).tobytes())
    return int.from_bytes(digest.digest(), "little")


STATE_KEYS = layout.STATE_KEYS

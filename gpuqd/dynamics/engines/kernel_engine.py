"""Host side shared by the engines that run the fused kernel (CuPy on a GPU, the host build on CPUs).

:class:`KernelEngine` keeps the ensemble state in the component-major layout of
:mod:`gpuqd.dynamics.layout` (arrays of an array module ``xp``: CuPy or NumPy), builds the kernel
arguments in :data:`~gpuqd.dynamics.layout.KERNEL_ARGS` order and advances in launches of at most
``MAX_STEPS_PER_LAUNCH`` steps; subclasses provide ``_launch``. Units: energies in Γ, times in 1/Γ.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from gpuqd.dynamics import layout, table_cache
from gpuqd.dynamics.engine_config import EngineConfig, initial_state
from gpuqd.dynamics.stability import NORM_DRIFT_LIMIT

MAX_STEPS_PER_LAUNCH = 20_000


def table_map_constants() -> tuple[float, float, float]:
    """(θ_min, θ_mid, C) of the table angle map s(θ) in gpuqd.transport.torque_table.

    The kernel re-implements that map; tests/dynamics/test_kernel_host.py checks the two agree.
    """
    from gpuqd.transport import torque_table

    return torque_table.THETA_MIN, torque_table.THETA_MID, torque_table.MAP_SCALE


def kernel_defines(cfg: EngineConfig) -> dict[str, int]:
    """Compile-time switches (``LLG_*`` macros) of the kernel for this configuration."""
    magnet = cfg.magnet
    return {
        "LLG_USE_TABLE": int(cfg.is_table),
        "LLG_BOTH_FREE": int(cfg.both_free),
        "LLG_HAS_CUBIC": int(magnet.K_cubic != 0.0),
        "LLG_HAS_AC": int(magnet.ac_field is not None),
        "LLG_HAS_NOISE": int(cfg.noise_scale > 0.0),
    }


def parameter_block(cfg: EngineConfig) -> np.ndarray:
    """The float64 parameter block read by the kernel (layout: :data:`gpuqd.dynamics.layout.PARAMS`)."""
    magnet = cfg.magnet
    denom = magnet.S**2 + magnet.alpha**2
    ac_amp, ac_omega = magnet.ac_field if magnet.ac_field is not None else (0.0, 0.0)
    const: tuple[Any, ...]
    if cfg.is_table:
        const = (0.0, 0.0, 0.0)
    else:
        const = (cfg.torque.field_like, cfg.torque.damping_like, cfg.torque.charge_current)
    source: tuple[Any, ...] = (0.0, 0.0)
    if cfg.both_free and not cfg.is_table:
        source = (cfg.torque.source_field_like, cfg.torque.source_damping_like)
    theta_min, theta_mid, map_scale = table_map_constants()
    fx, fy, fz = magnet.field
    return layout.pack_params(
        {
            "c_prec": magnet.S / denom,
            "c_damp": magnet.alpha / denom,
            "kv": magnet.KV,
            "fx": fx,
            "fy": fy,
            "fz": fz,
            "ac_amp": ac_amp,
            "ac_omega": ac_omega,
            "k_cubic": magnet.K_cubic,
            "axes": np.asarray(magnet.cubic_axes, dtype=float),
            "noise_scale": cfg.noise_scale,
            "dt": cfg.dt,
            "u_s": cfg.switch_threshold,
            "const_fl": const[0],
            "const_dl": const[1],
            "const_ic": const[2],
            "const_fl_s": source[0],
            "const_dl_s": source[1],
            "table_nodes": float(cfg.table.n_theta) if cfg.is_table else 4.0,
            "theta_min": theta_min,
            "theta_min_plus_pi": theta_min + np.pi,
            "inv_theta_mid": 1.0 / theta_mid,
            "inv_map_scale": 1.0 / map_scale,
        }
    )


class KernelEngine:
    """Ensemble state in kernel layout on array module ``xp``; ``advance`` calls ``_launch``."""

    def __init__(self, cfg: EngineConfig, xp: Any) -> None:
        self.xp = xp
        self.cfg = cfg
        self.params = parameter_block(cfg)  # host structured array, passed by value at every launch
        if cfg.is_table:
            self.table = table_cache.device_table(cfg.table, cfg.both_free, xp)  # packed/uploaded once
            self.n_theta = cfg.table.n_theta
        else:
            self.table = xp.zeros(1, dtype=np.float64)
            self.n_theta = 4
        self.point_index = xp.asarray(cfg.point_index.astype(np.int64))
        # explicit global trajectory ids (kernel reads ids[j]); a 1-element placeholder otherwise
        self.has_traj_ids = cfg.trajectory_ids is not None
        self.traj_ids = xp.asarray(
            cfg.trajectory_ids.astype(np.int64) if cfg.trajectory_ids is not None else np.zeros(1, dtype=np.int64)
        )
        # one sample row per sampled trajectory; a trajectory listed twice (two inset points on one grid
        # pixel) is recorded in its first row and copied to the others on the host (duplicate_rows)
        sampled = cfg.sample_trajectories
        rows = np.arange(sampled.size, dtype=np.int32)
        slots = np.full(cfg.n_traj, -1, dtype=np.int32)
        slots[sampled[::-1]] = rows[::-1]  # the last write wins: the first row of each trajectory
        self.duplicate_rows = (rows[slots[sampled] != rows], slots[sampled][slots[sampled] != rows])
        self.sample_slot = xp.asarray(slots)
        self.set_state(initial_state(cfg))

    # ------------------------------------------------------------------ state
    def set_state(self, state: dict[str, np.ndarray]) -> None:
        xp = self.xp
        self.arrays = {f.name: xp.array(layout.state_to_device_layout(f, state[f.name])) for f in layout.STATE}
        samples = np.asarray(state["samples"], dtype=np.float64)
        self.samples = xp.array(samples if samples.size else np.zeros(1))
        self.samples_shape = samples.shape
        self.steps_done = int(state["steps_done"])
        self.last_norm_sq = xp.ones(self.cfg.n_traj, dtype=np.float64)

    def _to_host(self, array: Any) -> np.ndarray:
        return np.asarray(self.xp.asnumpy(array) if hasattr(self.xp, "asnumpy") else array)

    def get_state(self) -> dict[str, np.ndarray]:
        self._settle()
        state = {f.name: layout.state_from_device_layout(f, self._to_host(self.arrays[f.name])) for f in layout.STATE}
        n_samples_total = int(np.prod(self.samples_shape))
        samples = self._to_host(self.samples).copy() if n_samples_total else np.zeros(self.samples_shape)
        state["samples"] = fill_duplicate_rows(samples.reshape(self.samples_shape), self.duplicate_rows)
        state["steps_done"] = np.array(self.steps_done, dtype=np.int64)
        return state

    def state_field(self, name: str) -> np.ndarray:
        """Host copy of one per-trajectory state field in the get_state layout."""
        self._settle()
        return layout.state_from_device_layout(layout.STATE_BY_NAME[name], self._to_host(self.arrays[name]))

    def subset(self, keep: np.ndarray, cfg: EngineConfig) -> KernelEngine:
        """Engine for the trajectories ``keep`` (config ``cfg``): the state rows are gathered where they
        live (on the device for CuPy); the table, parameters and compiled kernel are shared, not rebuilt
        or uploaded again."""
        xp = self.xp
        index = xp.asarray(keep)
        self._settle()
        new = copy.copy(self)
        new.cfg = cfg
        new.arrays = {name: xp.ascontiguousarray(a[..., index]) for name, a in self.arrays.items()}
        new.point_index = xp.ascontiguousarray(self.point_index[index])
        new.has_traj_ids = True
        new.traj_ids = xp.asarray(cfg.trajectory_ids)
        new.sample_slot = xp.full(cfg.n_traj, -1, dtype=np.int32)
        new.last_norm_sq = xp.ascontiguousarray(self.last_norm_sq[index])
        return new

    # ------------------------------------------------------------------ launches
    def _arguments(self, step_start: int, n_steps: int) -> list[Any]:
        """Kernel arguments in layout order: arrays (dtype-checked), NumPy scalars, and the parameter block
        as a one-element host structured array (passed by value: CuPy and ctypes copy it into the launch)."""
        cfg = self.cfg
        values: dict[str, Any] = {f"state_{name}": array for name, array in self.arrays.items()}
        values.update(
            params=self.params,
            table=self.table,
            point_index=self.point_index,
            traj_ids=self.traj_ids,
            sample_slot=self.sample_slot,
            samples=self.samples,
            last_norm_sq=self.last_norm_sq,
            n_theta=self.n_theta,
            n_samples=self.samples_shape[1] if len(self.samples_shape) == 3 else 0,
            sample_every=cfg.sample_every,
            step_start=step_start,
            n_steps=n_steps,
            average_start=cfg.average_start_step,
            traj_offset=cfg.trajectory_offset,
            has_traj_ids=int(self.has_traj_ids),
            key0=cfg.key[0],
            key1=cfg.key[1],
            n_traj=cfg.n_traj,
        )
        args = []
        for arg in layout.KERNEL_ARGS:
            value = values[arg.name]
            if arg.is_params:
                if value.dtype != layout.params_dtype() or value.shape != (1,):
                    raise TypeError(f"kernel argument {arg.name}: need one {layout.PARAMS_STRUCT} record")
                args.append(value)
            elif arg.pointer:
                if value.dtype != np.dtype(arg.dtype) or not value.flags.c_contiguous:
                    raise TypeError(f"kernel argument {arg.name}: need contiguous {arg.dtype}, got {value.dtype}")
                args.append(value)
            else:
                args.append(np.dtype(arg.dtype).type(value))
        return args

    def _launch(self, args: list[Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def advance(self, n_steps: int) -> int:
        """Run up to ``n_steps`` more steps (never past steps_total); returns the steps taken.

        The health check (NaN or |n| drift) follows the launches: on the host at once; a device engine
        may queue it and report a failure at most one call late (:meth:`_check_health`).
        """
        start = self.steps_done
        end = min(start + max(int(n_steps), 0), self.cfg.steps_total)
        k = start
        while k < end:
            launch_steps = min(MAX_STEPS_PER_LAUNCH, end - k)
            self._launch(self._arguments(k, launch_steps))
            k += launch_steps
        self.steps_done = end
        self._check_health(end)
        return end - start

    # ------------------------------------------------------------------ health check
    def _bad_trajectories(self) -> Any:
        xp = self.xp
        bad = ~xp.all(xp.isfinite(self.arrays["n"]), axis=0) | (xp.abs(self.last_norm_sq - 1.0) > NORM_DRIFT_LIMIT)
        if self.cfg.both_free:
            bad |= ~xp.all(xp.isfinite(self.arrays["m"]), axis=0)
        return bad

    def _raise_if_bad(self, bad: Any, step: int) -> None:
        if bool(bad.any()):
            ids = self.cfg.global_ids[self._to_host(self.xp.flatnonzero(bad))]
            raise RuntimeError(
                f"LLG integration failed (NaN or |n| drift > 5% in one step) by step {step} "
                f"for trajectory ids {ids[:20].tolist()}{' ...' if ids.size > 20 else ''}; reduce dt"
            )

    def _check_health(self, step: int) -> None:
        """Raise if a trajectory failed by ``step`` (host engines: now)."""
        self._raise_if_bad(self._bad_trajectories(), step)

    def _settle(self) -> None:
        """Resolve deferred work before the state is read (nothing on the host)."""

    # ------------------------------------------------------------------ asynchronous snapshot
    def snapshot(self) -> Any:
        """Start copying the state to the host and return; ``.result()`` of the returned object gives
        :meth:`get_state`'s dictionary. On the host the copy is made at once; a device engine copies in
        the background (gpuqd.dynamics.engines.cupy_engine)."""
        return ReadyState(self.get_state())


def fill_duplicate_rows(samples: np.ndarray, duplicate_rows: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """``samples`` with the rows of repeated sampled trajectories copied from their first rows (in place)."""
    target, source = duplicate_rows
    if target.size:
        samples[target] = samples[source]
    return samples


class ReadyState:
    """A snapshot that is already on the host (``result()`` returns it)."""

    def __init__(self, state: dict[str, np.ndarray]) -> None:
        self._state = state

    def result(self) -> dict[str, np.ndarray]:
        return self._state

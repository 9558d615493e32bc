"""CuPy engine: the fused RawModule kernel of ``llg_kernel.cu`` (FP64, one thread per trajectory).

The ensemble state stays on the device between :meth:`CupyEngine.advance` calls; each call is
split into kernel launches of at most ``MAX_STEPS_PER_LAUNCH`` steps. The kernel is specialised at
compile time (table or constant torque, free source, cubic anisotropy, AC drive, noise) and
cached per specialisation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gpuqd.dynamics.config import EngineConfig, initial_state

KERNEL_SOURCE = Path(__file__).with_name("llg_kernel.cu")
KERNEL_NAME = "llg_heun_advance"
THREADS_PER_BLOCK = 128
MAX_STEPS_PER_LAUNCH = 20_000
# Order of the double parameter block (must match the enum in llg_kernel.cu).
PARAM_COUNT = 27


def table_map_constants() -> tuple[float, float, float]:
    """(θ_min, θ_mid, C) of the table angle map s(θ) in gpuqd.transport.torque_table.

    The kernel re-implements that map; tests/test_dynamics_cuda_source.py checks the two agree.
    """
    from gpuqd.transport import torque_table

    return torque_table.THETA_MIN, torque_table.THETA_MID, torque_table.MAP_SCALE


def kernel_defines(cfg: EngineConfig) -> dict[str, int]:
    """Compile-time switches of the kernel for this configuration."""
    magnet = cfg.magnet
    return {
        "LLG_USE_TABLE": int(cfg.is_table),
        "LLG_BOTH_FREE": int(cfg.both_free),
        "LLG_HAS_CUBIC": int(magnet.K_cubic != 0.0),
        "LLG_HAS_AC": int(magnet.ac_field is not None),
        "LLG_HAS_NOISE": int(cfg.noise_scale > 0.0),
    }


def parameter_block(cfg: EngineConfig) -> np.ndarray:
    """The double parameter array read by the kernel (layout: enum in llg_kernel.cu)."""
    magnet = cfg.magnet
    denom = magnet.S**2 + magnet.alpha**2
    ac_amp, ac_omega = magnet.ac_field if magnet.ac_field is not None else (0.0, 0.0)
    if cfg.is_table:
        const = (0.0, 0.0, 0.0)
    else:
        const = (cfg.torque.field_like, cfg.torque.damping_like, cfg.torque.charge_current)
    values = [
        magnet.S / denom,
        magnet.alpha / denom,
        magnet.KV,
        *magnet.field,
        ac_amp,
        ac_omega,
        magnet.K_cubic,
        *np.asarray(magnet.cubic_axes, dtype=float).ravel(),
        cfg.noise_scale,
        cfg.dt,
        cfg.switch_threshold,
        *const,
        *table_map_constants(),
    ]
    block = np.asarray(values, dtype=np.float64)
    assert block.size == PARAM_COUNT
    return block


@functools.lru_cache(maxsize=32)
def _compiled_kernel(defines: tuple[tuple[str, int], ...], name: str = KERNEL_NAME):  # noqa: ANN202
    import cupy

    options = ("--std=c++14",) + tuple(f"-D{key}={value}" for key, value in defines)
    module = cupy.RawModule(code=KERNEL_SOURCE.read_text(), options=options)
    return module.get_function(name)


class CupyEngine:
    """Device-resident ensemble state advanced by the fused kernel."""

    def __init__(self, cfg: EngineConfig, xp: Any = None, kernel: Callable | None = None) -> None:
        """``xp``/``kernel`` default to CuPy and the compiled RawKernel; tests substitute NumPy and a
        host-compiled build of the same CUDA source (called as ``kernel(grid, block, args)``)."""
        if xp is None:
            import cupy as xp
        self.cp = xp
        self.cfg = cfg
        self.kernel = (
            kernel if kernel is not None else _compiled_kernel(tuple(sorted(kernel_defines(cfg).items())))
        )
        self.params = xp.asarray(parameter_block(cfg))
        if cfg.is_table:
            self.table = xp.asarray(np.ascontiguousarray(cfg.torque.stacked()))
            self.n_theta = cfg.torque.n_theta
        else:
            self.table = xp.zeros(1, dtype=np.float64)
            self.n_theta = 4
        self.point_index = xp.asarray(cfg.point_index.astype(np.int64))
        # explicit global trajectory ids (kernel reads ids[j]); a 1-element placeholder otherwise
        self.has_traj_ids = cfg.trajectory_ids is not None
        self.traj_ids = xp.asarray(
            cfg.trajectory_ids.astype(np.int64) if self.has_traj_ids else np.zeros(1, dtype=np.int64)
        )
        slots = np.full(cfg.n_traj, -1, dtype=np.int32)
        slots[cfg.sample_trajectories] = np.arange(cfg.sample_trajectories.size, dtype=np.int32)
        self.sample_slot = xp.asarray(slots)
        self.set_state(initial_state(cfg))

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        cp = self.cp
        self.n = cp.array(np.ascontiguousarray(np.asarray(state["n"], dtype=np.float64).T))
        self.m = cp.array(np.ascontiguousarray(np.asarray(state["m"], dtype=np.float64).T))
        self.sum_theta = cp.array(np.asarray(state["sum_theta"], dtype=np.float64))
        self.sum_charge_current = cp.array(np.asarray(state["sum_charge_current"], dtype=np.float64))
        self.state = cp.array(np.asarray(state["state"], dtype=np.int8))
        self.counters = {
            key: cp.array(np.asarray(state[key], dtype=np.int64))
            for key in (
                "n_switches",
                "first_switch_step",
                "last_switch_step",
                "steps_in_parallel",
                "steps_in_antiparallel",
            )
        }
        samples = np.asarray(state["samples"], dtype=np.float64)
        self.samples = cp.array(samples if samples.size else np.zeros(1))
        self.samples_shape = samples.shape
        self.steps_done = int(state["steps_done"])
        self.last_norm_sq = cp.ones(self.cfg.n_traj, dtype=np.float64)

    def _to_host(self, array: Any) -> np.ndarray:
        return np.array(self.cp.asnumpy(array) if hasattr(self.cp, "asnumpy") else array)

    def get_state(self) -> dict[str, np.ndarray]:
        host = self._to_host
        samples = host(self.samples) if int(np.prod(self.samples_shape)) else np.zeros(self.samples_shape)
        state = {
            "n": host(self.n).T.copy(),
            "m": host(self.m).T.copy(),
            "sum_theta": host(self.sum_theta),
            "sum_charge_current": host(self.sum_charge_current),
            "state": host(self.state),
            "samples": samples.reshape(self.samples_shape),
            "steps_done": np.array(self.steps_done, dtype=np.int64),
        }
        state.update({key: host(value) for key, value in self.counters.items()})
        return state

    def advance(self, n_steps: int) -> int:
        cfg = self.cfg
        start = self.steps_done
        end = min(start + max(int(n_steps), 0), cfg.steps_total)
        grid = ((cfg.n_traj + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK,)
        n_samples = self.samples_shape[1] if len(self.samples_shape) == 3 else 0
        k = start
        while k < end:
            launch_steps = min(MAX_STEPS_PER_LAUNCH, end - k)
            c = self.counters
            self.kernel(
                grid,
                (THREADS_PER_BLOCK,),
                (
                    self.params,
                    self.table,
                    self.point_index,
                    np.int32(self.n_theta),
                    self.n,
                    self.m,
                    self.sum_theta,
                    self.sum_charge_current,
                    self.state,
                    c["n_switches"],
                    c["first_switch_step"],
                    c["last_switch_step"],
                    c["steps_in_parallel"],
                    c["steps_in_antiparallel"],
                    self.samples,
                    self.sample_slot,
                    np.int64(n_samples),
                    np.int64(cfg.sample_every),
                    self.last_norm_sq,
                    np.int64(k),
                    np.int32(launch_steps),
                    np.int64(cfg.average_start_step),
                    np.uint64(cfg.trajectory_offset),
                    self.traj_ids,
                    np.int32(self.has_traj_ids),
                    np.uint32(cfg.key[0]),
                    np.uint32(cfg.key[1]),
                    np.int32(cfg.n_traj),
                ),
            )
            k += launch_steps
        self.steps_done = end
        self._check_health()
        return end - start

    def _check_health(self) -> None:
        cp = self.cp
        bad = ~cp.all(cp.isfinite(self.n), axis=0) | (cp.abs(self.last_norm_sq - 1.0) > 0.05)
        if self.cfg.both_free:
            bad |= ~cp.all(cp.isfinite(self.m), axis=0)
        if bool(bad.any()):
            ids = self.cfg.global_ids[self._to_host(cp.flatnonzero(bad))]
            raise RuntimeError(
                f"LLG integration failed (NaN or |n| drift > 5% in one step) at step {self.steps_done} "
                f"for trajectory ids {ids[:20].tolist()}{' ...' if ids.size > 20 else ''}; reduce dt"
            )


def philox_words_device(step: int, traj_offset: int, n: int, key: tuple[int, int]) -> np.ndarray:
    """(n, 4) uint32 Philox words computed on the GPU (for cross-backend tests)."""
    import cupy

    kernel = _compiled_kernel((), "philox_words")
    out = cupy.zeros(4 * n, dtype=cupy.uint32)
    grid = ((n + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK,)
    kernel(
        grid,
        (THREADS_PER_BLOCK,),
        (out, np.int64(step), np.uint64(traj_offset), np.uint32(key[0]), np.uint32(key[1]), np.int32(n)),
    )
    return cupy.asnumpy(out).reshape(n, 4)

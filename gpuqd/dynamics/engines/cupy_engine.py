"""CuPy engine: the fused kernel of ``llg_kernel.cu`` compiled with NVRTC (FP64, one thread per trajectory).

The ensemble state stays on the device between :meth:`CupyEngine.advance` calls; each call is
split into kernel launches of at most ``MAX_STEPS_PER_LAUNCH`` steps. The kernel is specialised at
compile time (table or constant torque, free source, cubic anisotropy, AC drive, noise) and
cached per specialisation. The source is :func:`gpuqd.dynamics.kernel_source.bundled_source`.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from gpuqd.dynamics import layout
from gpuqd.dynamics.engine_config import EngineConfig
from gpuqd.dynamics.engines.kernel_engine import KernelEngine, fill_duplicate_rows, kernel_defines
from gpuqd.dynamics.kernel_source import bundled_source, variant_flags

KERNEL_NAME = "llg_heun_advance"
THREADS_PER_BLOCK = 128
# NVRTC options besides the variant switches (benchmarks/kernel_sass.py compiles with the same).
NVRTC_OPTIONS = ("--std=c++14", f"-DLLG_THREADS_PER_BLOCK={THREADS_PER_BLOCK}")


@functools.lru_cache(maxsize=32)
def _compiled_kernel(defines: tuple[tuple[str, int], ...], name: str = KERNEL_NAME):  # noqa: ANN202
    import cupy

    options = (*NVRTC_OPTIONS, *variant_flags(dict(defines)))
    module = cupy.RawModule(code=bundled_source(), options=options)
    return module.get_function(name)


class CupyEngine(KernelEngine):
    """Device-resident ensemble state advanced by the fused kernel.

    The health check of an :meth:`advance` call is queued on the device behind its launches and read
    at the next call, after that call's launches are queued (or at the next state read), so the device
    never waits for the host between chunks; a failure is reported at most one call late, naming the
    step at which it was detected.
    """

    def __init__(self, cfg: EngineConfig) -> None:
        import cupy

        self.kernel = _compiled_kernel(tuple(sorted(kernel_defines(cfg).items())))
        self._pending_health: tuple | None = None
        super().__init__(cfg, cupy)

    def _launch(self, args: list[Any]) -> None:
        grid = ((self.cfg.n_traj + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK,)
        self.kernel(grid, (THREADS_PER_BLOCK,), tuple(args))

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        super().set_state(state)
        self._pending_health = None

    # ------------------------------------------------------------------ health check, queued
    def _check_health(self, step: int) -> None:
        previous, self._pending_health = self._pending_health, self._queue_health_check(step)
        self._resolve_health(previous)

    def _queue_health_check(self, step: int) -> tuple:
        """Queue the check on the device: (event, pinned host flag, device mask, step)."""
        import cupy
        import cupyx

        bad = self._bad_trajectories()
        flag = cupyx.empty_pinned((1,), dtype=np.bool_)
        bad.any().reshape(1).get(out=flag, blocking=False)
        event = cupy.cuda.Event()
        event.record()
        return event, flag, bad, step

    def _resolve_health(self, pending: tuple | None) -> None:
        if pending is None:
            return
        event, flag, bad, step = pending
        event.synchronize()
        if flag[0]:
            self._raise_if_bad(bad, step)

    def _settle(self) -> None:
        """Resolve a queued health check before the state is read."""
        pending, self._pending_health = self._pending_health, None
        self._resolve_health(pending)

    # ------------------------------------------------------------------ asynchronous snapshot
    def snapshot(self) -> Any:
        """Copy the state on the device (ordered after the queued launches), then to pinned host memory on
        a side stream, and return at once; further :meth:`advance` calls can be queued meanwhile (the
        device does not idle for a checkpoint). ``.result()`` waits and gives get_state's dictionary."""
        import cupy
        import cupyx

        self._settle()
        copies = {name: a.copy() for name, a in self.arrays.items()}
        samples = self.samples.copy()
        ready = cupy.cuda.Event()
        ready.record()
        stream = cupy.cuda.Stream(non_blocking=True)
        stream.wait_event(ready)
        host = {}
        for name, a in [*copies.items(), ("samples", samples)]:
            host[name] = cupyx.empty_pinned(a.shape, dtype=a.dtype)
            a.get(stream=stream, out=host[name], blocking=False)
        return _DeviceSnapshot(
            stream, host, (copies, samples), self.samples_shape, self.steps_done, self.duplicate_rows
        )


class _DeviceSnapshot:
    """State copies in flight to pinned host memory; result() waits for them."""

    in_flight = True

    def __init__(
        self, stream: Any, host: dict, keep_alive: tuple, samples_shape: tuple, steps_done: int, duplicates: tuple
    ) -> None:
        self._stream, self._host = stream, host
        self._keep_alive: tuple | None = keep_alive
        self._samples_shape, self._steps_done, self._duplicates = samples_shape, steps_done, duplicates

    def result(self) -> dict[str, np.ndarray]:
        self._stream.synchronize()
        self._keep_alive = None
        state = {f.name: layout.state_from_device_layout(f, np.asarray(self._host[f.name])) for f in layout.STATE}
        n_total = int(np.prod(self._samples_shape))
        samples = np.array(self._host["samples"]) if n_total else np.zeros(self._samples_shape)
        state["samples"] = fill_duplicate_rows(samples.reshape(self._samples_shape), self._duplicates)
        state["steps_done"] = np.array(self._steps_done, dtype=np.int64)
        return state


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


def _device_call(name: str, n: int, *args: Any) -> None:
    kernel = _compiled_kernel((), name)
    kernel(((n + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK,), (THREADS_PER_BLOCK,), args)


def angle_functions_device(cos_theta: np.ndarray, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(θ, s(θ)) of ``kernel/angle.cuh`` computed on the GPU (as cpu_backend.angle_functions_host)."""
    import cupy

    c = cupy.asarray(np.ascontiguousarray(cos_theta, dtype=np.float64).ravel())
    theta, s = cupy.empty_like(c), cupy.empty_like(c)
    _device_call("llg_angle_functions", c.size, c, theta, s, np.int32(c.size), params)
    return cupy.asnumpy(theta), cupy.asnumpy(s)


def normal_parts_device(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(−2 ln u, (sin 2πu, cos 2πu)) of ``kernel/philox.cuh`` computed on the GPU (as normal_parts_host)."""
    import cupy

    w = cupy.asarray(np.ascontiguousarray(words, dtype=np.uint32).ravel())
    log_part, sincos = cupy.empty(w.size, dtype=np.float32), cupy.empty(2 * w.size, dtype=np.float32)
    _device_call("llg_normal_parts", w.size, w, log_part, sincos, np.int32(w.size))
    return cupy.asnumpy(log_part), cupy.asnumpy(sincos).reshape(w.size, 2)

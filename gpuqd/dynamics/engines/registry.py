"""The one registry of compute backends for the LLG engine: availability, description, resolution.

Backends (:data:`BACKENDS`):

* ``numpy`` — the vectorised reference engine; always available, one core.
* ``cpu`` — the fused kernel built for the host with the system C++ compiler (OpenMP over
  trajectories); usable when the compiler builds and loads the kernel.
* ``cupy`` — the fused kernel on a CUDA GPU; usable when CuPy imports, a device is present, NVRTC
  is present and a tiny kernel compiles and launches.

``auto`` resolves to the first usable of :data:`AUTO_ORDER` (cupy → cpu → numpy), with a one-line
notice naming each preferred backend that was skipped and why (a :class:`BackendNotice` warning, which
the CLI shows). Probes run once per process
(:func:`clear_cache` forgets them). An explicitly requested backend that is not usable raises
:class:`BackendUnavailable` with the reason (for ``cpu``: the compiler tried and its error).

API for the run layer: :func:`resolve_backend` (name, notice through a callback), :func:`resolve`
(name and notice), :func:`available_backends`, :func:`describe`.
"""

from __future__ import annotations

import functools
import platform
import warnings
from collections.abc import Callable
from dataclasses import dataclass

BACKENDS: tuple[str, ...] = ("numpy", "cpu", "cupy")
AUTO_ORDER: tuple[str, ...] = ("cupy", "cpu", "numpy")
CHOICES: tuple[str, ...] = ("auto", *BACKENDS)

_PROBE_KERNEL = r"""
extern "C" __global__ void gpuqd_probe(int* out) { out[threadIdx.x] = 42 + (int)threadIdx.x; }
"""


class BackendUnavailable(RuntimeError):
    """An explicitly requested backend cannot be used here; the message says why."""


class BackendNotice(UserWarning):
    """The one-line notice of an ``auto`` fallback (a UserWarning: shown by the CLI, which hides
    RuntimeWarnings of the numerics; a fallback to the CPU can mean hours instead of minutes)."""


@dataclass(frozen=True)
class Availability:
    """``usable``; ``detail``: a description when usable, the reason otherwise; ``hint``: what to do
    about it (one sentence, empty when there is nothing to install or change)."""

    name: str
    usable: bool
    detail: str
    hint: str = ""


#: What to do when CuPy itself is missing (README, "Running on a GPU").
INSTALL_CUPY_HINT = "pip install -e '.[gpu]' (driver for CUDA 12) or -e '.[gpu-cuda13]' (CUDA 13)"
#: What to do when CuPy is there but the machine has no usable GPU.
NO_GPU_HINT = "run on a machine with an NVIDIA GPU, or use --backend cpu (or auto)"


def _probe_numpy() -> Availability:
    import numpy

    return Availability("numpy", True, f"NumPy {numpy.__version__}, 1 core")


def _probe_cpu() -> Availability:
    from gpuqd.dynamics import host_build

    usable, detail = host_build.probe()
    if not usable:
        return Availability("cpu", False, detail, "install a C++14 compiler (g++, set CXX), or use --backend numpy")
    return Availability("cpu", True, f"{detail}, {host_build.default_threads()} threads")


def _probe_cupy() -> Availability:
    def unusable(reason: str) -> Availability:
        return Availability("cupy", False, reason)

    try:
        import cupy
    except Exception as exc:  # ImportError, or a broken install raising anything
        return Availability("cupy", False, f"CuPy is not importable ({type(exc).__name__}: {exc})", INSTALL_CUPY_HINT)
    try:
        count = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as exc:
        return Availability("cupy", False, f"{driver_status()} (CuPy: {type(exc).__name__}: {exc})", NO_GPU_HINT)
    if count < 1:
        return Availability("cupy", False, "no CUDA device", NO_GPU_HINT)
    try:
        from cupy.cuda import nvrtc

        nvrtc_version = ".".join(str(v) for v in nvrtc.getVersion())
    except Exception as exc:
        return unusable(
            f"CUDA device present but NVRTC is missing ({type(exc).__name__}: {exc}); "
            "install the CuPy extra with the CUDA toolkit libraries (README, GPU section)"
        )
    try:
        kernel = cupy.RawKernel(_PROBE_KERNEL, "gpuqd_probe")
        out = cupy.zeros(2, dtype=cupy.int32)
        kernel((1,), (2,), (out,))
        cupy.cuda.runtime.deviceSynchronize()
        values = [int(v) for v in cupy.asnumpy(out)]
    except Exception as exc:
        return unusable(f"a test kernel does not compile or launch ({type(exc).__name__}: {exc})")
    if values != [42, 43]:
        return unusable(f"a test kernel returned wrong values {values}")
    try:
        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    except Exception:
        name = "CUDA device"
    return Availability("cupy", True, f"{name} ({count} device(s)), NVRTC {nvrtc_version}, CuPy {cupy.__version__}")


def driver_status() -> str:
    """The NVIDIA driver's own account of the GPUs, through ``libcuda`` (no CuPy): no driver, no device,
    or the driver's CUDA version (why CuPy's runtime may refuse it)."""
    import ctypes

    try:
        lib = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return "no NVIDIA driver on this machine (libcuda.so.1 not found)"
    try:
        status = lib.cuInit(0)
        if status == 100:  # CUDA_ERROR_NO_DEVICE
            return "the NVIDIA driver is installed but reports no CUDA device"
        if status != 0:
            return f"the NVIDIA driver does not initialise (cuInit error {status})"
        count, version = ctypes.c_int(0), ctypes.c_int(0)
        lib.cuDeviceGetCount(ctypes.byref(count))
        lib.cuDriverGetVersion(ctypes.byref(version))
    except (AttributeError, OSError) as exc:  # pragma: no cover - a broken libcuda
        return f"the NVIDIA driver library is unusable ({exc})"
    cuda = f"{version.value // 1000}.{version.value % 1000 // 10}"
    if count.value < 1:
        return f"the NVIDIA driver (CUDA {cuda}) reports no CUDA device"
    return f"{count.value} CUDA device(s), driver for CUDA {cuda}: CuPy's CUDA runtime cannot use it"


# Probe of each backend by name (tests substitute fakes; call clear_cache() afterwards).
PROBES: dict[str, Callable[[], Availability]] = {"numpy": _probe_numpy, "cpu": _probe_cpu, "cupy": _probe_cupy}


def _check_name(name: str, allow_auto: bool = False) -> None:
    allowed = CHOICES if allow_auto else BACKENDS
    if name not in allowed:
        raise ValueError(f"backend must be one of {', '.join(allowed)}; got {name!r}")


@functools.cache
def availability(name: str) -> Availability:
    """Probe one backend (cached for the process); ``detail`` is one line."""
    _check_name(name)
    info = PROBES[name]()
    detail = " ".join(info.detail.split())
    return Availability(name, info.usable, detail if len(detail) <= 300 else detail[:297] + "...", info.hint)


def clear_cache() -> None:
    """Forget the probe results (tests; after installing a compiler or CuPy)."""
    availability.cache_clear()
    from gpuqd.dynamics import host_build

    host_build.probe.cache_clear()


def available_backends() -> list[str]:
    """Usable backends in :data:`BACKENDS` order."""
    return [name for name in BACKENDS if availability(name).usable]


def describe(name: str) -> dict:
    """``{"name", "available", "description" or "reason", ...}`` for ``gpuqd info`` and run metadata."""
    info = availability(name)
    out: dict = {"name": name, "available": info.usable}
    out["description" if info.usable else "reason"] = info.detail
    if name == "cpu":
        from gpuqd.dynamics import host_build

        out["compiler"] = host_build.compiler_name()
        out["threads"] = host_build.default_threads()
    if name in ("numpy", "cpu"):
        out["processor"] = platform.processor() or platform.machine()
    return out


def resolve(requested: str) -> tuple[str, str | None]:
    """(backend to use, one-line notice or None) for ``requested`` in :data:`CHOICES`.

    ``auto`` takes the first usable of :data:`AUTO_ORDER`; the notice names the skipped ones and
    why. An explicit backend that is not usable raises :class:`BackendUnavailable`.
    """
    _check_name(requested, allow_auto=True)
    if requested != "auto":
        info = availability(requested)
        if not info.usable:
            hint = f"; {info.hint}" if info.hint else ""
            raise BackendUnavailable(f"backend {requested!r} is not usable here: {info.detail}{hint}")
        return requested, None
    skipped: list[str] = []
    for name in AUTO_ORDER:
        info = availability(name)
        if info.usable:
            notice = None
            if skipped:
                notice = f"backend auto → {name} [{info.detail}]; " + "; ".join(skipped)
            return name, notice
        skipped.append(f"{name} skipped: {info.detail}")
    raise BackendUnavailable("no backend is usable: " + "; ".join(skipped))  # pragma: no cover - numpy always is


def resolve_backend(requested: str, notify: Callable[[str], None] | None = None) -> str:
    """The backend to use for ``requested``; a fallback notice goes to ``notify`` (default: a
    :class:`BackendNotice` warning, which the CLI prints as one line)."""
    name, notice = resolve(requested)
    if notice is not None:
        if notify is None:
            warnings.warn(notice, BackendNotice, stacklevel=2)
        else:
            notify(notice)
    return name

"""Host execution of the stand-in's launches: the host build of the same kernel source.

The LLG entry points run from :mod:`gpuqd.dynamics.host_build` (the ``cpu`` engine's library of the
same variant, parsed from the ``-DLLG_*`` options); an elementwise kernel runs from its own host build
(g++, cached next to the host kernels); the backend probe's kernel is emulated in two lines. A launch
whose grid does not cover every element raises, as those elements would stay untouched on a device.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import subprocess
import tempfile
from collections.abc import Callable
from typing import Any

import numpy as np

from cupy._array import ndarray

LLG_ENTRIES = ("llg_heun_advance", "philox_words", "llg_angle_functions", "llg_normal_parts")


def _c_value(value: Any) -> Any:
    from gpuqd.dynamics import layout

    if isinstance(value, ndarray):
        return ctypes.c_void_p(value._host.ctypes.data)
    if isinstance(value, np.ndarray) and value.dtype.names is not None:
        return layout.params_ctypes().from_buffer_copy(value.tobytes())
    if isinstance(value, np.ndarray):
        return value.item()
    return value.item() if isinstance(value, np.generic) else value


def _defines(options: tuple) -> dict[str, int]:
    from gpuqd.dynamics.kernel_source import VARIANT_MACROS

    out = {}
    for option in options:
        if option.startswith("-D") and "=" in option:
            name, value = option[2:].split("=", 1)
            if name in VARIANT_MACROS:
                out[name] = int(value)
    return out


def _require_cover(name: str, grid: tuple, block: tuple, n: int) -> None:
    if int(np.prod(grid)) * int(np.prod(block)) < int(n):
        raise RuntimeError(f"{name}: grid {grid} × block {block} does not cover its {n} elements")


def launch(name: str, options: tuple, grid: tuple, block: tuple, args: tuple) -> None:
    """Run one checked launch on the host."""
    if name == "gpuqd_probe":  # out[threadIdx.x] = 42 + threadIdx.x (gpuqd.dynamics.engines.registry)
        out = args[0]._host
        out[: block[0]] = 42 + np.arange(block[0], dtype=out.dtype)
        return
    if name not in LLG_ENTRIES:
        raise NotImplementedError(f"the CuPy stand-in has no host build of kernel {name!r}")
    from gpuqd.dynamics import host_build

    lib = host_build.load_library(_defines(options) if name == "llg_heun_advance" else {})
    values = [_c_value(a) for a in args]
    count = {"llg_heun_advance": -1, "philox_words": 5, "llg_angle_functions": 3, "llg_normal_parts": 3}[name]
    _require_cover(name, grid, block, values[count])
    if name == "llg_heun_advance":
        from gpuqd.dynamics.engines.cpu_engine import default_isa, default_lanes

        # threads, lanes, instruction set: the cpu engine's defaults (results do not depend on them)
        lib.llg_heun_advance(*values, host_build.default_threads(), default_lanes(), default_isa())
    elif name == "llg_angle_functions":
        lib.llg_angle_functions(*values)
    else:
        getattr(lib, name)(*values)


@functools.cache
def build_elementwise(source: str, name: str) -> Callable[..., None]:
    """Compile an elementwise loop for the host (g++ -O2, cached by source hash) → f(*contiguous arrays)."""
    from gpuqd.dynamics import host_build

    digest = hashlib.sha256(source.encode()).hexdigest()[:24]
    target = host_build.cache_dir() / "cupy_standin" / f"{name}-{digest}.so"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            src = os.path.join(tmp, "elementwise.cpp")
            with open(src, "w") as handle:
                handle.write(source)
            lib = os.path.join(tmp, "elementwise.so")
            compiler = host_build.compiler_name()
            subprocess.run([compiler, "-O2", "-std=c++14", "-shared", "-fPIC", src, "-o", lib], check=True)
            os.replace(lib, target)
    function = getattr(ctypes.CDLL(str(target)), name)
    function.restype = None

    def call(*arrays: np.ndarray) -> None:
        function(*(ctypes.c_void_p(a.ctypes.data) for a in arrays), ctypes.c_longlong(arrays[0].size))

    return call

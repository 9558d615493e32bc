"""The real NVRTC (from the ``nvidia-cuda-nvrtc`` wheel of the dev extra) through ctypes: compile a CUDA
source to PTX for sm_80 and sm_90 and read each ``.entry``'s parameter list (size and alignment in bytes).

Part of the CuPy stand-in (tests/cupy_standin/README.md). Compile only: nothing runs on a device.
"""

from __future__ import annotations

import ctypes
import functools
import glob
import hashlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

#: Architectures every kernel is compiled for (A100, H100/H200).
ARCHITECTURES = ("compute_80", "compute_90")
_PARAM = re.compile(r"\.param\s+(?:\.align\s+(\d+)\s+)?\.(\w+)\s+([\w$]+)(?:\[(\d+)\])?")
_ENTRY = re.compile(r"\.(?:visible\s+)?\.entry\s+([\w$]+)\s*\(([^)]*)\)", re.S)
_TYPE_BYTES = {"b8": 1, "u8": 1, "s8": 1, "b16": 2, "u16": 2, "s16": 2, "f16": 2, "b32": 4, "u32": 4, "s32": 4}
_TYPE_BYTES |= {"f32": 4, "b64": 8, "u64": 8, "s64": 8, "f64": 8}


class NvrtcError(RuntimeError):
    """NVRTC missing, or a compile error (the message holds NVRTC's log)."""


@dataclass(frozen=True)
class Param:
    """One kernel parameter as the PTX declares it: bytes copied by the launch, and alignment."""

    name: str
    size: int
    align: int


def _library_candidates() -> list[str]:
    found = []
    for entry in sys.path:
        for sub in ("nvidia/cu13/lib", "nvidia/cuda_nvrtc/lib", "nvidia/cu12/lib"):
            found += sorted(glob.glob(os.path.join(entry, sub, "libnvrtc.so.*[0-9]")))
    return [*found, "libnvrtc.so.13", "libnvrtc.so"]


@functools.cache
def library() -> ctypes.CDLL:
    """libnvrtc from the pip wheel (or the system), NvrtcError when there is none."""
    errors = []
    for candidate in _library_candidates():
        try:
            lib = ctypes.CDLL(candidate)
        except OSError as exc:
            errors.append(f"{candidate}: {exc}")
            continue
        lib.nvrtcGetErrorString.restype = ctypes.c_char_p
        return lib
    raise NvrtcError(
        "the CuPy stand-in needs NVRTC: pip install -e '.[dev]' (nvidia-cuda-nvrtc); tried " + "; ".join(errors[-3:])
    )


def version() -> tuple[int, int]:
    major, minor = ctypes.c_int(), ctypes.c_int()
    library().nvrtcVersion(ctypes.byref(major), ctypes.byref(minor))
    return major.value, minor.value


def _check(status: int, what: str) -> None:
    if status != 0:
        raise NvrtcError(f"{what}: {library().nvrtcGetErrorString(status).decode()}")


def _cache_path(key: str) -> Path:
    base = os.environ.get("GPUQD_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache"), "gpuqd"
    )
    return Path(base) / "cupy_standin" / f"{key}.ptx"


def compile_ptx(source: str, options: tuple[str, ...], name: str = "kernel.cu") -> str:
    """PTX of ``source`` for every architecture in :data:`ARCHITECTURES` (returns the last); cached on disk
    by (source, options, NVRTC version). NvrtcError with NVRTC's log on a compile error."""
    ptx = ""
    for arch in ARCHITECTURES:
        opts = (*options, f"--gpu-architecture={arch}")
        key = hashlib.sha256("\0".join((source, *opts, str(version()))).encode()).hexdigest()[:32]
        path = _cache_path(key)
        if path.is_file():
            ptx = path.read_text()
            continue
        ptx = _compile(source, opts, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(ptx)
        os.replace(tmp, path)
    return ptx


def _compile(source: str, options: tuple[str, ...], name: str) -> str:
    lib = library()
    program = ctypes.c_void_p()
    _check(
        lib.nvrtcCreateProgram(ctypes.byref(program), source.encode(), name.encode(), 0, None, None),
        "nvrtcCreateProgram",
    )
    try:
        encoded = [o.encode() for o in options]
        array = (ctypes.c_char_p * len(encoded))(*encoded)
        status = lib.nvrtcCompileProgram(program, len(encoded), array)
        if status != 0:
            size = ctypes.c_size_t()
            lib.nvrtcGetProgramLogSize(program, ctypes.byref(size))
            log = ctypes.create_string_buffer(size.value)
            lib.nvrtcGetProgramLog(program, log)
            raise NvrtcError(f"NVRTC failed to compile {name} ({' '.join(options)}):\n{log.value.decode()[-3000:]}")
        size = ctypes.c_size_t()
        _check(lib.nvrtcGetPTXSize(program, ctypes.byref(size)), "nvrtcGetPTXSize")
        buffer = ctypes.create_string_buffer(size.value)
        _check(lib.nvrtcGetPTX(program, buffer), "nvrtcGetPTX")
        return buffer.value.decode()
    finally:
        lib.nvrtcDestroyProgram(ctypes.byref(program))


def entry_params(ptx: str) -> dict[str, tuple[Param, ...]]:
    """``{entry name: parameters}`` from the ``.entry`` declarations of a PTX text."""
    out = {}
    for match in _ENTRY.finditer(ptx):
        params = []
        for p in _PARAM.finditer(match.group(2)):
            align, kind, pname, count = p.groups()
            unit = _TYPE_BYTES[kind]
            size = unit * int(count) if count else unit
            params.append(Param(pname, size, int(align) if align else unit))
        out[match.group(1)] = tuple(params)
    return out

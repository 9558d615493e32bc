"""Host build of the fused kernel: system C++ compiler, ``-O3``, OpenMP, loaded with ctypes, cached.

The source is :func:`gpuqd.dynamics.kernel_source.bundled_source` with ``host=True`` (the same
headers as the CUDA kernel, entry points of ``llg_host.cpp``). One shared library per kernel
variant is compiled on first use into the user cache directory (``$XDG_CACHE_HOME/gpuqd`` or
``~/.cache/gpuqd``; ``GPUQD_CACHE_DIR`` overrides), named by a hash of source, flags, compiler path
and compiler version. Compiling writes to a unique temporary name and renames it into place
(``os.replace``), so concurrent processes never load a half-written library.

The compiler is ``$CXX`` if set, else the first of ``g++``, ``c++``, ``clang++`` on the PATH. No
``-march=native`` (a cache in a shared home must run on every node) and ``-ffp-contract=off`` (no
fused multiply-adds, so the arithmetic is the NumPy engine's operation for operation). With GCC on
x86-64 the vectorised driver is compiled for AVX-512, AVX2 + FMA and the baseline in the same library
(function-specific targets) and ``llg_heun_advance`` picks the best the CPU supports at run time
(``llg_host_isa``); other compilers and CPUs get the baseline only (still vectorised where the
compiler can). All give bit-identical results.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from gpuqd.dynamics import layout
from gpuqd.dynamics.kernel_source import bundled_source, variant_flags

COMPILER_CANDIDATES = ("g++", "c++", "clang++")
BASE_FLAGS = ("-O3", "-std=c++14", "-fPIC", "-shared", "-ffp-contract=off", "-fno-math-errno", "-Wno-unknown-pragmas")
OPENMP_FLAG = "-fopenmp"
COMPILE_TIMEOUT_S = 300

_CTYPES: dict[str, type[ctypes._SimpleCData[Any]]] = {
    "float64": ctypes.c_double,
    "int64": ctypes.c_longlong,
    "int32": ctypes.c_int,
    "int8": ctypes.c_byte,
    "uint64": ctypes.c_ulonglong,
    "uint32": ctypes.c_uint,
}


class HostBuildError(RuntimeError):
    """The host compiler is missing or failed; the message names the compiler and its error output."""


def cache_dir() -> Path:
    """Directory of the compiled host kernels (created on demand)."""
    override = os.environ.get("GPUQD_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gpuqd"


def compiler_name() -> str:
    """The compiler that would be tried (``$CXX`` or the first candidate on the PATH, else ``g++``)."""
    if os.environ.get("CXX"):
        return os.environ["CXX"]
    for candidate in COMPILER_CANDIDATES:
        if shutil.which(candidate):
            return candidate
    return COMPILER_CANDIDATES[0]


@functools.lru_cache(maxsize=8)
def _compiler_version(compiler: str) -> tuple[str, str]:
    """(absolute path, first line of ``--version``) or HostBuildError."""
    path = shutil.which(compiler)
    if path is None:
        raise HostBuildError(f"C++ compiler {compiler!r} not found on the PATH (set CXX to a C++14 compiler)")
    try:
        proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HostBuildError(f"C++ compiler {path} does not run: {exc}") from exc
    if proc.returncode != 0:
        raise HostBuildError(f"C++ compiler {path} --version failed: {proc.stderr.strip()[:500]}")
    return path, (proc.stdout.splitlines() or ["unknown"])[0].strip()


def compiler_description() -> str:
    """e.g. ``g++ (Debian 12.2.0-14) 12.2.0``; raises HostBuildError when there is no compiler."""
    return _compiler_version(compiler_name())[1]


def _compile(source: str, flags: list[str], target: Path) -> None:
    """Compile ``source`` to ``target`` through temporary files and an atomic rename."""
    compiler, _ = _compiler_version(compiler_name())
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, src_name = tempfile.mkstemp(prefix=target.stem + ".", suffix=".cpp", dir=target.parent)
    tmp_lib = Path(src_name).with_suffix(".so.tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(source)
        command = [compiler, *flags, src_name, "-o", str(tmp_lib)]
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise HostBuildError(f"host build of the LLG kernel with {compiler} failed: {exc}") from exc
        if proc.returncode != 0:
            raise HostBuildError(
                f"host build of the LLG kernel with {compiler} failed ({' '.join(flags)}):\n{proc.stderr[-2000:]}"
            )
        os.replace(tmp_lib, target)
    finally:
        for leftover in (Path(src_name), tmp_lib):
            leftover.unlink(missing_ok=True)


@functools.lru_cache(maxsize=4)
def _openmp_works(compiler: str) -> bool:
    """True if ``compiler -fopenmp`` builds and links a shared library (checked once per process)."""
    source = '#include <omp.h>\nextern "C" int f(void) { return omp_get_max_threads(); }\n'
    with tempfile.TemporaryDirectory() as tmp:
        try:
            _compile(source, [*BASE_FLAGS, OPENMP_FLAG], Path(tmp) / "omp_probe.so")
        except HostBuildError:
            return False
    return True


# Fallback when the compiler rejects the instruction-set variants of llg_host.cpp: the baseline only.
SINGLE_ISA_FLAG = "-DLLG_HOST_MULTI_ISA=0"


def build_flags(defines: dict[str, int], multi_isa: bool = True) -> list[str]:
    """Compiler flags for one kernel variant (OpenMP only where the compiler supports it)."""
    flags = [*BASE_FLAGS, *variant_flags(defines)]
    if _openmp_works(compiler_name()):
        flags.append(OPENMP_FLAG)
    if not multi_isa:
        flags.append(SINGLE_ISA_FLAG)
    return flags


def library_path(defines: dict[str, int], multi_isa: bool = True) -> Path:
    """Cache path of the library for ``defines`` (source + flags + compiler in the name's hash)."""
    compiler, version = _compiler_version(compiler_name())
    flags = build_flags(defines, multi_isa)
    digest = hashlib.sha256()
    for part in (bundled_source(host=True), " ".join(flags), compiler, version):
        digest.update(part.encode())
        digest.update(b"\0")
    return cache_dir() / f"llg_host-{digest.hexdigest()[:24]}.so"


@functools.lru_cache(maxsize=64)
def _load(compiler: str, defines_items: tuple[tuple[str, int], ...]) -> ctypes.CDLL:
    """Build (if not cached on disk) and load one variant; ``compiler`` keys the in-process cache."""
    defines = dict(defines_items)
    path = library_path(defines)
    if not path.is_file():
        try:
            _compile(bundled_source(host=True), build_flags(defines), path)
        except HostBuildError as first_error:  # e.g. no AVX-512 target support: the baseline build
            path = library_path(defines, multi_isa=False)
            if not path.is_file():
                try:
                    _compile(bundled_source(host=True), build_flags(defines, multi_isa=False), path)
                except HostBuildError:
                    raise first_error from None
    lib = ctypes.CDLL(str(path))
    advance = lib.llg_heun_advance
    argtypes: list[type[ctypes._SimpleCData[Any]] | type[ctypes.Structure]] = [
        layout.params_ctypes() if arg.is_params else ctypes.c_void_p if arg.pointer else _CTYPES[arg.dtype]
        for arg in layout.KERNEL_ARGS
    ] + [ctypes.c_int, ctypes.c_int, ctypes.c_int]  # threads, lanes, instruction set
    advance.argtypes = argtypes
    advance.restype = ctypes.c_int
    lib.llg_host_isa.argtypes = [ctypes.c_int]
    lib.llg_host_isa.restype = ctypes.c_int
    lib.philox_words.argtypes = [
        ctypes.c_void_p,
        ctypes.c_longlong,
        ctypes.c_ulonglong,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_int,
    ]
    lib.philox_words.restype = None
    lib.llg_angle_functions.argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_int, layout.params_ctypes()]
    lib.llg_normal_parts.argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_int]
    lib.llg_angle_functions.restype = lib.llg_normal_parts.restype = None
    lib.llg_host_openmp.restype = ctypes.c_int
    return lib


def load_library(defines: dict[str, int]) -> ctypes.CDLL:
    """The host kernel library for ``defines`` (compiled on first use); HostBuildError on failure."""
    return _load(compiler_name(), tuple(sorted(defines.items())))


def default_threads() -> int:
    """Threads for the host kernel: the first entry of ``OMP_NUM_THREADS`` if set, else the usable CPUs."""
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if env:
        try:
            value = int(env)
        except ValueError:
            value = 0
        if value >= 1:
            return value
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@functools.lru_cache(maxsize=1)
def probe() -> tuple[bool, str]:
    """(usable, reason or description): can the default variant be built and loaded? Once per process."""
    try:
        lib = load_library({"LLG_HAS_NOISE": 1})
    except (HostBuildError, OSError) as exc:
        return False, str(exc).splitlines()[0]
    omp = "OpenMP" if lib.llg_host_openmp() else "no OpenMP: 1 thread"
    return True, f"{compiler_description()}, {omp}"

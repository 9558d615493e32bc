"""The kernel source as one translation unit, with the generated layout header, for every compiler.

``llg_kernel.cu`` (CUDA entry points) and ``llg_host.cpp`` (host entry points) include the headers
under ``kernel/`` and the header ``llg_layout.cuh`` that :mod:`gpuqd.dynamics.layout` generates.
:func:`bundled_source` resolves those ``#include "..."`` lines into a single string (NVRTC, nvcc and
the host compiler all get the same text, and its hash keys the build caches). :func:`variant_flags`
gives the ``-DLLG_*`` switches of a configuration.

Tools: ``python -m gpuqd.dynamics.kernel_source [--host] > kernel.cu`` prints the bundle; compile a
variant with e.g. ``nvcc --ptx -DLLG_USE_TABLE=1 kernel.cu``.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import sys
from pathlib import Path

from gpuqd.dynamics.layout import HEADER_NAME, generated_header

PACKAGE_DIR = Path(__file__).resolve().parent
KERNEL_DIR = PACKAGE_DIR / "kernel"
DEVICE_ENTRY = KERNEL_DIR / "llg_kernel.cu"
HOST_ENTRY = KERNEL_DIR / "llg_host.cpp"
# The compile-time switches of the kernel (names are part of the interface: tools set them with -D).
VARIANT_MACROS = ("LLG_USE_TABLE", "LLG_BOTH_FREE", "LLG_HAS_CUBIC", "LLG_HAS_AC", "LLG_HAS_NOISE")

_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"\s*$')


def _expand(path: Path, seen: set[str], out: list[str]) -> None:
    for line in path.read_text().splitlines():
        match = _INCLUDE.match(line)
        if match is None:
            if line.strip() != "#pragma once":
                out.append(line)
            continue
        name = match.group(1)
        if Path(name).name == HEADER_NAME:
            if HEADER_NAME not in seen:
                seen.add(HEADER_NAME)
                out.extend(line for line in generated_header().splitlines() if line.strip() != "#pragma once")
            continue
        target = (path.parent / name).resolve()
        if not target.is_file():
            raise FileNotFoundError(f"{path}: included file {name!r} not found")
        key = str(target)
        if key not in seen:
            seen.add(key)
            out.append(f"// ---- {target.relative_to(PACKAGE_DIR)}")
            _expand(target, seen, out)


def bundled_source(host: bool = False) -> str:
    """The complete kernel translation unit (CUDA entry points, or the host ones if ``host``)."""
    out: list[str] = []
    _expand(HOST_ENTRY if host else DEVICE_ENTRY, set(), out)
    return "\n".join(out) + "\n"


def source_hash(host: bool = False) -> str:
    """SHA-256 (hex) of :func:`bundled_source`."""
    return hashlib.sha256(bundled_source(host).encode()).hexdigest()


def variant_flags(defines: dict[str, int]) -> list[str]:
    """``-DNAME=VALUE`` flags (sorted) for a mapping of :data:`VARIANT_MACROS` names to 0/1."""
    unknown = sorted(set(defines) - set(VARIANT_MACROS))
    if unknown:
        raise ValueError(f"unknown kernel switches {unknown}; known: {VARIANT_MACROS}")
    return [f"-D{key}={int(value)}" for key, value in sorted(defines.items())]


def all_variants() -> list[dict[str, int]]:
    """Every combination of the kernel switches (2⁵ variants)."""
    return [dict(zip(VARIANT_MACROS, bits, strict=True)) for bits in itertools.product((0, 1), repeat=5)]


if __name__ == "__main__":
    sys.stdout.write(bundled_source(host="--host" in sys.argv[1:]))

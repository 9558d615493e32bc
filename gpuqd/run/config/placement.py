"""Where a configuration points to: the runs directory (writable, on a real file system) and the
figures' inset points (on the grid). Cross-key checks :mod:`gpuqd.run.config.validate` calls; each failure is
``fail(key_path, message)`` (one line, exit status 2 at the command line).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from gpuqd.run.config.schema import fmt_number

__all__ = ["check_insets", "check_writable"]

Fail = Callable[[str, str], None]

#: file systems that hold no user files (mkdir there fails even for root, whatever os.access says)
_VIRTUAL_FS = frozenset(
    {"proc", "sysfs", "cgroup", "cgroup2", "debugfs", "tracefs", "securityfs", "devpts", "configfs", "bpf", "pstore"}
)


def _file_system_type(path: Path) -> str | None:
    """Type of the file system holding ``path`` (longest mount point in /proc/self/mounts), or None."""
    try:
        mounts = Path("/proc/self/mounts").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    target, best, kind = str(path.resolve()), -1, None
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) > best:
            best, kind = len(point), fields[2]
    return kind


def check_writable(runs_dir: str, fail: Fail, path: str) -> None:
    """``runs_dir`` can be created and written (its nearest existing ancestor is a writable directory on
    a file system that holds files); ``fail(key, message)`` otherwise."""
    p = Path(runs_dir).expanduser()
    probe = p
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        fail(path, f"output directory {str(p)!r} is not writable: {str(probe)!r} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        fail(path, f"output directory {str(p)!r} is not writable (no write permission on {str(probe)!r})")
    kind = _file_system_type(probe)
    if kind in _VIRTUAL_FS:
        fail(
            path,
            f"output directory {str(p)!r} is on the virtual {kind} file system ({str(probe)!r}), "
            f"which cannot hold files; choose another --runs-dir",
        )


def _check_axis_point(fail: Fail, key: str, value: float, axis: dict) -> None:
    """An inset point must lie on its grid axis or within half a grid spacing of an end: the nearest
    grid point is then as close to it as to any point inside the grid (≤ spacing/2); farther out the
    inset would show an edge point that is not what was asked for. A one-point axis has no spacing:
    its only point is used."""
    lo, hi, num = axis["start"], axis["stop"], axis["num"]
    if num < 2 or hi <= lo:
        return
    half = 0.5 * (hi - lo) / (num - 1)
    if not lo - half <= value <= hi + half:
        fail(
            key,
            f"{fmt_number(value)} lies outside the grid axis [{fmt_number(lo)}, {fmt_number(hi)}]; "
            f"allowed: within half a grid spacing ({fmt_number(half)}) of it",
        )


def check_insets(data: dict, fail: Fail, stage_names: tuple[str, ...]) -> None:
    """Inset points of the figures lie on the grid (they select the nearest grid point)."""
    g, fig = data["grid"], data.get("figures") or {}
    if g["unit"] != "U" or not data["transport"]["U"] > 0:
        return  # points in U, grid in Γ: compared by the stages after conversion
    if "dynamics" in stage_names and "inset_eps_tilde" in fig:
        _check_axis_point(fail, "figures.inset_eps_tilde", fig["inset_eps_tilde"], g["eps_tilde"])
        for v in fig.get("inset_V") or ():
            _check_axis_point(fail, "figures.inset_V", v, g["V"])
    if "readout" in data["outputs"] and "readout_inset_eps_tilde" in fig:
        _check_axis_point(fail, "figures.readout_inset_eps_tilde", fig["readout_inset_eps_tilde"], g["eps_tilde"])

"""The host build cache: keyed by source, flags and compiler; safe when processes compile at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gpuqd.dynamics import host_build
from gpuqd.dynamics.philox import philox4x32

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import sys
import numpy as np
from gpuqd.dynamics.engines.cpu_engine import philox_words_host
from gpuqd.dynamics.host_build import library_path
words = philox_words_host(5, 7, 3, (1, 2))
print(library_path({}).name, int(words.sum()))
"""


def test_cache_dir_follows_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("GPUQD_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert host_build.cache_dir() == tmp_path / "xdg" / "gpuqd"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert host_build.cache_dir() == tmp_path / "home" / ".cache" / "gpuqd"
    monkeypatch.setenv("GPUQD_CACHE_DIR", str(tmp_path / "override"))
    assert host_build.cache_dir() == tmp_path / "override"


def test_library_name_depends_on_variant_and_flags(monkeypatch) -> None:
    base = host_build.library_path({"LLG_HAS_NOISE": 1})
    assert host_build.library_path({"LLG_HAS_NOISE": 1}) == base
    assert host_build.library_path({"LLG_HAS_NOISE": 0}) != base
    monkeypatch.setattr(host_build, "BASE_FLAGS", (*host_build.BASE_FLAGS, "-DEXTRA_FLAG=1"))
    assert host_build.library_path({"LLG_HAS_NOISE": 1}) != base


@pytest.mark.slow
def test_concurrent_first_builds_are_atomic(tmp_path) -> None:
    """Three processes build the same library into an empty cache at once: all load it and agree,
    and only the final library is left (temporary files are renamed or removed)."""
    env = {**os.environ, "GPUQD_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        outputs.append(out.split())
    ids = np.arange(7, 10, dtype=np.uint64)
    expected = int(np.sum(np.stack(philox4x32((5, 0, ids, 0), (1, 2)))))
    assert all(out == [outputs[0][0], str(expected)] for out in outputs), outputs
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [outputs[0][0]]

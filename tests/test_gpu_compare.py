"""benchmarks/gpu_compare.py (step numpy_vs_cupy of the GPU acceptance) imports and passes on two host engines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_compare_quick_on_numpy_and_cpu(tmp_path: Path) -> None:
    out = tmp_path / "gpu_compare.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "gpu_compare.py"),
            "--engines",
            "numpy,cpu",
            "--quick",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = json.loads(out.read_text())["rows"]
    assert [r["ok"] for r in rows] == [True, True, True]

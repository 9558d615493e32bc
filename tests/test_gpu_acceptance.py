"""benchmarks/gpu_acceptance.sh: shell syntax, and its summary table on fabricated step results."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_acceptance_script_parses() -> None:
    subprocess.run(["bash", "-n", str(BENCH / "gpu_acceptance.sh")], check=True)
    text = (BENCH / "gpu_acceptance.sh").read_text()
    assert "--system-site-packages" in text and "--no-deps" in text


def _summary(tmp_path: Path, steps: list[tuple[str, int, int]], total: int) -> subprocess.CompletedProcess:
    logs = tmp_path / "gpu_acceptance"
    logs.mkdir()
    (logs / "status.tsv").write_text("".join(f"{n}\t{rc}\t{s}\n" for n, rc, s in steps))
    (logs / "pytest_gpu.log").write_text("gpu tests: 12 collected, 0 skipped\n")
    (tmp_path / "llg.json").write_text(
        json.dumps(
            {
                "results": [
                    {"backend": "numpy", "torque": "table", "n_traj": 1000, "traj_steps_per_s": 2e6},
                    {"backend": "cupy", "torque": "table", "n_traj": 100000, "traj_steps_per_s": 3.3e10},
                    {
                        "backend": "cupy",
                        "torque": "table",
                        "n_traj": 1000000,
                        "traj_steps_per_s": 3.6e10,
                        "fraction_of_issue_ceiling": 0.72,
                    },
                ]
            }
        )
    )
    (tmp_path / "kernel_sass.json").write_text(json.dumps([{"variant": "table", "ceiling_traj_steps_per_s": 6.6e10}]))
    return subprocess.run(
        [sys.executable, str(BENCH / "gpu_acceptance_summary.py"), str(logs / "status.tsv"), str(tmp_path), str(total)],
        capture_output=True,
        text=True,
    )


ALL_STEPS = ["environment", "device_probe", "pytest_gpu", "llg_benchmark", "transport_benchmark", "numpy_vs_cupy"]


def test_summary_passes_when_every_step_passed(tmp_path: Path) -> None:
    proc = _summary(tmp_path, [(n, 0, 10) for n in ALL_STEPS], 60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "12 collected, 0 skipped" in proc.stdout
    assert "table N=1e+05: 3.3e+10/s (50% of the H100 issue ceiling)" in proc.stdout
    assert "table N=1e+06: 3.6e+10/s (72% of this GPU's issue ceiling)" in proc.stdout
    assert "target 3e+10 (table, N>=1e5) met" in proc.stdout


@pytest.mark.parametrize("case", ["failed_step", "missing_step", "too_slow"])
def test_summary_fails(tmp_path: Path, case: str) -> None:
    steps = [(n, 0, 10) for n in ALL_STEPS]
    total = 60
    if case == "failed_step":
        steps[2] = ("pytest_gpu", 1, 10)
    elif case == "missing_step":
        steps = steps[:-1]
    else:
        total = 700
    assert _summary(tmp_path, steps, total).returncode == 1

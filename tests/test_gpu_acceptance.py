"""benchmarks/gpu_acceptance.sh: shell syntax, caps within 8 minutes, no venv, output only under $OUT; its
summary (benchmarks/gpu_acceptance_summary.py) on fabricated step results: explained skips (no dask) pass,
any other skip, a failure or a timeout fails; every number of issue 20's table has its place."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPT = BENCH / "gpu_acceptance.sh"
STEPS = ["environment", "device_probe", "pytest_gpu", "kernel_rates", "fig2", "quickstart", "switching_times", "fmr"]
STEPS += ["cpu_vs_cupy"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_script_parses() -> None:
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


def test_caps_add_up_to_at_most_8_minutes_and_no_venv() -> None:
    text = SCRIPT.read_text()
    caps = {m.group(1): int(m.group(2)) for m in re.finditer(r"^step (\w+) (\d+) ", text, re.M)}
    assert list(caps) == STEPS
    assert sum(caps.values()) <= 480, caps
    commands = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "venv" not in commands and "pip install" not in commands
    assert 'OUT_DIR="${OUT:-$ROOT/benchmarks/results}/gpu_acceptance"' in text
    assert "PYTHONPATH=" in text


def _fabricate(tmp_path: Path, skips: list[str], failed: int = 0, rc: int = 0, total: float = 300.0):
    out = tmp_path / "gpu_acceptance"
    out.mkdir()
    (out / "status.tsv").write_text("".join(f"{n}\t{rc if n == 'fig2' else 0}\t10.5\t50\n" for n in STEPS))
    cases = [f'<testcase classname="t" name="ok{i}" time="1"/>' for i in range(20)]
    cases += [f'<testcase classname="t" name="s{i}"><skipped message="{r}"/></testcase>' for i, r in enumerate(skips)]
    cases += [f'<testcase classname="t" name="f{i}"><failure message="boom"/></testcase>' for i in range(failed)]
    (out / "pytest_gpu.xml").write_text(f'<testsuites><testsuite time="42">{"".join(cases)}</testsuite></testsuites>')
    rates = [
        {"torque": k, "n_traj": n, "traj_steps_per_s": 1e10}
        for k in ("constant", "table_100", "table_40401")
        for n in (10**4, 10**5, 10**6)
    ]
    (out / "kernel_rates.json").write_text(json.dumps({"results": rates}))
    for name in ("fig2", "quickstart", "switching_times", "fmr"):
        run = out / "runs" / name
        run.mkdir(parents=True)
        stages = {"transport": {"wall_s": 4.0}, "dynamics": {"wall_s": 5.0}, "figures": {"wall_s": 1.0}}
        meta = {"status": "finished", "backend": "cupy", "stages": stages, "throughput": {"x": 1.0}}
        (run / "meta.json").write_text(json.dumps(meta))
    proc = subprocess.run(
        [sys.executable, str(BENCH / "gpu_acceptance_summary.py"), "summary", str(out), str(total)],
        capture_output=True,
        text=True,
    )
    return proc, json.loads((out / "summary.json").read_text())


def test_summary_holds_every_number_and_passes(tmp_path: Path) -> None:
    proc, summary = _fabricate(tmp_path, skips=["could not import 'distributed': No module named 'distributed'"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tests = summary["pytest_gpu"]
    assert (tests["passed"], tests["failed"], tests["skipped"], tests["skips_explained"]) == (20, 0, 1, True)
    kinds = {(r["torque"], r["n_traj"]) for r in summary["kernel_rates"]["results"]}
    assert len(kinds) == 9
    fig2 = summary["runs"]["fig2"]
    assert fig2["wall_s"] == 10.5 and fig2["stages_s"]["transport"] == 4.0 and fig2["startup_and_exit_s"] == 0.5
    assert set(summary["runs"]) == {"fig2", "quickstart", "switching_times", "fmr"}
    assert summary["caps_total_s"] == 50 * len(STEPS) and summary["passed"]


@pytest.mark.parametrize(
    ("case", "kwargs"),
    [
        ("unexplained skip", {"skips": ["needs a usable cupy backend: no CUDA device"]}),
        ("failed test", {"skips": [], "failed": 1}),
        ("timed out step", {"skips": [], "rc": 124}),
        ("too slow", {"skips": [], "total": 500.0}),
    ],
)
def test_summary_fails(tmp_path: Path, case: str, kwargs: dict) -> None:
    proc, summary = _fabricate(tmp_path, **kwargs)
    assert proc.returncode == 1 and not summary["passed"] and summary["problems"], case

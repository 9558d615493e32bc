"""The README's cost table (estimate vs measured wall time per config) against the benchmark JSON that
`python benchmarks/estimates.py` writes (benchmarks/results/estimates-<host>.json; the README names the
file). Each number is compared rounded to the digits written. After re-measuring, update the table;
this test says which cell. Benchmark results are not in git: without the file the test is skipped.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")
CONFIGS = ("quickstart", "fig4", "fmr", "write_error", "switching_times", "fig2", "fig3", "cubic", "write_error_map")


def _same(written: str, value: float) -> bool:
    """``written`` (e.g. '26.9', '126') is ``value`` rounded half-up to the digits written."""
    digits = len(written.split(".")[1]) if "." in written else 0
    return float(written) == math.floor(value * 10**digits + 0.5) / 10**digits


def _results() -> dict:
    m = re.search(r"this table is\s+`(estimates-[\w.-]+\.json)`", README)
    assert m, "README: the cost table does not name its benchmark file"
    path = REPO / "benchmarks" / "results" / m.group(1)
    if not path.exists():
        pytest.skip(f"{path} not present (run python benchmarks/estimates.py --backend cpu --fresh-calibration)")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert all("stages_measured_median" in r for r in data["rows"]), (
        f"{path} was written by an older benchmarks/estimates.py: run it again and update the README table"
    )
    return data


def test_readme_cost_table_matches_the_benchmark_json():
    data = _results()
    rows = {r["config"]: r for r in data["rows"]}
    errors = []
    for name in CONFIGS:
        m = re.search(rf"^\| {name} \| ([\d.]+) s[^|]*\| ([\d.]+) s[^|]*\| ([\d.]+) \|", README, re.M)
        if not m:
            errors.append(f"README: no cost-table row for {name}")
            continue
        r = rows[name]
        for written, key in zip(m.groups(), ("estimate_s", "measured_s", "ratio"), strict=True):
            if not _same(written, r[key]):
                errors.append(f"README {name} {key}: {written} but {r[key]} in the benchmark file")
    dyn = re.search(r"^\| quickstart \|[^|]*\|[^|]*\(dynamics ([\d.]+) s", README, re.M)
    if dyn and not _same(dyn.group(1), rows["quickstart"]["stages_measured_median"]["dynamics"]):
        errors.append(
            f"README quickstart dynamics: {dyn.group(1)} s but "
            f"{rows['quickstart']['stages_measured_median']['dynamics']} s in the benchmark file"
        )
    loads = [x for r in rows.values() for pair in r["load_avg_1min_before_after"] for x in pair]
    m = re.search(r"load average ([\d.]+)–([\d.]+)\)", README)
    if not (m and _same(m.group(1), min(loads)) and _same(m.group(2), max(loads))):
        errors.append(f"README load average range: {m and m.groups()} but {min(loads)}–{max(loads)} measured")
    assert not errors, "\n".join(errors)

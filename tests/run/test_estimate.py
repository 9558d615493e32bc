"""Run estimates: exact work counts, memory of the table stage, refusal of an over-memory grid, the
calibration cache (measured once per machine and backend; a corrupt cache is measured again).
"""

from __future__ import annotations

import json

import pytest
from tiny_config import tiny_with

from gpuqd.run import calibration
from gpuqd.run.estimate import EstimateError, check_memory, estimate_run
from gpuqd.run.validate import validate_config

BASE = tiny_with(name="e", seed=1, figures=None,
                 grid={"unit": "U", "eps_tilde": {"start": -0.3, "stop": 0.3, "num": 3},
                       "V": {"start": -0.4, "stop": 0.4, "num": 4}})



def _data(**grid):
    raw = json.loads(json.dumps(BASE))
    for ax, n in grid.items():
        raw["grid"][ax]["num"] = n
    return validate_config(raw, check_output=False).data


def test_work_counts_are_exact():
    est = estimate_run(_data(), "numpy", calibrate=False)
    tr, dyn = est.stages
    assert tr.work.startswith("12 points × 34 θ = 408 solves")
    assert dyn.work.startswith("24 trajectories × 2000 steps = 4.8e+04 trajectory-steps")
    assert tr.seconds is None and dyn.seconds is None
    # the table stage holds the table and the maps' directions once (3 quantities × N × 34 in float64)
    assert tr.bytes >= 8 * 3 * 12 * 34


def test_over_memory_grid_is_refused_before_work():
    data = _data(eps_tilde=2000, V=2000)
    est = estimate_run(data, "numpy", calibrate=False)
    assert est.peak_bytes > 4e6 * 8 * 3 * 34
    est.available_bytes = 10**9
    with pytest.raises(EstimateError) as e:
        check_memory(est)
    msg = str(e.value)
    assert "stage needs" in msg and "--allow-large" in msg and "\n" not in msg
    check_memory(est, allow_large=True)


def test_calibration_is_cached_and_corrupt_cache_remeasured(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUQD_CALIBRATION_FILE", str(tmp_path / "calibration.json"))
    calls = []

    def fake(backend, name, measure):  # count measurements through the real cache logic
        calls.append(name)
        return {"x": 1.0}

    path = tmp_path / "calibration.json"
    assert calibration._cached("numpy", "k", lambda: fake(None, "k", None)) == calibration._cached(
        "numpy", "k", lambda: fake(None, "k", None))
    assert len(calls) == 1 and path.exists()
    path.write_text("{not json")
    calibration._cached("numpy", "k", lambda: fake(None, "k", None))
    assert len(calls) == 2


def test_calibrated_estimate_has_times(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUQD_CALIBRATION_FILE", str(tmp_path / "calibration.json"))
    est = estimate_run(_data(), "numpy")
    assert all(s.seconds is not None and s.seconds > 0 for s in est.stages)
    assert "total:" in est.lines()[-1]
    assert (tmp_path / "calibration.json").exists()

"""Run estimates: exact work counts, memory of the table stage, refusal of an over-memory grid, the
calibration cache (measured once per machine and backend; a corrupt cache is measured again), the
survival model of the compacting first-passage run (against closed forms and a sampled ensemble), and
the start-up and figure terms. No timed assertions.
"""

from __future__ import annotations

import importlib.util
import json
import math

import numpy as np
import pytest
from tiny_config import tiny_with

from gpuqd.run import calibration, switching_estimate
from gpuqd.run.config.validate import validate_config
from gpuqd.run.estimate import EstimateError, check_memory, estimate_run

BASE = tiny_with(
    name="e",
    seed=1,
    figures=None,
    grid={
        "unit": "U",
        "eps_tilde": {"start": -0.3, "stop": 0.3, "num": 3},
        "V": {"start": -0.4, "stop": 0.4, "num": 4},
    },
)


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
        "numpy", "k", lambda: fake(None, "k", None)
    )
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


def test_maps_only_transport_counts_the_stage_directions():
    """Without a later stage the transport stage still builds a 4-node table plus θ = 0.01π, 0.99π."""
    raw = json.loads(json.dumps(BASE))
    raw["outputs"] = ["torque_maps"]
    est = estimate_run(validate_config(raw, check_output=False).data, "numpy", calibrate=False)
    assert [s.name for s in est.stages] == ["transport"]
    assert est.stages[0].work.startswith("12 points × 6 θ = 72 solves")


# ---- survival model of the compacting first-passage run (gpuqd.run.switching_estimate)


def test_compacting_cost_is_the_geometric_sum_of_exponential_survival():
    """Exponential survival exp(−t/τ) sampled at chunk starts k·C·dt: work = C·n·(1 − q^K)/(1 − q),
    q = exp(−C·dt/τ) (closed form of the geometric series), while ≥ ½ trajectory is expected to run."""
    n, tau, dt, chunk, steps = 1e6, 300.0, 0.01, 500, 200_000
    q = math.exp(-chunk * dt / tau)
    k_run = steps // chunk  # n·q^k ≥ ½ for every chunk here (n q^(K−1) ≈ 1e6·e^(−6.65) ≫ ½)
    seconds, work = switching_estimate.compacting_cost(np.array([tau]), np.array([n]), dt, steps, chunk, 2e-6, 1e-8)
    exact = chunk * n * (1 - q**k_run) / (1 - q)
    assert work == pytest.approx(exact, rel=1e-12)
    assert seconds == pytest.approx(k_run * chunk * 2e-6 + 1e-8 * exact, rel=1e-12)


def test_compacting_cost_stops_when_no_trajectory_is_expected_to_run():
    """One trajectory with τ = 1000·dt: chunks run while exp(−k C dt/τ) ≥ ½, i.e. k ≤ ln 2·τ/(C dt)."""
    dt, chunk, tau = 1.0, 10, 1000.0
    _, work = switching_estimate.compacting_cost(np.array([tau]), np.array([1.0]), dt, 10**6, chunk, 0.0, 1.0)
    k_last = math.floor(math.log(2) * tau / (chunk * dt))
    q = math.exp(-chunk * dt / tau)
    assert work == pytest.approx(chunk * (1 - q ** (k_last + 1)) / (1 - q), rel=1e-12)


def test_compacting_cost_without_switching_is_the_bound():
    """τ = inf (never switches) and τ = 0 (switched at once): all steps of all trajectories / one chunk."""
    _, work = switching_estimate.compacting_cost(
        np.array([np.inf, np.inf]), np.array([3.0, 4.0]), 0.1, 1000, 64, 0.0, 1.0
    )
    assert work == 7 * 1000
    _, work = switching_estimate.compacting_cost(np.array([0.0]), np.array([5.0]), 0.1, 1000, 64, 0.0, 1.0)
    assert work == 5 * 64


def test_expected_active_matches_a_sampled_exponential_ensemble():
    """Law of large numbers: trajectories still running at t among 20 000 exponential first-passage times
    per group; binomial SE ≤ √(n/4) per group, tolerance 5 SE of the sum (false-positive rate < 1e-6)."""
    rng = np.random.default_rng(7)
    tau = np.array([50.0, 400.0, 3000.0])
    n = 20_000
    t = np.array([0.0, 10.0, 100.0, 700.0, 2500.0])
    samples = rng.exponential(tau[:, None], size=(3, n))
    counted = (samples[:, :, None] > t[None, None, :]).sum((0, 1))
    model = switching_estimate.expected_active(tau, np.full(3, n), t)
    assert np.all(np.abs(counted - model) <= 5 * math.sqrt(3 * n / 4))


def test_switching_estimate_uses_fokker_planck_for_the_axial_model_and_the_bound_otherwise(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUQD_CALIBRATION_FILE", str(tmp_path / "calibration.json"))
    raw = json.loads(json.dumps(BASE))
    raw["outputs"] = ["switching_times"]
    raw["torque"] = {"model": "constant", "field_like": 0.0, "damping_like": 0.002}
    raw["statistics"] = {"trajectories_per_point": 4, "t_end": 40.0, "chunk_steps": 200}
    data = validate_config(raw, check_output=False).data
    tau, weights = switching_estimate.mean_first_passage_times(data)
    assert weights.sum() == 12 and np.all(tau == tau[0]) and 0 < tau[0] < np.inf
    stage = estimate_run(data, "numpy").stages[-1]
    assert stage.name == "switching_times" and not stage.bound and "Fokker–Planck" in stage.note
    raw["magnet"] = raw["magnet"] | {"anisotropy": "cubic", "K_cubic": 0.001}  # not axially symmetric
    data = validate_config(raw, check_output=False).data
    assert switching_estimate.mean_first_passage_times(data) is None
    stage = estimate_run(data, "numpy").stages[-1]
    assert stage.bound and stage.seconds > 0


# ---- start-up and figures (fresh interpreters; measured once, then cached)


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="figures need matplotlib")
def test_start_up_and_figure_terms_are_measured_once_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUQD_CALIBRATION_FILE", str(tmp_path / "calibration.json"))
    monkeypatch.setenv("GPUQD_CALIBRATE_FIXED_COSTS", "1")
    raw = json.loads(json.dumps(BASE))
    raw["outputs"] = ["torque_maps"]
    data = validate_config(raw, check_output=False).data
    est = estimate_run(data, "numpy")
    names = [s.name for s in est.stages]
    assert names == ["start-up", "transport", "figures"]
    assert all(s.seconds > 0 for s in est.stages)
    assert est.seconds == pytest.approx(sum(s.seconds for s in est.stages))
    assert not any(s.name == "figures" for s in estimate_run(data, "numpy", figures=False).stages)

    def no_measurement(*a, **k):
        raise AssertionError("calibration measured again")

    monkeypatch.setattr(calibration.subprocess, "run", no_measurement)
    again = estimate_run(data, "numpy")
    assert [s.seconds for s in again.stages] == [s.seconds for s in est.stages]


def test_a_failing_fixed_cost_measurement_leaves_the_stage_unestimated(tmp_path, monkeypatch):
    """The estimate never stops a run: a start-up or figure measurement that fails gives "time not estimated"."""
    monkeypatch.setenv("GPUQD_CALIBRATION_FILE", str(tmp_path / "calibration.json"))
    monkeypatch.setenv("GPUQD_CALIBRATE_FIXED_COSTS", "1")

    def broken(*a, **k):
        raise calibration.subprocess.CalledProcessError(1, "python")

    monkeypatch.setattr(calibration.subprocess, "run", broken)
    raw = json.loads(json.dumps(BASE))
    raw["outputs"] = ["torque_maps"]
    est = estimate_run(validate_config(raw, check_output=False).data, "numpy")
    fixed = [s for s in est.stages if s.name in ("start-up", "figures")]
    assert fixed and all(s.seconds is None for s in fixed)
    assert any("time not estimated" in line for line in est.lines())

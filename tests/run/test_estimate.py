"""Run estimates (gpuqd.run.costs): every stage prices itself from the typed configuration (exact work
counts, memory, refusal of an over-memory grid), the coefficients are cached per machine, measured
within a bounded budget under a lock, never cached from a contended measurement, and fall back to the
static model; the survival model of the compacting first-passage run (against closed forms and a
sampled ensemble). No timed assertions: time is bounded by construction and tested with a fake clock.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from tiny_config import tiny_with

from gpuqd.run import stages as registry
from gpuqd.run.config.validate import validate_config
from gpuqd.run.costs import coefficients, measure, static, store
from gpuqd.run.costs import switching as switching_costs
from gpuqd.run.costs.coefficients import Costs
from gpuqd.run.costs.estimate import estimate_run, memory_estimate
from gpuqd.run.costs.model import EstimateError, check_memory
from gpuqd.run.execute.device import transport_workers
from gpuqd.run.stages.base import not_estimated

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


def _cfg(outputs=None, **sections):
    raw = json.loads(json.dumps(BASE))
    raw.update(sections)
    if outputs is not None:
        raw["outputs"] = outputs
    return validate_config(raw, check_output=False)


def _static(backend="numpy"):
    return Costs(backend, measure=False)


@pytest.fixture
def calibration_file(tmp_path, monkeypatch):
    """A fresh calibration file, measuring switched on (the test session switches it off)."""
    path = tmp_path / "calibration.json"
    monkeypatch.setenv("GPUQD_CALIBRATION_FILE", str(path))
    monkeypatch.setenv("GPUQD_CALIBRATE", "1")
    return path


def _transport_key(order: int) -> str:
    """The name of the transport coefficient set: per order and the transport stage's threads."""
    return f"transport:order={order}:workers={transport_workers()}"


def _fake_transport(calls, cpu_fraction=1.0):
    def fake(order, deadline, workers=1):
        calls.append(order)
        values = dict(static.TRANSPORT[order]) | {"p0": 1e-3}
        return measure.Measurement(values, cpu_s=cpu_fraction * 0.2, wall_s=0.2)

    return fake


def test_work_counts_are_exact():
    est = estimate_run(_cfg(), "numpy", _static(), figures=False)
    start, tr, dyn = est.stages
    assert start.name == "start-up" and "time-step guard 12 points × 22 θ" in start.work
    assert tr.work.startswith("12 points × 34 θ = 408 solves")
    assert dyn.work.startswith("24 trajectories × 2000 steps = 4.8e+04 trajectory-steps")
    # the table stage holds the table and the maps' directions once (3 quantities × N × 34 in float64)
    assert tr.bytes >= 8 * 3 * 12 * 34


def test_every_stage_declares_its_estimate():
    missing = [s.name for s in registry.all_stages() if s.estimate is not_estimated]
    assert not missing, f"stages without an estimate: {missing}"


@pytest.mark.parametrize("output", registry.output_names())
def test_every_stage_of_a_run_has_a_line(output):
    sections = {"fmr": {"simulate": False}} if output == "fmr" else {}
    cfg = _cfg([output], **sections)
    est = estimate_run(cfg, "numpy", _static(), figures=False)
    assert [s.name for s in est.stages] == ["start-up", *cfg.stages]
    assert all(s.seconds is not None and s.seconds >= 0 for s in est.stages)
    lines = est.lines()
    for name in cfg.stages:
        assert any(line.startswith(f"  {name}: ") for line in lines), (name, lines)


def test_transport_prices_the_table_the_stage_builds():
    """Maps only: the smallest table (4 nodes) + θ = 0.01π, 0.99π; fokker_planck needs the full table."""
    maps = estimate_run(_cfg(["torque_maps"]), "numpy", _static(), figures=False).stages[1]
    assert maps.work.startswith("12 points × 6 θ = 72 solves")
    fp = estimate_run(_cfg(["fokker_planck"]), "numpy", _static(), figures=False).stages[1]
    assert fp.work.startswith("12 points × 34 θ = 408 solves")


def test_validate_prints_the_fokker_planck_line(tmp_path, capsys, run_helpers):
    raw = json.loads(json.dumps(BASE)) | {"outputs": ["fokker_planck"]}
    rc, out, _ = run_helpers.main(
        ["validate", str(run_helpers.write(tmp_path, raw)), "--runs-dir", str(tmp_path)], capsys
    )
    assert rc == 0 and "  fokker_planck: 12 points × (128-cell" in out and "  total: ≈ " in out


def test_over_memory_grid_is_refused_before_work():
    cfg = validate_config(json.loads(json.dumps(BASE)) | {"grid": BASE["grid"] | {
        "eps_tilde": {"start": -0.3, "stop": 0.3, "num": 2000}, "V": {"start": -0.4, "stop": 0.4, "num": 2000}}},
        check_output=False)  # fmt: skip
    est = memory_estimate(cfg, "numpy")
    assert est.peak_bytes > 4e6 * 8 * 3 * 34
    est.available_bytes = 10**9
    with pytest.raises(EstimateError) as e:
        check_memory(est)
    msg = str(e.value)
    assert "stage needs" in msg and "--allow-large" in msg and "\n" not in msg
    check_memory(est, allow_large=True)


def test_coefficients_are_measured_once_and_cached(calibration_file, monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(measure, "transport", _fake_transport(calls))
    first = Costs("numpy", report=lambda line: None)
    assert first.transport(1).p0 == 1e-3 and first.sources[_transport_key(1)] == "measured"
    assert Costs("numpy").transport(1).p0 == 1e-3 and calls == [1]
    calibration_file.write_text("{not json")  # a corrupt cache is measured again
    Costs("numpy", report=lambda line: None).transport(1)
    assert calls == [1, 1]


def test_a_progress_line_says_what_is_measured(calibration_file, monkeypatch):
    monkeypatch.setattr(measure, "transport", _fake_transport([]))
    lines: list[str] = []
    Costs("numpy", report=lines.append).transport(2)
    assert len(lines) == 1 and lines[0].startswith("measuring this machine for the time estimate: transport")


def test_a_contended_measurement_is_used_but_not_cached(calibration_file, monkeypatch):
    """CPU time 30 % of the wall time: other processes had the CPU; the numbers are not stored."""
    calls: list[int] = []
    monkeypatch.setattr(measure, "transport", _fake_transport(calls, cpu_fraction=0.3))
    costs = Costs("numpy", report=lambda line: None)
    assert costs.transport(1).p0 == 1e-3 and costs.sources[_transport_key(1)] == "measured under load"
    assert any("busy" in n and "not cached" in n for n in costs.notices)
    assert store.read_entries("transport") == {}
    Costs("numpy", report=lambda line: None).transport(1)
    assert calls == [1, 1]


def test_a_second_process_does_not_measure_while_one_holds_the_lock(calibration_file, monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(measure, "transport", _fake_transport(calls))
    with store.CalibrationLock() as held:  # another open file description: flock conflicts as across processes
        assert held
        costs = Costs("numpy", report=lambda line: None)
        assert costs.transport(1).p0 == static.TRANSPORT[1]["p0"]
    assert calls == [] and costs.sources[_transport_key(1)] == "static"
    assert any("another gpuqd process" in n for n in costs.notices)
    assert Costs("numpy", report=lambda line: None).transport(1).p0 == 1e-3 and calls == [1]


class _FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_timed_repeats_start_no_call_after_the_deadline(monkeypatch):
    clock = _FakeClock()
    monkeypatch.setattr(measure.time, "perf_counter", clock)

    def piece() -> None:
        clock.now += 0.4

    calls = []
    timer = measure._Clock(deadline=clock.now + 1.0)
    measure.timed_repeats(lambda: calls.append(piece()), timer, repeats=10)
    assert len(calls) == 3  # started at 0, 0.4, 0.8 s; none at 1.2 s
    with pytest.raises(measure.OutOfTime):  # a measurement's next piece of work after its deadline
        measure.timed_repeats(piece, timer, repeats=1)


def test_calibration_time_is_bounded_by_the_budget(calibration_file, monkeypatch):
    """Measurements that each repeat 0.5 s pieces until their deadline: all of one estimate together
    end within the budget plus one piece, and later coefficient sets come from the static model."""
    clock = _FakeClock()
    monkeypatch.setattr(coefficients.time, "perf_counter", clock)

    def until_deadline(deadline: float) -> measure.Measurement:
        """Pieces of 0.5 s until the deadline; out of time there (a measurement with more pieces)."""
        while True:
            if clock.now >= deadline:
                raise measure.OutOfTime
            clock.now += 0.5

    monkeypatch.setattr(measure, "startup_imports", until_deadline)
    monkeypatch.setattr(
        measure, "transport", lambda order, d, w=1: until_deadline(d) and _fake_transport([])(order, d, w)
    )
    costs = Costs("numpy", report=lambda line: None)
    costs.transport(1)
    costs.transport(2)
    costs.startup()
    assert costs.calibration_s <= coefficients.CALIBRATION_BUDGET_S + 0.5
    assert set(costs.sources.values()) == {"static"}
    assert any("budget" in n for n in costs.notices)


def test_a_failing_measurement_leaves_the_static_model(calibration_file, monkeypatch):
    def broken(order, deadline):
        raise RuntimeError("no")

    monkeypatch.setattr(measure, "transport", broken)
    costs = Costs("numpy", report=lambda line: None)
    assert costs.transport(1).p0 == static.TRANSPORT[1]["p0"]
    assert any("measurement failed" in n for n in costs.notices)


def test_no_static_model_means_not_estimated():
    """CuPy has no static engine model: the dynamics stage says "time not estimated"."""
    est = estimate_run(_cfg(), "cupy", Costs("cupy", measure=False), figures=False)
    assert est.stages[-1].seconds is None
    assert any("dynamics:" in line and "time not estimated" in line for line in est.lines())


@pytest.mark.slow
def test_real_calibration_gives_times_and_caches_them(calibration_file):
    est = estimate_run(_cfg(), "numpy", Costs("numpy", report=lambda line: None), figures=False)
    assert all(s.seconds is not None and s.seconds > 0 for s in est.stages)
    assert "total:" in est.lines()[-1] and calibration_file.exists() or est.notices


# ---- survival model of the compacting first-passage run (gpuqd.run.costs.switching)


def test_compacting_cost_is_the_geometric_sum_of_exponential_survival():
    """Exponential survival exp(−t/τ) sampled at chunk starts k·C·dt: work = C·n·(1 − q^K)/(1 − q),
    q = exp(−C·dt/τ) (closed form of the geometric series), while ≥ ½ trajectory is expected to run."""
    n, tau, dt, chunk, steps = 1e6, 300.0, 0.01, 500, 200_000
    q = math.exp(-chunk * dt / tau)
    k_run = steps // chunk  # n·q^k ≥ ½ for every chunk here (n q^(K−1) ≈ 1e6·e^(−6.65) ≫ ½)
    seconds, work = switching_costs.compacting_cost(np.array([tau]), np.array([n]), dt, steps, chunk, 2e-6, 1e-8)
    exact = chunk * n * (1 - q**k_run) / (1 - q)
    assert work == pytest.approx(exact, rel=1e-12)
    assert seconds == pytest.approx(k_run * chunk * 2e-6 + 1e-8 * exact, rel=1e-12)


def test_compacting_cost_stops_when_no_trajectory_is_expected_to_run():
    """One trajectory with τ = 1000·dt: chunks run while exp(−k C dt/τ) ≥ ½, i.e. k ≤ ln 2·τ/(C dt)."""
    dt, chunk, tau = 1.0, 10, 1000.0
    _, work = switching_costs.compacting_cost(np.array([tau]), np.array([1.0]), dt, 10**6, chunk, 0.0, 1.0)
    k_last = math.floor(math.log(2) * tau / (chunk * dt))
    q = math.exp(-chunk * dt / tau)
    assert work == pytest.approx(chunk * (1 - q ** (k_last + 1)) / (1 - q), rel=1e-12)


def test_compacting_cost_without_switching_is_the_bound():
    """τ = inf (never switches) and τ = 0 (switched at once): all steps of all trajectories / one chunk."""
    _, work = switching_costs.compacting_cost(np.array([np.inf, np.inf]), np.array([3.0, 4.0]), 0.1, 1000, 64, 0.0, 1.0)
    assert work == 7 * 1000
    _, work = switching_costs.compacting_cost(np.array([0.0]), np.array([5.0]), 0.1, 1000, 64, 0.0, 1.0)
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
    model = switching_costs.expected_active(tau, np.full(3, n), t)
    assert np.all(np.abs(counted - model) <= 5 * math.sqrt(3 * n / 4))


def test_switching_estimate_uses_fokker_planck_for_the_axial_model_and_the_bound_otherwise():
    constant = {"model": "constant", "field_like": 0.0, "damping_like": 0.002}
    stats = {"trajectories_per_point": 4, "t_end": 40.0, "chunk_steps": 200}
    cfg = _cfg(["switching_times"], torque=constant, statistics=stats)
    tau, weights = switching_costs.mean_first_passage_times(cfg)
    assert weights.sum() == 12 and np.all(tau == tau[0]) and 0 < tau[0] < np.inf
    stage = estimate_run(cfg, "numpy", _static(), figures=False).stages[-1]
    assert stage.name == "switching_times" and not stage.bound and "Fokker–Planck" in stage.note
    cubic = BASE["magnet"] | {"anisotropy": "cubic", "K_cubic": 0.001}  # not axially symmetric
    cfg = _cfg(["switching_times"], torque=constant, statistics=stats, magnet=cubic)
    assert switching_costs.mean_first_passage_times(cfg) is None
    stage = estimate_run(cfg, "numpy", _static(), figures=False).stages[-1]
    assert stage.bound and stage.seconds > 0


def test_switching_estimate_models_compaction_with_transport_torques():
    """The transport-torque case builds a small table for the Fokker–Planck times (not the bound)."""
    stats = {"trajectories_per_point": 4, "t_end": 40.0, "chunk_steps": 200}
    cfg = _cfg(["switching_times"], statistics=stats)
    assert switching_costs.mean_first_passage_times(cfg) is not None
    stage = estimate_run(cfg, "numpy", _static(), figures=False).stages[-1]
    assert not stage.bound and "Fokker–Planck" in stage.note


def test_a_slow_machine_predicts_longer_measurements(calibration_file, monkeypatch):
    """Transport solves 4× slower than on the development VM: the engine measurement (predicted 4× its
    static duration) does not fit what is left of the budget and is not started."""
    clock = _FakeClock()
    monkeypatch.setattr(coefficients.time, "perf_counter", clock)

    def slow_transport(order, deadline, workers=1):
        clock.now += 1.0
        values = dict(static.TRANSPORT[order]) | {"p0": 4 * static.TRANSPORT[order]["p0"]}
        return measure.Measurement(values, cpu_s=1.0, wall_s=1.0)

    def engine(*args):
        raise AssertionError("engine measured beyond the budget")

    monkeypatch.setattr(measure, "transport", slow_transport)
    monkeypatch.setattr(measure, "engine", engine)
    costs = Costs("numpy", report=lambda line: None)
    costs.transport(2)
    assert costs.speed() == 4.0
    assert costs.engine(table=True) == coefficients.EngineCosts(**static.ENGINE["numpy"]["table"])
    assert costs.sources["engine:table"] == "static"


def test_write_error_counts_the_fokker_planck_work_it_does(monkeypatch):
    """legendre_work and legendre_map_work against an instrumented write_error_rate_fp and
    write_error_rate_fp_map: the exponentials (size) and generator builds they count are the ones the
    solver performs (rise staircase, zero-length segments, write points that share the rest)."""
    from gpuqd.dynamics import ConstantTorque, Macrospin
    from gpuqd.observables import fp_legendre
    from gpuqd.observables.write_error import (
        PulseProtocol,
        legendre_map_work,
        legendre_work,
        write_error_rate_fp,
        write_error_rate_fp_map,
    )

    done: list[int] = []
    built: list[int] = []
    real_expm, real_generator = fp_legendre.expm, fp_legendre.LegendreFokkerPlanck.generator

    def expm(a):
        done.append(a.shape[0])
        return real_expm(a)

    def generator(self, point, keep=True):
        if point not in self._generators:
            built.append(self.degree)
        return real_generator(self, point, keep)

    monkeypatch.setattr(fp_legendre, "expm", expm)
    monkeypatch.setattr(fp_legendre.LegendreFokkerPlanck, "generator", generator)
    magnet = Macrospin(S=1.0, KV=0.01, alpha=0.1, sigma2=1e-4)
    protocol = PulseProtocol(rest=0, write=1, settle=2.0, rest_before=1.0, rise=((2, 0.5),))
    widths = [0.0, 1.0, 3.0]
    write_error_rate_fp(magnet, ConstantTorque(0, 0), protocol, widths, 16)
    work = legendre_work(protocol, widths, 16)
    assert [w.size for w in work] == [16, 24]
    assert sorted(done) == sorted(w.size for w in work for _ in w.durations)
    assert sorted(built) == sorted(w.size for w in work for _ in range(w.generators))
    done.clear()
    built.clear()
    protocols = [PulseProtocol(rest=0, write=w, settle=2.0, rest_before=1.0, rise=((2, 0.5),)) for w in (1, 3, 4)]
    write_error_rate_fp_map(magnet, ConstantTorque(0, 0), protocols, 3.0, 16)
    work = legendre_map_work(protocols[0], 3.0, 16, len(protocols))
    assert sorted(done) == sorted(w.size for w in work for _ in w.durations)
    assert sorted(built) == sorted(w.size for w in work for _ in range(w.generators))


def test_write_error_estimate_counts_trajectory_steps():
    we = {"rest_eps_tilde": -0.3, "rest_V": 0.0, "write_eps_tilde": -0.3, "write_V": -0.4, "settle": 2.0,
          "widths": [1.0, 4.0], "trajectories": 300, "chunk_trajectories": 200, "fp_degree": 32}  # fmt: skip
    est = estimate_run(_cfg(["write_error"], write_error=we), "numpy", _static(), figures=False).stages[-1]
    # dt = 0.02: 200 steps for the longest width + 2 widths × 100 settle steps per trajectory
    assert est.name == "write_error" and "300 trajectories × 400 steps = 1.2e+05 trajectory-steps" in est.work
    assert "2 widths: 6 exponentials of size 32 and 48" in est.work and not est.bound
    split = estimate_run(
        _cfg(["write_error"], write_error=we | {"splitting_particles": 10, "splitting_repeats": 10}), "numpy", _static()
    )
    assert split.stages[-2].bound and "splitting ≤ 100 particles" in split.stages[-2].work


@pytest.mark.slow
def test_legendre_measurement_runs_on_one_blas_thread_and_measures_the_threads():
    """The Legendre coefficients are positive, measured on one BLAS thread (as the write-error stage runs
    them: gpuqd.blas) and the process's BLAS threads restored after; with 2 workers also the speed-up of
    a map's points on 2 threads, and the busy threads of the CPU-time check between 1 and 2."""
    import time

    threadpoolctl = pytest.importorskip("threadpoolctl")
    blas = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    seen = []
    real = measure.timed_repeats

    def timed(fn, clock, repeats=3):
        seen.extend(i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas")
        return real(fn, clock, repeats)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(measure, "timed_repeats", timed)
        got = measure.legendre(time.perf_counter() + 30.0, workers=2)
    assert set(got.values) == {"setup_s", "generator_s", "expm_s_192", "expm_s_288", "speedup", "workers"}
    assert all(v > 0 for v in got.values.values()) and got.values["workers"] == 2.0
    assert seen and set(seen) == {1} and 1.0 < got.threads < 2.0
    assert [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"] == blas


def test_transport_blocks_on_threads_follow_the_round_model():
    """One thread or one block: the serial time; W blocks at once with a measured busy time q per point:
    a round of W blocks takes W·block·q (q per point solved); a last round of k < W blocks lies between
    one block alone and a full round (docs: TransportCosts.blocks_seconds)."""
    tc = coefficients.TransportCosts(**static.TRANSPORT[2] | {"q0": 1.5e-4, "q1": 0.0, "workers": 2.0})
    p = tc.point(6)
    assert tc.blocks_seconds(1000, 6, 100, 1) == pytest.approx(1000 * p)
    assert tc.blocks_seconds(100, 6, 100, 2) == pytest.approx(100 * p)  # one block: nothing to share
    assert tc.blocks_seconds(1000, 6, 100, 2) == pytest.approx(1000 * 1.5e-4)  # 5 full rounds
    three = tc.blocks_seconds(300, 6, 100, 2)  # one full round and one block alone
    assert three == pytest.approx(200 * 1.5e-4 + 100 * p)
    # not measured at these workers: one thread's time over W × the static efficiency
    assert tc.busy_point(6, 4) == pytest.approx(p / (4 * static.TRANSPORT_THREAD_EFFICIENCY))


def test_kernel_variants_are_priced_by_their_instruction_counts():
    """The static instruction counts are those of benchmarks/results/kernel_sass.json; a cubic or
    both-free ensemble on the cpu engine costs the table engine × the ratio of the counts, the NumPy
    engine (not the kernel) is not scaled."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "kernel_sass.json"
    counts = {r["variant"]: r["instructions_per_step"] for r in json.loads(path.read_text(encoding="utf-8"))}
    assert static.KERNEL_INSTRUCTIONS_PER_STEP == counts
    plain = _cfg(["switching_diagram"])
    cubic = _cfg(["switching_diagram"], magnet=dict(plain.data["magnet"], anisotropy="cubic", K_cubic=-0.2))
    both = _cfg(["switching_diagram"], magnet=dict(plain.data["magnet"], free="both"))
    assert coefficients.kernel_variant(True, cubic.magnet) == "table-cubic"
    assert coefficients.kernel_variant(True, both.magnet) == "table-both"
    cpu = _static("cpu")
    base = cpu.engine(True, plain.magnet)
    assert base == cpu.engine(True)
    for cfg, variant in ((cubic, "table-cubic"), (both, "table-both")):
        got = cpu.engine(True, cfg.magnet)
        ratio = counts[variant] / counts["table"]
        assert got.c == pytest.approx(base.c * ratio, rel=1e-12) and got.d == pytest.approx(base.d * ratio, rel=1e-12)
        seconds = [estimate_run(c, "cpu", cpu, figures=False).stages[-1].seconds for c in (plain, cfg)]
        assert seconds[1] == pytest.approx(seconds[0] * ratio, rel=1e-12)
    assert _static("numpy").engine(True, cubic.magnet) == _static("numpy").engine(True)


def test_fokker_planck_maps_cost_a_batch_plus_each_point():
    """The axial Fokker–Planck maps solve their points in batches: the static model is a fixed cost plus a
    cost per point (per point linear in the cells), and the stage's estimate is that sum."""
    f = static.FOKKER_PLANCK_128
    costs = _static("numpy")
    assert costs.fokker_planck(625, 128) == pytest.approx(f["s_fixed"] + 625 * f["s_per_point"], rel=1e-12)
    assert costs.fokker_planck(10, 256) == pytest.approx(f["s_fixed"] + 20 * f["s_per_point"], rel=1e-12)
    cfg = _cfg(["fokker_planck"])
    stage = next(s for s in estimate_run(cfg, "numpy", costs, figures=False).stages if s.name == "fokker_planck")
    assert stage.seconds == pytest.approx(costs.fokker_planck(cfg.grid.n_points, cfg.fokker_planck.n_cells), rel=1e-12)

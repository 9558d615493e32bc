"""``execution.threads`` (``gpuqd run --threads N``): the cpu engine's OpenMP threads reach every engine of a
run as an argument, not through ``OMP_NUM_THREADS``, are recorded in meta.json, and do not change a result."""

from __future__ import annotations

import json
import os

import pytest

from gpuqd.dynamics.engines import registry
from gpuqd.dynamics.engines.cpu_engine import CpuEngine
from gpuqd.run.costs.coefficients import Costs


@pytest.fixture
def cpu_backend() -> None:
    if "cpu" not in registry.available_backends():
        pytest.skip(f"cpu backend unusable here: {registry.availability('cpu').detail}")


def _data(make_tiny_config) -> dict:
    """The tiny configuration on the cpu engine with the dynamics, switching-time and write-error stages."""
    data = make_tiny_config(backend="cpu", outputs=["switching_diagram", "switching_times", "write_error"])
    data["statistics"] = {"trajectories_per_point": 4, "chunk_steps": 500}
    data["write_error"] = {
        "rest_eps_tilde": -0.3,
        "rest_V": 0.0,
        "write_eps_tilde": -0.3,
        "write_V": -0.4,
        "read_V": 0.4,
        "settle": 2.0,
        "widths": [1.0, 4.0],
        "trajectories": 100,
        "chunk_trajectories": 100,
        "fp_degree": 32,
        "splitting_particles": 8,
        "splitting_stages": 2,
        "splitting_repeats": 2,
    }
    return data


def test_threads_reach_every_cpu_engine_and_do_not_change_results(
    tmp_path, capsys, monkeypatch, run_helpers, make_tiny_config, cpu_backend
):
    """--threads 1 and --threads 2: every CpuEngine of the run gets that count (no environment variable
    is set), meta.json records it, and the results arrays are bit-identical."""
    built: list[int] = []
    original = CpuEngine.__init__

    def spy(self, cfg, threads=None, **kwargs):  # noqa: ANN001
        original(self, cfg, threads=threads, **kwargs)
        built.append(self.threads)

    monkeypatch.setattr(CpuEngine, "__init__", spy)
    cfg = run_helpers.write(tmp_path, _data(make_tiny_config))
    environ = dict(os.environ)
    arrays = {}
    for n in (1, 2):
        built.clear()
        runs = tmp_path / f"runs{n}"
        rc, _, err = run_helpers.main(
            ["run", str(cfg), "--runs-dir", str(runs), "--threads", str(n), "--no-figures", "-q"], capsys
        )
        assert rc == 0, err
        assert dict(os.environ) == environ  # no OMP_NUM_THREADS (or anything else) set by the CLI
        assert built and set(built) == {n}, built
        meta = json.loads((runs / "tiny" / "meta.json").read_text())
        assert meta["sessions"][-1]["threads"] == n
        arrays[n] = run_helpers.arrays(runs / "tiny")
    assert {"mean_theta", "switching_mean_time", "write_error_rate"} <= set(arrays[1])
    run_helpers.assert_identical(arrays[1], arrays[2])


def test_fmr_work_unit_hands_the_threads_to_the_engine(
    tmp_path, monkeypatch, run_helpers, make_tiny_config, cpu_backend
):
    """The simulated-FMR work unit (mapped through the executor) builds its engines with the run's threads."""
    from tiny_config import TINY_FMR

    from gpuqd.run.config.validate import load_config
    from gpuqd.run.stages.fmr import simulate_spectrum

    built: list[int] = []
    original = CpuEngine.__init__

    def spy(self, cfg, threads=None, **kwargs):  # noqa: ANN001
        original(self, cfg, threads=threads, **kwargs)
        built.append(self.threads)

    monkeypatch.setattr(CpuEngine, "__init__", spy)
    path = run_helpers.write(tmp_path, make_tiny_config(**TINY_FMR))
    cfg = load_config(path, runs_dir=str(tmp_path))
    sim = simulate_spectrum((cfg, 0, 0, 0.01, 0.0, (0.05, 0.07, 0.06), "cpu", 1))
    assert sim.omega.size == 3 and built == [1, 1, 1]


def test_zero_threads_is_refused_in_one_line(tmp_path, capsys, run_helpers, tiny_config):
    tiny_config["execution"] = {"threads": 0}
    cfg = run_helpers.write(tmp_path, tiny_config)
    rc, _, err = run_helpers.main(["validate", str(cfg), "--runs-dir", str(tmp_path / "runs")], capsys)
    assert rc == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "execution.threads" in err and "value 0 out of range" in err and "1 <= threads <= 4096" in err, err


def test_threads_do_not_change_the_config_hash(run_helpers, tmp_path, tiny_config):
    """Results do not depend on the threads: a run may be resumed with another count."""
    from gpuqd.run.config.validate import load_config
    from gpuqd.run.pipeline import config_hash

    cfg = run_helpers.write(tmp_path, tiny_config)
    one = load_config(cfg, overrides=["execution.threads=1"], runs_dir=str(tmp_path))
    default = load_config(cfg, runs_dir=str(tmp_path))
    assert one.execution.threads == 1 and default.execution.threads is None
    assert config_hash(one) == config_hash(default)


def test_engine_costs_are_cached_per_thread_count():
    """The estimate's cpu-engine coefficients are keyed by the thread count they were measured with."""
    costs = Costs("cpu", measure=False, threads=3)
    costs.engine(table=True)
    assert "engine:table:threads=3" in costs.sources
    numpy_costs = Costs("numpy", measure=False, threads=3)
    numpy_costs.engine(table=True)
    assert "engine:table" in numpy_costs.sources

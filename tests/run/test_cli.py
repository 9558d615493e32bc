"""End-to-end CLI tests on a tiny configuration (3×3 grid, U = 100, T = 10, order 1; seconds).

Covers: outputs and load_run round trip, resume after SIGKILL (test hook and a real mid-run kill)
bit for bit, no overwrite without --force, unfinished runs need --resume/--force, transport-only
runs skip the dynamics, cache reuse, plot and info sub-commands.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gpuqd import __version__
from gpuqd.run.execute.checkpoint import KILL_HOOK_ENV
from gpuqd.run.stages import dynamics as dynamics_stage
from gpuqd.run.stages import transport as transport_stage
from gpuqd.run.store.results import load_run
from gpuqd.run.store.rundir import RunDir

REPO = Path(__file__).resolve().parents[2]

HAVE_MPL = importlib.util.find_spec("matplotlib") is not None


@pytest.fixture(autouse=True)
def _no_kill_hook(monkeypatch):
    monkeypatch.delenv(KILL_HOOK_ENV, raising=False)
    monkeypatch.delenv("GPUQD_TRANSPORT_BLOCK_POINTS", raising=False)


# --------------------------------------------------------------------------------------- outputs
@pytest.mark.slow
def test_run_outputs_and_load_run(tmp_path, capsys, run_helpers, tiny_config):
    cfg = run_helpers.write(tmp_path, tiny_config)
    runs = tmp_path / "runs"
    args = ["run", str(cfg), "--runs-dir", str(runs), "--quiet"] + ([] if HAVE_MPL else ["--no-figures"])
    rc, out, err = run_helpers.main(args, capsys)
    assert rc == 0, err
    run = runs / "tiny"
    assert out.strip() == str(run)
    for f in ("config.yaml", "meta.json", "results.npz"):
        assert (run / f).is_file()
    assert not (run / "checkpoint").exists()
    if HAVE_MPL:
        for stem in ("fig2_switching", "fig3_readout", "fig4_torques"):
            for ext in ("png", "pdf"):
                assert (run / "figures" / f"{stem}.{ext}").stat().st_size > 1000

    meta = json.loads((run / "meta.json").read_text())
    assert meta["status"] == "finished" and meta["backend"] == "numpy" and meta["seed"] == 3
    assert meta["gpuqd_version"] and meta["start_time"] and meta["end_time"]
    assert {"transport", "dynamics", "results"} <= set(meta["stages"])
    assert meta["throughput"]["trajectory_steps_per_s"] > 0
    assert meta["device"]["backend"] == "numpy"

    # results.npz is self-describing and readable with NumPy alone
    with np.load(run / "results.npz", allow_pickle=False) as d:
        attrs = json.loads(str(d["attrs"]))
        files = set(d.files)
        assert "README" in files and "mean_theta" in str(d["README"])
    for k in files - {"attrs", "README"}:
        assert k in attrs["variables"] and attrs["variables"][k]["units"] is not None
    assert attrs["config"]["name"] == "tiny"

    r = load_run(run)
    raw = run_helpers.arrays(run)
    run_helpers.assert_identical(dict(r), raw)
    assert r.axes["eps_tilde_over_U"].tolist() == pytest.approx([-0.3, 0.0, 0.3])
    assert r.axes["V"].tolist() == pytest.approx([-40.0, 0.0, 40.0])
    assert r.mean_theta.shape == (3, 3) and np.all((r.mean_theta >= 0) & (r.mean_theta <= np.pi))
    assert r.first_passage_time.shape == (3, 3, 2)
    assert r.readout_current_parallel.shape == (3, 3)
    assert np.all(np.isfinite(r.readout_conductance_parallel))  # V = 0 column: linear conductance
    assert np.all(np.sign(r.readout_current_antiparallel[:, 2]) > 0)  # I_C > 0 for V > 0
    assert r.inset_theta.shape[0] == 2 and r.inset_theta.shape[1] == r.inset_time.size
    assert r.units("mean_theta") == "rad" and r.dims("mean_theta") == ("eps_tilde", "V")
    assert r.config["transport"]["U"] == 100.0 and r.meta["status"] == "finished"
    assert r.nearest(0.2, 0.1) == (2, 1)
    assert "RunResults" in repr(r)
    import gpuqd

    assert gpuqd.load_run(run / "results.npz", as_dataset=False).mean_theta.tolist() == r.mean_theta.tolist()


def test_finished_run_not_overwritten_without_force(tmp_path, capsys, run_helpers, tiny_config):
    cfg = run_helpers.write(tmp_path, tiny_config)
    runs = str(tmp_path / "runs")
    base = ["run", str(cfg), "--runs-dir", runs, "--quiet", "--no-figures"]
    assert run_helpers.main(base, capsys)[0] == 0
    results = tmp_path / "runs" / "tiny" / "results.npz"
    stamp = results.stat().st_mtime_ns
    before = run_helpers.arrays(results.parent)
    rc, _, err = run_helpers.main(base, capsys)
    assert rc == 2 and "finished run" in err and "--force" in err and "Traceback" not in err
    assert results.stat().st_mtime_ns == stamp
    rc, _, err = run_helpers.main(base + ["--resume"], capsys)  # resume of a finished run: nothing to do
    assert rc == 0 and results.stat().st_mtime_ns == stamp
    rc, _, err = run_helpers.main(base + ["--force"], capsys)
    assert rc == 0, err
    run_helpers.assert_identical(before, run_helpers.arrays(results.parent))  # same seed → same results


# --------------------------------------------------------------------------------------- resume
@pytest.mark.slow
def test_resume_after_sigkill_hook_is_bit_identical(tmp_path, capsys, run_helpers, tiny_config):
    cfg = run_helpers.write(tmp_path, tiny_config)
    ref_runs, runs = tmp_path / "ref", tmp_path / "runs"
    assert run_helpers.main(["run", str(cfg), "--runs-dir", str(ref_runs), "--quiet", "--no-figures"], capsys)[0] == 0
    args = ["run", str(cfg), "--runs-dir", str(runs), "--quiet", "--no-figures"]
    # killed (SIGKILL) right after the 2nd of 5 dynamics checkpoints
    p = run_helpers.subprocess(args, tmp_path, {KILL_HOOK_ENV: "dynamics:2"})
    assert p.returncode == -signal.SIGKILL, p.stderr
    rd = RunDir(runs / "tiny")
    assert rd.status == "unfinished" and not rd.results_path.exists()
    assert (rd.checkpoint_dir / "dynamics_state.npz").exists()
    # without --resume: clear error, nothing touched
    rc, _, err = run_helpers.main(args, capsys)
    assert rc == 2 and "--resume" in err and "--force" in err
    with pytest.raises(FileNotFoundError, match="--resume"):
        load_run(rd.path)
    # a changed configuration cannot resume
    rc, _, err = run_helpers.main(args + ["--resume", "--set", "seed=4"], capsys)
    assert rc == 2 and "seed" in err and "differs" in err
    rc, _, err = run_helpers.main(args + ["--resume"], capsys)
    assert rc == 0, err
    meta = json.loads(rd.meta_path.read_text())
    assert meta["status"] == "finished" and len(meta["sessions"]) == 2 and meta["sessions"][1]["resumed"]
    run_helpers.assert_identical(run_helpers.arrays(ref_runs / "tiny"), run_helpers.arrays(rd.path))


@pytest.mark.slow
def test_resume_after_kill_in_transport_stage(tmp_path, capsys, monkeypatch, run_helpers, tiny_config):
    cfg = run_helpers.write(tmp_path, tiny_config)
    # transport sums are only reproducible for the same blocking (BLAS batching), so the reference
    # uses the same block size
    monkeypatch.setenv("GPUQD_TRANSPORT_BLOCK_POINTS", "3")
    ref_runs, runs = tmp_path / "ref", tmp_path / "runs"
    assert run_helpers.main(["run", str(cfg), "--runs-dir", str(ref_runs), "--quiet", "--no-figures"], capsys)[0] == 0
    args = ["run", str(cfg), "--runs-dir", str(runs), "--quiet", "--no-figures"]
    # one ε̃ row per transport block → 3 blocks; killed after the first
    env = {KILL_HOOK_ENV: "transport:1", "GPUQD_TRANSPORT_BLOCK_POINTS": "3"}
    p = run_helpers.subprocess(args, tmp_path, env)
    assert p.returncode == -signal.SIGKILL, p.stderr
    partial = list((runs / ".cache" / "partial").glob("*/block_*.npz"))
    assert len(partial) == 1
    p = run_helpers.subprocess(args + ["--resume"], tmp_path, {"GPUQD_TRANSPORT_BLOCK_POINTS": "3"})
    assert p.returncode == 0, p.stderr
    assert not list((runs / ".cache" / "partial").glob("*/block_*.npz"))
    run_helpers.assert_identical(run_helpers.arrays(ref_runs / "tiny"), run_helpers.arrays(runs / "tiny"))


@pytest.mark.slow
def test_real_sigkill_mid_run(tmp_path, capsys, run_helpers, tiny_config):
    """kill -9 at an arbitrary moment during the dynamics; --resume reproduces the full run."""
    data = json.loads(json.dumps(tiny_config))
    data["dynamics"].update({"t_end": 200.0, "average_from": 100.0, "trajectories_per_point": 100, "chunk_steps": 250})
    cfg = run_helpers.write(tmp_path, data)
    ref_runs, runs = tmp_path / "ref", tmp_path / "runs"
    assert run_helpers.main(["run", str(cfg), "--runs-dir", str(ref_runs), "--quiet", "--no-figures"], capsys)[0] == 0
    args = [sys.executable, "-m", "gpuqd.cli", "run", str(cfg), "--runs-dir", str(runs), "--quiet", "--no-figures"]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = runs / "tiny" / "checkpoint" / "dynamics_state.npz"
    deadline = time.time() + 120
    while not state.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(0.15)  # somewhere inside a later chunk (or while writing a checkpoint)
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    rc, _, err = run_helpers.main(
        ["run", str(cfg), "--runs-dir", str(runs), "--quiet", "--no-figures", "--resume"], capsys
    )
    assert rc == 0, err
    run_helpers.assert_identical(run_helpers.arrays(ref_runs / "tiny"), run_helpers.arrays(runs / "tiny"))
    if not killed:
        pytest.skip("the run finished before it could be killed (machine too fast); resume still checked")


# --------------------------------------------------------------------------------------- variants
@pytest.mark.slow
def test_torque_maps_only_skips_dynamics_and_table(tmp_path, capsys, monkeypatch, run_helpers, tiny_config):
    data = dict(tiny_config, outputs=["torque_maps"], name="maps")
    cfg = run_helpers.write(tmp_path, data)

    def boom(*a, **k):
        raise AssertionError("dynamics must not run for outputs: [torque_maps]")

    monkeypatch.setattr(dynamics_stage.DynamicsWork, "start", boom)
    args = ["run", str(cfg), "--runs-dir", str(tmp_path / "runs"), "--quiet"] + ([] if HAVE_MPL else ["--no-figures"])
    rc, _, err = run_helpers.main(args, capsys)
    assert rc == 0, err
    r = load_run(tmp_path / "runs" / "maps")
    assert "mean_theta" not in r and "torque_field_like_antiparallel" in r
    assert r.torque_inset_field_like.shape == r.torque_inset_theta.shape
    assert "dynamics" not in r.meta["stages"]
    assert not (tmp_path / "runs" / ".cache" / "tables").exists()
    if HAVE_MPL:
        assert (tmp_path / "runs" / "maps" / "figures" / "fig4_torques.png").exists()
        assert not (tmp_path / "runs" / "maps" / "figures" / "fig2_switching.png").exists()


def test_transport_cache_is_reused_across_runs(tmp_path, capsys, monkeypatch, run_helpers, tiny_config):
    cfg = run_helpers.write(tmp_path, tiny_config)
    runs = str(tmp_path / "runs")
    assert run_helpers.main(["run", str(cfg), "--runs-dir", runs, "--quiet", "--no-figures"], capsys)[0] == 0
    assert len(list((tmp_path / "runs" / ".cache" / "tables").glob("*.npz"))) == 1

    def boom(*a, **k):
        raise AssertionError("transport recomputed although cached")

    monkeypatch.setattr(transport_stage, "make_spin_valve", boom)
    rc, _, err = run_helpers.main(
        ["run", str(cfg), "--runs-dir", runs, "--quiet", "--no-figures", "--set", "name=again", "--set", "seed=5"],
        capsys,
    )
    assert rc == 0, err
    a, b = run_helpers.arrays(tmp_path / "runs" / "tiny"), run_helpers.arrays(tmp_path / "runs" / "again")
    np.testing.assert_array_equal(a["torque_field_like_parallel"], b["torque_field_like_parallel"])
    assert not np.array_equal(a["inset_theta"], b["inset_theta"])  # different seed, different noise


@pytest.mark.slow
def test_constant_torque_model(tmp_path, capsys, run_helpers, tiny_config):
    data = dict(tiny_config, name="const", torque={"model": "constant", "field_like": -0.05, "damping_like": 0.0})
    data["outputs"] = ["switching_diagram"]
    cfg = run_helpers.write(tmp_path, data)
    rc, _, err = run_helpers.main(
        ["run", str(cfg), "--runs-dir", str(tmp_path / "runs"), "--quiet", "--no-figures"], capsys
    )
    assert rc == 0, err
    r = load_run(tmp_path / "runs" / "const")
    assert r.mean_theta.shape == (3, 3)
    assert not (tmp_path / "runs" / ".cache" / "tables").exists()


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_MPL, reason="matplotlib not installed")
def test_plot_command(tmp_path, capsys, run_helpers, tiny_config):
    cfg = run_helpers.write(tmp_path, tiny_config)
    runs = tmp_path / "runs"
    assert run_helpers.main(["run", str(cfg), "--runs-dir", str(runs), "--quiet", "--no-figures"], capsys)[0] == 0
    assert not (runs / "tiny" / "figures").exists()
    rc, out, err = run_helpers.main(["plot", str(runs / "tiny")], capsys)
    assert rc == 0, err
    assert (runs / "tiny" / "figures" / "fig3_readout.pdf").exists() and "fig2_switching.png" in out
    rc, _, err = run_helpers.main(["plot", str(tmp_path / "nothing")], capsys)
    assert rc == 2 and "no results.npz" in err


@pytest.mark.slow
def test_info_and_validate(tmp_path, capsys, run_helpers):
    rc, out, _ = run_helpers.main(["info"], capsys)
    assert rc == 0 and f"gpuqd {__version__}" in out and "backends available" in out and "numpy" in out
    rc, out, _ = run_helpers.main(["validate", str(REPO / "configs" / "quickstart.yaml"), "--show"], capsys)
    assert rc == 0 and "OK" in out and "n_theta" in out


def test_console_entry_point_subprocess(tmp_path, run_helpers, tiny_config):
    cfg = run_helpers.write(tmp_path, tiny_config)
    p = run_helpers.subprocess(["validate", str(cfg), "--set", "transport.p_S=1"], tmp_path)
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "transport.p_S" in p.stderr and "Traceback" not in p.stderr

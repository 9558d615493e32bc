"""Bad-input and fault battery of the command line.

Every case: exit status 2, exactly one line on stderr, no traceback, no partial run directory left
behind, and no data lost from an existing run (its files are byte-identical afterwards).
Runs the real CLI in a subprocess (``python -m gpuqd.cli``) on a tiny configuration (seconds).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
KILL_HOOK_ENV = "GPUQD_TEST_KILL_AFTER"


def _env(**extra: str) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop(KILL_HOOK_ENV, None)
    env.update(extra)
    return env


def gpuqd(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gpuqd.cli", *args],
        cwd=cwd,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
    )


def write_config(path: Path, data: dict | str) -> Path:
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every data file under ``root``; meta.json by its provenance (a refused session may
    append its record to ``sessions`` and its wall time to ``stages``, nothing else)."""
    if not root.exists():
        return {}
    out = {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "meta.json"
    }
    if (root / "meta.json").exists():
        meta = json.loads((root / "meta.json").read_text(encoding="utf-8"))
        out["meta.json"] = json.dumps(
            {k: v for k, v in meta.items() if k not in ("sessions", "stages")}, sort_keys=True
        )
    return out


def assert_one_line_exit_2(proc: subprocess.CompletedProcess, *needles: str) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1, proc.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def finished(tmp_path_factory, make_tiny_config) -> Path:
    """A finished tiny run: <tmp>/runs/tiny (copied per test by ``workdir``)."""
    root = tmp_path_factory.mktemp("finished")
    cfg = write_config(root / "tiny.yaml", make_tiny_config())
    proc = gpuqd("run", str(cfg), "--runs-dir", str(root / "runs"), "--no-figures", "-q", cwd=root)
    assert proc.returncode == 0, proc.stderr
    return root


@pytest.fixture
def workdir(finished, tmp_path) -> Path:
    shutil.copytree(finished, tmp_path / "w")
    return tmp_path / "w"


# --------------------------------------------------------------------------------------- config input
def test_duplicate_keys(tmp_path, tiny_config):
    text = yaml.safe_dump(tiny_config, sort_keys=False).replace("seed: 3\n", "seed: 3\nseed: 4\n")
    cfg = write_config(tmp_path / "dup.yaml", text)
    line = assert_one_line_exit_2(
        gpuqd("run", str(cfg), "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path),
        "duplicate key 'seed'",
        "line 3",
        "line 2",
    )
    assert str(cfg) in line
    assert not (tmp_path / "runs" / "tiny").exists()


def test_wrong_level_key_suggests_full_path(tmp_path, tiny_config):
    cfg = write_config(tmp_path / "c.yaml", tiny_config)
    assert_one_line_exit_2(gpuqd("validate", str(cfg), "--set", "dt=0.01", cwd=tmp_path), "dynamics.dt")


def test_name_as_number_says_integer_and_quote(tmp_path, tiny_config):
    cfg = write_config(tmp_path / "c.yaml", tiny_config | {"name": 123})
    assert_one_line_exit_2(gpuqd("validate", str(cfg), cwd=tmp_path), "integer", 'name: "123"')


def test_gamma_sum_rule_before_ranges(tmp_path, tiny_config):
    data = tiny_config
    data["transport"].update(gamma_S=1.0, gamma_D=2.0)
    cfg = write_config(tmp_path / "c.yaml", data)
    assert_one_line_exit_2(gpuqd("validate", str(cfg), cwd=tmp_path), "Γ_S + Γ_D")


# --------------------------------------------------------------------------------------- run directories
def test_locked_run_names_pid_and_host(workdir):
    import socket

    run = workdir / "runs" / "tiny"
    hold = (
        "import sys, time; sys.path.insert(0, sys.argv[2]); from gpuqd.run.execute.lock import RunLock; "
        "l = RunLock(sys.argv[1]).acquire(); print('locked', flush=True); time.sleep(120)"
    )
    holder = subprocess.Popen([sys.executable, "-c", hold, str(run), str(REPO)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = snapshot(run)
        proc = gpuqd("run", str(workdir / "tiny.yaml"), "--runs-dir", str(workdir / "runs"), "--force", cwd=workdir)
        assert_one_line_exit_2(proc, f"PID {holder.pid}", socket.gethostname())
        assert snapshot(run) == before  # even --force does not touch a live run
    finally:
        holder.kill()
        holder.wait()


def test_resume_finished_run_with_changed_config_is_refused(workdir):
    run = workdir / "runs" / "tiny"
    before = snapshot(run)
    proc = gpuqd(
        "run",
        str(workdir / "tiny.yaml"),
        "--runs-dir",
        str(workdir / "runs"),
        "--resume",
        "--set",
        "magnet.alpha=0.2",
        cwd=workdir,
    )
    assert_one_line_exit_2(proc, "magnet.alpha", "--force")
    assert snapshot(run) == before


@pytest.mark.parametrize("kind", ["truncated", "random", "empty"])
def test_corrupt_results_under_plot(workdir, kind):
    run = workdir / "runs" / "tiny"
    res = run / "results.nc"
    data = res.read_bytes()
    res.write_bytes({"truncated": data[: len(data) // 3], "random": os.urandom(4096), "empty": b""}[kind])
    before = snapshot(run)
    line = assert_one_line_exit_2(gpuqd("plot", str(run), cwd=workdir), str(res), "--force")
    assert "pickle" not in line
    assert snapshot(run) == before


@pytest.mark.slow
def test_corrupt_checkpoint_under_resume(tmp_path, tiny_config):
    cfg = write_config(tmp_path / "tiny.yaml", tiny_config)
    runs = tmp_path / "runs"
    proc = gpuqd(
        "run", str(cfg), "--runs-dir", str(runs), "--no-figures", "-q", cwd=tmp_path, **{KILL_HOOK_ENV: "dynamics:1"}
    )
    assert proc.returncode != 0
    states = list((runs / "tiny" / "checkpoint").glob("*.npz"))
    assert states
    states[0].write_bytes(b"PK\x03\x04 not a zip")
    before = snapshot(runs / "tiny")
    proc = gpuqd("run", str(cfg), "--runs-dir", str(runs), "--resume", "-q", cwd=tmp_path)
    assert_one_line_exit_2(proc, str(states[0]), "--force")
    assert snapshot(runs / "tiny") == before


@pytest.mark.slow
def test_resume_with_another_gpuqd_version_is_refused(tmp_path, tiny_config):
    cfg = write_config(tmp_path / "tiny.yaml", tiny_config)
    runs = tmp_path / "runs"
    proc = gpuqd(
        "run", str(cfg), "--runs-dir", str(runs), "--no-figures", "-q", cwd=tmp_path, **{KILL_HOOK_ENV: "dynamics:1"}
    )
    assert proc.returncode != 0
    meta_path = runs / "tiny" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["gpuqd_version"] = "0.0.1"
    meta_path.write_text(json.dumps(meta))
    before = snapshot(runs / "tiny")
    proc = gpuqd("run", str(cfg), "--runs-dir", str(runs), "--resume", "-q", cwd=tmp_path)
    assert_one_line_exit_2(proc, "gpuqd 0.0.1", "--force")
    assert snapshot(runs / "tiny") == before


def test_corrupt_cache_file(workdir, tiny_config):
    tables = sorted((workdir / "runs" / ".cache").rglob("*.npz"))
    assert tables
    for t in tables:
        t.write_bytes(os.urandom(512))
    data = tiny_config | {"name": "other"}
    cfg = write_config(workdir / "other.yaml", data)
    proc = gpuqd("run", str(cfg), "--runs-dir", str(workdir / "runs"), "--no-figures", "-q", cwd=workdir)
    line = assert_one_line_exit_2(proc, "delete")
    assert any(str(t) in line for t in tables)
    assert not (workdir / "runs" / "other").exists()


@pytest.mark.parametrize("target", ["/sys/gpuqd-test/runs", "/proc/gpuqd-test/runs", "FILE/runs"])
def test_unwritable_runs_dir(tmp_path, target, tiny_config):
    if target.startswith("FILE"):
        (tmp_path / "afile").write_text("x")
        target = str(tmp_path / "afile") + target[4:]
    cfg = write_config(tmp_path / "tiny.yaml", tiny_config)
    line = assert_one_line_exit_2(gpuqd("run", str(cfg), "--runs-dir", target, cwd=tmp_path))
    assert "[Errno" not in line and target.split("/runs")[0] in line
    assert not Path(target).exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_runs_dir(tmp_path, tiny_config):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        cfg = write_config(tmp_path / "tiny.yaml", tiny_config)
        assert_one_line_exit_2(gpuqd("run", str(cfg), "--runs-dir", str(ro / "runs"), cwd=tmp_path), str(ro))
        assert not (ro / "runs").exists()
    finally:
        ro.chmod(0o755)


@pytest.mark.parametrize("command", ["run", "validate"])
def test_over_memory_grid_is_refused(tmp_path, command, tiny_config):
    data = tiny_config
    data["grid"]["eps_tilde"]["num"] = data["grid"]["V"]["num"] = 2000
    cfg = write_config(tmp_path / "big.yaml", data)
    proc = gpuqd(
        command, str(cfg), "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path, GPUQD_AVAILABLE_MEMORY=str(2 * 2**30)
    )
    assert_one_line_exit_2(proc, "--allow-large", "memory")
    assert not (tmp_path / "runs" / "tiny").exists()


def test_interrupt_hint_repeats_the_real_command_line(tmp_path, monkeypatch, capsys, tiny_config):
    from gpuqd import cli
    from gpuqd.run import pipeline

    def interrupted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "run_pipeline", interrupted)
    cfg = write_config(tmp_path / "my config.yaml", tiny_config)
    rc = cli.main(["run", str(cfg), "--set", "dynamics.t_end=60", "--force", "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 130 and len(err) == 1
    assert f"gpuqd run '{cfg}' --set dynamics.t_end=60 -q --resume" in err[0]

"""Fault battery of issue 23: shared machines, full disks, broken services, damaged files, hostile input,
signals. Every refused case: exit status 2 (or the documented 130/143 for signals), exactly one line
on stderr, no traceback, no run left marked "running", files outside the run directory untouched.
Runs the real CLI in subprocesses on the tiny configuration (seconds each).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from gpuqd.atomic_io import FULL_DISK_HOOK_ENV, UnsafePathError, atomic_write_text, checksum_ok, temporary_path

REPO = Path(__file__).resolve().parents[2]
KILL_HOOK_ENV = "GPUQD_TEST_KILL_AFTER"


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    for k in (KILL_HOOK_ENV, FULL_DISK_HOOK_ENV):
        env.pop(k, None)
    env.update(extra)
    return env


def gpuqd(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gpuqd.cli", *args], cwd=cwd, env=_env(env), capture_output=True, text=True, timeout=300
    )


def one_line(proc: subprocess.CompletedProcess, *needles: str, code: int = 2) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == code, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert len(lines) == 1, proc.stderr[-2000:]
    for n in needles:
        assert n in lines[0], (n, lines[0])
    assert "allow_pickle" not in lines[0]
    return lines[0]


def write(path: Path, data: dict | str) -> Path:
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def not_running(runs: Path) -> None:
    """No meta.json under ``runs`` says "running" (nothing is running after the command returned)."""
    for meta in runs.rglob("meta.json") if runs.exists() else []:
        assert json.loads(meta.read_text(encoding="utf-8")).get("status") != "running", meta


def no_temporary_files(root: Path) -> None:
    left = [p for p in root.rglob(".*") if p.is_file() and (p.name.endswith(".tmp") or ".tmp." in p.name)]
    assert not left, left


def arrays(run: Path) -> dict[str, np.ndarray]:
    with np.load(run / "results.npz", allow_pickle=False) as d:
        return {k: d[k] for k in d.files if k not in ("attrs", "README")}


def assert_same_results(a: Path, b: Path) -> None:
    x, y = arrays(a), arrays(b)
    assert sorted(x) == sorted(y)
    for k in x:
        np.testing.assert_array_equal(x[k], y[k], err_msg=k)


@pytest.fixture(scope="module")
def finished(tmp_path_factory, make_tiny_config) -> Path:
    """<tmp>/runs/tiny finished (and its cache); copied per test by ``work``."""
    root = tmp_path_factory.mktemp("battery")
    cfg = write(root / "tiny.yaml", make_tiny_config())
    proc = gpuqd("run", str(cfg), "--runs-dir", str(root / "runs"), "--no-figures", "-q", cwd=root)
    assert proc.returncode == 0, proc.stderr
    return root


@pytest.fixture
def work(finished, tmp_path) -> Path:
    shutil.copytree(finished, tmp_path / "w", symlinks=True)
    return tmp_path / "w"


def run_args(root: Path, *extra: str, config: str = "tiny.yaml") -> list[str]:
    return ["run", str(root / config), "--runs-dir", str(root / "runs"), "--no-figures", "-q", *extra]


# ------------------------------------------------------------------------------------ 2. symlinks
def test_symlink_at_lock_file_is_refused_and_target_untouched(work):
    victim = work / "victim.txt"
    victim.write_text("precious\n")
    (work / "runs" / ".other.lock").symlink_to(victim)
    proc = gpuqd(*run_args(work, "--set", "name=other"), cwd=work)
    one_line(proc, ".other.lock", "symbolic link")
    assert victim.read_text() == "precious\n"
    assert not (work / "runs" / "other").exists()


def test_symlinked_run_directory_is_refused(work):
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    (work / "runs" / "other").symlink_to(elsewhere, target_is_directory=True)
    proc = gpuqd(*run_args(work, "--set", "name=other"), cwd=work)
    one_line(proc, str(work / "runs" / "other"), "symbolic link")
    assert list(elsewhere.iterdir()) == []


def test_symlink_at_a_figure_is_refused_by_plot(work):
    pytest.importorskip("matplotlib")
    victim = work / "victim.txt"
    victim.write_text("precious\n")
    figures = work / "runs" / "tiny" / "figures"
    figures.mkdir()
    (figures / "fig2_switching.png").symlink_to(victim)
    proc = gpuqd("plot", str(work / "runs" / "tiny"), cwd=work)
    one_line(proc, "fig2_switching.png", "symbolic link")
    assert victim.read_text() == "precious\n"
    no_temporary_files(figures)


def test_atomic_write_refuses_symlink_and_uses_unpredictable_exclusive_names(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("x")
    (tmp_path / "f.json").symlink_to(victim)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        atomic_write_text(tmp_path / "f.json", "y")
    assert victim.read_text() == "x"
    names = {temporary_path(tmp_path / "f.json").name for _ in range(100)}
    assert len(names) == 100 and all(n.startswith(".f.json.") and n.endswith(".tmp") for n in names)
    no_temporary_files(tmp_path)


# ------------------------------------------------------------------------------------ 3. disk full, cache dir
@pytest.mark.slow
@pytest.mark.parametrize("after", [1, 4, 9])
def test_disk_full_is_one_line_and_resumable(work, after):
    proc = gpuqd(*run_args(work, "--set", "name=full"), cwd=work, **{FULL_DISK_HOOK_ENV: str(after)})
    one_line(proc, "No space left", "--resume")
    not_running(work / "runs")
    no_temporary_files(work / "runs")
    proc = gpuqd(*run_args(work, "--set", "name=full", "--resume"), cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((work / "runs" / "full" / "meta.json").read_text())["status"] == "finished"


def test_cache_dir_that_is_a_file_is_refused_before_the_estimate(work):
    shutil.rmtree(work / "runs" / ".cache")
    (work / "runs" / ".cache").write_text("not a directory")
    proc = gpuqd("run", str(work / "tiny.yaml"), "--runs-dir", str(work / "runs"), "--set", "name=o", cwd=work)
    one_line(proc, ".cache", "not a directory")
    assert "estimate" not in proc.stdout + proc.stderr
    assert not (work / "runs" / "o").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_cache_dir_is_refused(work):
    cache = work / "runs" / ".cache"
    cache.chmod(0o555)
    try:
        proc = gpuqd(*run_args(work, "--set", "name=o"), cwd=work)
        one_line(proc, ".cache")
    finally:
        cache.chmod(0o755)
    assert not (work / "runs" / "o").exists()


# ------------------------------------------------------------------------------------ 4. scheduler
@pytest.mark.parametrize(
    ("address", "needle"),
    [
        ("tcp://127.0.0.1:1", "cannot reach"),
        ("tcp://127.0.0.1:99999", "out of range"),
        ("tcp://no-such-host.invalid:8786", "no-such-host.invalid"),
    ],
)
def test_unreachable_or_malformed_scheduler(work, address, needle):
    pytest.importorskip("distributed")
    t0 = time.monotonic()
    proc = gpuqd(*run_args(work, "--set", "name=o", "--scheduler", address), cwd=work)
    assert time.monotonic() - t0 < 30
    one_line(proc, "execution.scheduler", needle)
    assert not (work / "runs" / "o").exists()


# ------------------------------------------------------------------------------------ 5, 7. damaged files
@pytest.mark.slow
def test_plausible_but_wrong_cache_entries_are_recomputed(work):
    entries = sorted((work / "runs" / ".cache").rglob("*.npz"))
    assert entries and all(checksum_ok(e) for e in entries)
    for e in entries:  # valid .npz files with slightly wrong numbers: only the checksum can tell
        with np.load(e, allow_pickle=False) as d:
            data = {k: (d[k] * 1.01 if d[k].dtype.kind == "f" else d[k]) for k in d.files}
        with open(e, "wb") as f:
            np.savez(f, **data)
    proc = gpuqd(*run_args(work, "--set", "name=again"), cwd=work)
    assert proc.returncode == 0, proc.stderr
    notices = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(notices) == len(entries) and all("damaged" in n and "recomputing" in n for n in notices)
    assert all(checksum_ok(e) for e in entries)  # replaced by the recomputed entries
    assert_same_results(work / "runs" / "again", work / "runs" / "tiny")


@pytest.mark.slow
def test_truncated_partial_table_block_is_recomputed(tmp_path, tiny_config):
    write(tmp_path / "tiny.yaml", tiny_config)
    env = {KILL_HOOK_ENV: "transport:2", "GPUQD_TRANSPORT_BLOCK_POINTS": "3"}
    proc = gpuqd(*run_args(tmp_path), cwd=tmp_path, **env)
    assert proc.returncode != 0
    blocks = sorted((tmp_path / "runs" / ".cache" / "partial").rglob("block_*.npz"))
    assert len(blocks) == 2
    blocks[1].write_bytes(blocks[1].read_bytes()[:100])
    proc = gpuqd(*run_args(tmp_path, "--resume"), cwd=tmp_path, GPUQD_TRANSPORT_BLOCK_POINTS="3")
    assert proc.returncode == 0, proc.stderr
    assert "damaged" in proc.stderr and "BadZipFile" not in proc.stderr and "pickle" not in proc.stderr
    ref = write(tmp_path / "ref.yaml", tiny_config | {"name": "ref"})
    shutil.rmtree(tmp_path / "runs" / ".cache")
    assert gpuqd(*run_args(tmp_path, config=ref.name), cwd=tmp_path).returncode == 0
    assert_same_results(tmp_path / "runs" / "tiny", tmp_path / "runs" / "ref")


def test_damaged_unit_file_is_recomputed(tmp_path):
    from gpuqd.run.execute.execution import SerialUnits, UnitStore, run_chains

    def task(shared, chain, link, value):  # noqa: ANN001, ANN202
        return {"x": np.array([value + 1.0])}

    def run(store: UnitStore) -> list:
        states, _ = run_chains(
            SerialUnits(),
            task,
            None,
            2,
            3,
            store,
            lambda c: (10.0 * c,),
            lambda c, k, a: None if k >= 2 else (float(a["x"][0]),),
            "t",
        )
        return [float(s["x"][0]) for s in states]

    store = UnitStore(tmp_path / "units", "fp")
    assert run(store) == [3.0, 13.0]
    damaged = store.path(1, 2)
    damaged.write_bytes(damaged.read_bytes()[:50])
    with pytest.warns(UserWarning, match="damaged"):
        assert run(store) == [3.0, 13.0]


@pytest.mark.slow
def test_corrupt_checkpoint_is_reported_before_the_estimate(tmp_path, tiny_config):
    cfg = write(tmp_path / "tiny.yaml", tiny_config)
    assert gpuqd(*run_args(tmp_path), cwd=tmp_path, **{KILL_HOOK_ENV: "dynamics:1"}).returncode != 0
    state = next((tmp_path / "runs" / "tiny" / "checkpoint").glob("*.npz"))
    with np.load(state, allow_pickle=False) as d:  # valid file, wrong numbers
        data = {k: d[k] for k in d.files}
    data["n"] = data["n"] * 0.5 if "n" in data else data[next(iter(data))]
    with open(state, "wb") as f:
        np.savez(f, **data)
    proc = gpuqd("run", str(cfg), "--runs-dir", str(tmp_path / "runs"), "--resume", cwd=tmp_path)
    one_line(proc, str(state), "damaged", "--force")
    assert "estimate" not in proc.stdout + proc.stderr


def test_damaged_meta_json_is_called_damaged(work):
    (work / "runs" / "tiny" / "meta.json").write_text('{"status": "fini')
    proc = gpuqd(*run_args(work, "--resume"), cwd=work)
    one_line(proc, "meta.json", "damaged")


def test_missing_config_yaml_is_named(work):
    (work / "runs" / "tiny" / "config.yaml").unlink()
    proc = gpuqd(*run_args(work, "--resume"), cwd=work)
    line = one_line(proc, "config.yaml", "missing")
    assert "None" not in line


# ------------------------------------------------------------------------------------ 6. hostile YAML
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (BOMB, "alias"),
        ("name: " + "[" * 5000 + "]" * 5000 + "\n", "nesting"),
        ("seed: " + "7" * 401 + "\n", "401 digits"),
        ("seed: " + "7" * 5000 + "\n", "5000 digits"),
        ("name: " + "x" * 2_000_000 + "\n", "too long"),
    ],
    ids=["alias-bomb-9", "deep-5000", "int-401", "int-5000", "2MB"],
)
def test_hostile_yaml_is_bounded(tmp_path, text, needle):
    cfg = write(tmp_path / "bad.yaml", text)
    t0 = time.monotonic()
    proc = gpuqd("validate", str(cfg), "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path)
    assert time.monotonic() - t0 < 60
    line = one_line(proc, needle)
    assert len(line) < 300


def test_yaml_merge_key_is_supported(tmp_path, tiny_config):
    text = yaml.safe_dump(tiny_config, sort_keys=False)
    text = text.replace("magnet:\n", "magnet: &m\n", 1)
    data = yaml.safe_load(text)
    assert data["magnet"]
    text += "figures:\n  <<: {inset_eps_tilde: 0.2}\n  inset_V: [0.1]\n"
    text = text.replace("figures:\n  inset_eps_tilde: 0.2\n  inset_V:\n  - 0.1\n  - 0.175\n", "", 1)
    cfg = write(tmp_path / "merge.yaml", text)
    proc = gpuqd("validate", str(cfg), "--runs-dir", str(tmp_path / "runs"), "--show", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "inset_eps_tilde: 0.2" in proc.stdout


def test_huge_value_is_quoted_at_most_80_characters(tmp_path, tiny_config):
    cfg = write(tmp_path / "t.yaml", tiny_config | {"backend": "z" * 10_000})
    line = one_line(gpuqd("validate", str(cfg), "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path), "backend")
    assert "z" * 81 not in line


# ------------------------------------------------------------------------------------ 8. signals
@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_writes_checkpoint_marks_interrupted_and_resume_is_identical(tmp_path, tiny_config, sig):
    tiny_config["dynamics"] |= {"t_end": 400.0, "chunk_steps": 200}
    cfg = write(tmp_path / "tiny.yaml", tiny_config)
    runs = tmp_path / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gpuqd.cli", *run_args(tmp_path)],
        cwd=tmp_path,
        env=_env({}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    state = runs / "tiny" / "checkpoint" / "dynamics_state.npz"
    deadline = time.monotonic() + 120
    while not state.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    line = one_line(subprocess.CompletedProcess([], proc.returncode, "", err), "--resume", code=128 + int(sig))
    assert str(cfg) in line and "--force" not in line
    meta = json.loads((runs / "tiny" / "meta.json").read_text())
    assert meta["status"] == "interrupted"
    assert state.exists() and checksum_ok(state)
    no_temporary_files(runs)
    again = gpuqd(*run_args(tmp_path, "--resume"), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    ref = write(tmp_path / "ref.yaml", tiny_config | {"name": "ref"})
    assert gpuqd(*run_args(tmp_path, config=ref.name), cwd=tmp_path).returncode == 0
    assert_same_results(runs / "tiny", runs / "ref")


# ------------------------------------------------------------------------------------ 9. silently accepted
def test_resume_of_finished_run_whose_results_were_deleted(work):
    for name in ("results.npz", "results.nc"):
        (work / "runs" / "tiny" / name).unlink()
    one_line(gpuqd(*run_args(work, "--resume"), cwd=work), "results", "--force")


def test_resume_and_force_together_are_refused(work):
    before = sorted(p.name for p in (work / "runs" / "tiny").iterdir())
    one_line(gpuqd(*run_args(work, "--resume", "--force"), cwd=work), "--resume", "--force")
    assert sorted(p.name for p in (work / "runs" / "tiny").iterdir()) == before


@pytest.mark.parametrize("key", ["inset_eps_tilde=5", "inset_V=[0.1,3]", "inset_V=[-0.61]"])
def test_inset_points_far_outside_the_grid(tmp_path, tiny_config, key):
    cfg = write(tmp_path / "t.yaml", tiny_config)
    proc = gpuqd("validate", str(cfg), "--runs-dir", str(tmp_path / "runs"), "--set", f"figures.{key}", cwd=tmp_path)
    one_line(proc, "figures.inset", "outside the grid")


def test_inset_point_within_half_a_spacing_is_accepted(tmp_path, tiny_config):
    cfg = write(tmp_path / "t.yaml", tiny_config)  # V axis -0.4 … 0.4 in steps of 0.4: ±0.6 is the limit
    proc = gpuqd(
        "validate", str(cfg), "--runs-dir", str(tmp_path / "r"), "--set", "figures.inset_V=[0.59]", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("command", ["validate", "run"])
def test_runs_dir_on_proc_is_refused_even_as_root(tmp_path, tiny_config, command):
    cfg = write(tmp_path / "t.yaml", tiny_config)
    one_line(gpuqd(command, str(cfg), "--runs-dir", "/proc/x", cwd=tmp_path), "/proc")
    assert not Path("/proc/x").exists()


# ------------------------------------------------------------------------------------ 11, 12. guards
@pytest.mark.parametrize("dt", [0.1, 0.2])
def test_noise_guard_refuses_steps_that_would_trip_the_norm_check(tmp_path, tiny_config, dt):
    tiny_config["magnet"] = {"S": 1.0, "KV": 1.0, "alpha": 0.5, "T_m": 0.25}
    tiny_config["dynamics"] |= {"dt": dt, "t_end": 40.0, "average_from": 20.0}
    cfg = write(tmp_path / "t.yaml", tiny_config)
    line = one_line(gpuqd("validate", str(cfg), "--runs-dir", str(tmp_path / "r"), cwd=tmp_path), "dynamics.dt")
    assert f"dt = {dt}" in line and "dt <= 0.01456" in line


@pytest.mark.parametrize(("key", "value"), [("S", 1e-9), ("alpha", 1e-12)])
def test_tiny_magnet_parameters_are_blamed_on_their_key(tmp_path, tiny_config, key, value):
    tiny_config["magnet"][key] = value
    cfg = write(tmp_path / "t.yaml", tiny_config)
    one_line(gpuqd("validate", str(cfg), "--runs-dir", str(tmp_path / "r"), cwd=tmp_path), f"magnet.{key}")

"""Dask execution on a local cluster of 2 worker processes (one cluster for the module).

- the cluster gpuqd starts listens on the loopback interface only (scheduler, workers, nannies, HTTP);
- `execution: dask` gives results arrays bit-identical to `execution: local` (switching diagram);
- a worker process killed mid-run (by the test): Dask reschedules its unit, the results are identical;
- a client killed mid-run (SIGKILL, subprocess) and resumed: identical results, only the missing units
  are computed (counted from the unit files left and the resumed run's report);
- without the dask extra `execution: dask` fails before any work, naming gpuqd[dask].
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from tiny_config import tiny_with

pytest.importorskip("distributed")

from gpuqd import cli  # noqa: E402
from gpuqd.run.config.validate import load_config  # noqa: E402
from gpuqd.run.execute.checkpoint import KILL_HOOK_ENV  # noqa: E402
from gpuqd.run.execute.dask_executor import LOOPBACK, start_local_cluster  # noqa: E402
from gpuqd.run.execute.execution import UnitStore  # noqa: E402
from gpuqd.run.execute.progress import Reporter  # noqa: E402
from gpuqd.run.pipeline import run_pipeline  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

# 3×3 grid × 48 trajectories = 432 trajectories → 2 blocks; 5000 steps in 5 chunks → 10 units
DIAGRAM = tiny_with(
    name="diagram",
    seed=5,
    magnet={"S": 1.0, "KV": 0.01, "alpha": 0.1, "sigma2": 1.0e-3},
    dynamics={"dt": 0.02, "t_end": 100.0, "average_from": 50.0, "trajectories_per_point": 48, "chunk_steps": 1000},
)
N_UNITS = 2 * 5

# 3×2 grid × 2 protocols × 16 = 192 trajectories in round 0 (2 blocks), adaptive rounds after it
STATS = {
    "name": "stats",
    "seed": 3,
    "backend": "numpy",
    "transport": DIAGRAM["transport"],
    "grid": {
        "unit": "U",
        "eps_tilde": {"start": -0.3, "stop": 0.3, "num": 3},
        "V": {"start": -0.4, "stop": 0.4, "num": 2},
    },
    "magnet": {"S": 1.0, "KV": 0.01, "alpha": 0.1, "sigma2": 1.0e-3},
    "dynamics": {"dt": 0.05, "t_end": 150.0, "average_from": 20.0},
    "statistics": {
        "protocol": "both",
        "trajectories_per_point": 16,
        "chunk_steps": 300,
        "adaptive": True,
        "target_relative_ci_width": 0.1,
        "max_trajectories_per_point": 48,
        "max_rounds": 3,
        "survival_eps_tilde": 0.0,
        "survival_V": [0.4, -0.4],
    },
    "outputs": ["switching_times"],
}

# FMR with simulated spectra: one work unit per (point, state) spectrum
FMR = {
    "name": "fmr",
    "seed": 3,
    "backend": "numpy",
    "transport": DIAGRAM["transport"],
    "grid": {
        "unit": "U",
        "eps_tilde": {"start": -0.3, "stop": 0.3, "num": 3},
        "V": {"start": -0.4, "stop": 0.4, "num": 3},
    },
    "magnet": {"S": 1.0, "KV": 0.05, "alpha": 0.1, "sigma2": 1.0e-4, "field": [0.0, 0.0, 0.01]},
    "fmr": {
        "spectra_eps_tilde": [0.25, -0.3],
        "spectra_V": [-0.15, 0.2],
        "n_omega": 51,
        "simulate": True,
        "simulate_omegas": 3,
        "periods": 4,
        "steps_per_period": 256,
        "settle_decays": 8,
        "noise": True,
        "trajectories": 4,
    },
    "outputs": ["fmr"],
}


@pytest.fixture(scope="module")
def cluster():
    cl, client = start_local_cluster(2, "numpy")
    client.wait_for_workers(2, timeout=120)
    yield cl, client
    client.close()
    cl.close()


@pytest.fixture(autouse=True)
def _no_kill_hook(monkeypatch):
    monkeypatch.delenv(KILL_HOOK_ENV, raising=False)


def _write(tmp_path: Path, data: dict, name: str = "cfg.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data), encoding="utf-8")
    return p


def _arrays(run_dir: Path) -> dict:
    with np.load(Path(run_dir) / "results.npz", allow_pickle=False) as d:
        return {k: d[k] for k in d.files if k not in ("attrs", "README")}


def _assert_identical(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def _run(tmp_path: Path, data: dict, runs: str, *extra: str) -> Path:
    rc = cli.main(
        ["run", str(_write(tmp_path, data)), "--runs-dir", str(tmp_path / runs), "--quiet", "--no-figures", *extra]
    )
    assert rc == 0
    return tmp_path / runs / data["name"]


@pytest.fixture(scope="module")
def local_diagram(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("local")
    return _arrays(_run(tmp, DIAGRAM, "runs"))


# --------------------------------------------------------------------------------------- security
def test_local_cluster_listens_on_loopback_only(cluster):
    import psutil

    cl, client = cluster
    assert cl.scheduler_address.startswith(f"tcp://{LOOPBACK}:")
    info = client.scheduler_info()
    assert len(info["workers"]) == 2
    for addr, w in info["workers"].items():
        assert addr.startswith(f"tcp://{LOOPBACK}:"), addr
        assert w["nanny"].startswith(f"tcp://{LOOPBACK}:"), w["nanny"]
        assert w["nthreads"] == 1
    # one compute thread per worker process, also for OpenMP/BLAS
    assert set(client.run(lambda: os.environ.get("OMP_NUM_THREADS")).values()) == {"1"}
    # the scheduler's HTTP server (dashboard / health, served in this process) is bound to 127.0.0.1
    http = cl.scheduler.http_server
    bound = [s.getsockname()[0] for s in http._sockets.values()]
    assert bound and all(h == LOOPBACK for h in bound), bound
    if cl.dashboard_link:
        assert re.match(rf"https?://{re.escape(LOOPBACK)}:\d+/", cl.dashboard_link), cl.dashboard_link
    # every listening TCP socket of the worker and nanny processes: loopback
    pids = set(client.run(os.getpid).values())
    pids |= {psutil.Process(p).ppid() for p in pids}
    for pid in pids:
        for conn in psutil.Process(pid).net_connections(kind="inet"):
            if conn.status == psutil.CONN_LISTEN:
                assert conn.laddr.ip == LOOPBACK, (pid, conn)


# --------------------------------------------------------------------------------------- identity
@pytest.mark.slow
def test_switching_diagram_dask_identical_to_local(tmp_path, cluster, local_diagram):
    run = _run(tmp_path, DIAGRAM, "runs", "--scheduler", cluster[0].scheduler_address)
    _assert_identical(_arrays(run), local_diagram)
    assert not (run / "checkpoint").exists()


@pytest.mark.slow
def test_switching_times_dask_identical_to_local(tmp_path, cluster):
    local = _arrays(_run(tmp_path, STATS, "local"))
    run = _run(tmp_path, STATS, "dask", "--scheduler", cluster[0].scheduler_address)
    _assert_identical(_arrays(run), local)
    assert local["switching_round_trajectories"].shape[0] >= 2  # adaptive rounds were exercised
    assert not (run / "checkpoint").exists()


@pytest.mark.slow
def test_fmr_dask_identical_to_local(tmp_path, cluster):
    local = _arrays(_run(tmp_path, FMR, "local"))
    run = _run(tmp_path, FMR, "dask", "--scheduler", cluster[0].scheduler_address)
    _assert_identical(_arrays(run), local)
    assert np.isfinite(local["fmr_sim_chi_imag"]).sum() >= 3  # simulated spectra were exercised
    assert not (run / "checkpoint").exists()


class _KillWorker(Reporter):
    """After the first finished unit, SIGKILL a worker process that is running a unit."""

    def __init__(self, client):
        self.client, self.killed = client, None

    def update(self, done: int) -> None:
        if self.killed is not None:
            return
        busy = [w for w, keys in self.client.processing().items() if keys]
        if not busy:
            return
        pid = self.client.run(os.getpid, workers=[busy[0]])[busy[0]]
        os.kill(pid, signal.SIGKILL)
        self.killed = pid


@pytest.mark.slow
def test_worker_killed_mid_run_gives_identical_result(tmp_path, cluster, local_diagram):
    cl, client = cluster
    data = DIAGRAM | {"execution": {"engine": "dask", "scheduler": cl.scheduler_address}}
    cfg = load_config(_write(tmp_path, data), runs_dir=str(tmp_path / "runs"))
    reporter = _KillWorker(client)
    run = run_pipeline(cfg, reporter=reporter, make_figures=False)
    assert reporter.killed is not None
    _assert_identical(_arrays(run), local_diagram)
    client.wait_for_workers(2, timeout=120)  # the nanny restarts the worker for the next tests


def _cli_subprocess(args: list[str], cwd: Path, env_extra: dict) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop(KILL_HOOK_ENV, None)
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "gpuqd.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_client_killed_and_resumed_computes_only_missing_units(tmp_path, cluster, local_diagram):
    address = cluster[0].scheduler_address
    cfg = _write(tmp_path, DIAGRAM)
    args = ["run", str(cfg), "--runs-dir", str(tmp_path / "runs"), "--no-figures", "--scheduler", address]
    p = _cli_subprocess(args, tmp_path, {KILL_HOOK_ENV: "dynamics:3"})
    assert p.returncode == -signal.SIGKILL, p.stderr
    run = tmp_path / "runs" / DIAGRAM["name"]
    store = UnitStore(run / "checkpoint" / "units" / "dynamics")
    latest = store.latest()
    stored_units = sum(k + 1 for k in latest.values())
    assert stored_units == 3 and len(store.files()) == len(latest)

    p = _cli_subprocess(args + ["--resume"], tmp_path, {})
    assert p.returncode == 0, p.stderr
    m = re.search(r"units from the run directory (\d+), computed (\d+)", " ".join(p.stderr.split()))
    assert m, p.stderr
    assert (int(m.group(1)), int(m.group(2))) == (3, N_UNITS - 3)
    _assert_identical(_arrays(run), local_diagram)


# --------------------------------------------------------------------------------------- missing extra
_HIDE_DASK = """
import sys
class _Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('dask', 'distributed'):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None
sys.meta_path.insert(0, _Hide())
from gpuqd.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_missing_dask_extra_fails_before_any_work(tmp_path):
    cfg = _write(tmp_path, DIAGRAM | {"execution": {"engine": "dask"}})
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    p = subprocess.run(
        [sys.executable, "-c", _HIDE_DASK, "run", str(cfg), "--runs-dir", str(tmp_path / "runs")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2, p.stderr
    assert "gpuqd[dask]" in p.stderr and "execution.engine" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()  # nothing written, nothing computed


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        (["--workers", "0"], "execution.workers"),
        (["--workers", "two"], "execution.workers"),
        (["--scheduler", "not an address"], "execution.scheduler"),
    ],
)
def test_bad_execution_input_is_one_line_exit_2(tmp_path, capsys, extra, key):
    rc = cli.main(["run", str(_write(tmp_path, DIAGRAM)), "--runs-dir", str(tmp_path / "runs"), *extra])
    err = capsys.readouterr().err
    assert rc == 2 and key in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "runs").exists()


def test_scheduler_needs_engine_dask(tmp_path, capsys):
    data = DIAGRAM | {"execution": {"engine": "local", "scheduler": "tcp://127.0.0.1:8786"}}
    rc = cli.main(["run", str(_write(tmp_path, data)), "--runs-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert rc == 2 and "execution.scheduler" in err and "engine: dask" in err, err

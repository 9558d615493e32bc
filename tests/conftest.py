"""Shared pytest configuration and fixtures.

* the ``gpu`` marker skips unless the ``cupy`` backend is usable (gpuqd.dynamics.engines.registry);
* ``GPUQD_CUPY_STANDIN=1`` puts the CuPy stand-in of tests/cupy_standin/ first on the path (this process
  and its subprocesses), so the ``gpu`` tests run without a GPU; it is an error if it is not usable then;
* ``tiny_config``: the tiny run configuration of the application-layer tests (3×3 grid, U = 100,
  T = 10, order 1; seconds), a fresh deep copy per test;
* ``run_helpers``: run the CLI in process or as a subprocess, read results.npz, compare runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from tiny_config import tiny_with

REPO = Path(__file__).resolve().parent.parent
#: the CuPy stand-in (tests/cupy_standin/README.md), enabled by GPUQD_CUPY_STANDIN=1
STANDIN_ENV = "GPUQD_CUPY_STANDIN"
STANDIN_DIR = Path(__file__).resolve().parent / "cupy_standin"
if os.environ.get(STANDIN_ENV) == "1":
    sys.path.insert(0, str(STANDIN_DIR))
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(STANDIN_DIR), os.environ.get("PYTHONPATH")) if p)
#: environment variable of the kill test hook (gpuqd.run.execute.checkpoint.KILL_HOOK_ENV)
KILL_HOOK_ENV = "GPUQD_TEST_KILL_AFTER"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # markers, not keywords: a keyword is also any parent folder's name (a checkout in a folder named gpu)
    if not any(item.get_closest_marker("gpu") for item in items):
        return
    from gpuqd.dynamics.engines import registry as backends

    cupy = backends.availability("cupy")
    if os.environ.get(STANDIN_ENV) == "1" and not cupy.detail.startswith("CuPy stand-in"):
        raise pytest.UsageError(f"{STANDIN_ENV}=1 but the cupy backend is not the stand-in: {cupy.detail}")
    if cupy.usable:
        return
    skip_gpu = pytest.mark.skip(reason=f"needs a usable cupy backend: {cupy.detail}")
    for item in items:
        if item.get_closest_marker("gpu"):
            item.add_marker(skip_gpu)


def pytest_report_header(config: pytest.Config) -> str | None:
    if os.environ.get(STANDIN_ENV) != "1":
        return None
    return (
        "CuPy stand-in (tests/cupy_standin): kernels compiled by NVRTC, launches checked and run on the host "
        "build; tests marked device_numerics check the launch, not the device's arithmetic"
    )


class RunHelpers:
    """Helpers of the end-to-end tests (static methods)."""

    repo = REPO
    kill_hook_env = KILL_HOOK_ENV

    @staticmethod
    def write(tmp_path: Path, data: dict, name: str = "tiny.yaml") -> Path:
        p = tmp_path / name
        p.write_text(yaml.safe_dump(data), encoding="utf-8")
        return p

    @staticmethod
    def main(args: list[str], capsys) -> tuple[int, str, str]:  # noqa: ANN001
        from gpuqd import cli

        rc = cli.main(args)
        cap = capsys.readouterr()
        return rc, cap.out, cap.err

    @staticmethod
    def subprocess(args: list[str], cwd: Path, env_extra: dict | None = None, **kw) -> subprocess.CompletedProcess:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        env.pop(KILL_HOOK_ENV, None)
        env.update(env_extra or {})
        return subprocess.run(
            [sys.executable, "-m", "gpuqd.cli", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            **kw,
        )

    @staticmethod
    def arrays(run_dir: Path) -> dict:
        with np.load(run_dir / "results.npz", allow_pickle=False) as d:
            return {k: d[k] for k in d.files if k not in ("attrs", "README")}

    @staticmethod
    def assert_identical(a: dict, b: dict) -> None:
        assert sorted(a) == sorted(b)
        for k in a:
            assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.fixture
def run_helpers() -> type[RunHelpers]:
    return RunHelpers


@pytest.fixture(scope="session")
def make_tiny_config():  # noqa: ANN201
    """Factory: ``make_tiny_config(**sections)`` = a fresh copy of the tiny configuration with the given
    top-level keys replaced (``None`` removes a key); usable from module-scoped fixtures."""

    return tiny_with


@pytest.fixture
def tiny_config(make_tiny_config) -> dict:  # noqa: ANN001
    """A fresh copy of the tiny configuration (edit freely)."""
    return make_tiny_config()


@pytest.fixture(scope="session", autouse=True)
def _calibration_file(tmp_path_factory):  # noqa: ANN001, ANN202
    """Run estimates use a per-session calibration file, not the user's cache, and measure nothing
    (``GPUQD_CALIBRATE=0``: the static cost model; tests load the machine, and every measurement would
    add up to 5 s to a test; tests/run/test_estimate.py turns measuring on where it tests it)."""
    names = ("GPUQD_CALIBRATION_FILE", "GPUQD_CALIBRATE")
    old = {name: os.environ.get(name) for name in names}
    os.environ["GPUQD_CALIBRATION_FILE"] = str(tmp_path_factory.mktemp("calibration") / "calibration.json")
    os.environ["GPUQD_CALIBRATE"] = "0"
    yield
    for name, value in old.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value

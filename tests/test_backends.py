"""The backend registry (gpuqd.dynamics.engines.registry) with fake CuPy modules: no CuPy, no device, a device without
NVRTC, a kernel that does not launch, a working device; and the cpu backend without a compiler."""

from __future__ import annotations

import sys
import types
import warnings

import numpy as np
import pytest
import yaml
from tiny_config import tiny_with

from gpuqd.dynamics import ConstantTorque, Macrospin
from gpuqd.dynamics.engine_config import build_config
from gpuqd.dynamics.engines import registry as backends
from gpuqd.dynamics.host_build import HostBuildError


@pytest.fixture
def registry(monkeypatch):
    """Fresh probe caches; the cpu backend is faked usable unless a test restores the real probe."""
    backends.clear_cache()
    monkeypatch.setitem(backends.PROBES, "cpu", lambda: backends.Availability("cpu", True, "fake g++, 2 threads"))
    yield backends
    backends.clear_cache()


def _install_fake_cupy(monkeypatch, devices=1, nvrtc=True, launch_value=42, calls=None) -> None:
    cupy = types.ModuleType("cupy")
    cupy.__version__ = "14.0.0-fake"
    cuda = types.ModuleType("cupy.cuda")
    nvrtc_module = types.ModuleType("cupy.cuda.nvrtc")

    def get_device_count() -> int:
        if calls is not None:
            calls.append("getDeviceCount")
        if isinstance(devices, Exception):
            raise devices
        return devices

    def get_version() -> tuple[int, int]:
        if not nvrtc:
            raise RuntimeError("CuPy failed to load libnvrtc.so.12")
        return (12, 4)

    class RawKernel:
        def __init__(self, code: str, name: str) -> None:
            if not nvrtc:
                raise RuntimeError("nvrtc not found")
            assert name in code

        def __call__(self, grid, block, args) -> None:
            args[0][:] = launch_value + np.arange(block[0])

    cuda.runtime = types.SimpleNamespace(
        getDeviceCount=get_device_count,
        deviceSynchronize=lambda: None,
        getDeviceProperties=lambda i: {"name": b"Fake GPU 80GB"},
    )
    nvrtc_module.getVersion = get_version
    cuda.nvrtc = nvrtc_module
    cupy.cuda = cuda
    cupy.RawKernel = RawKernel
    cupy.zeros = np.zeros
    cupy.int32 = np.int32
    cupy.asnumpy = np.asarray
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    monkeypatch.setitem(sys.modules, "cupy.cuda", cuda)
    monkeypatch.setitem(sys.modules, "cupy.cuda.nvrtc", nvrtc_module)


def test_without_cupy_auto_takes_cpu_with_notice(registry, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy raises ImportError
    info = registry.availability("cupy")
    assert not info.usable and "not importable" in info.detail
    name, notice = registry.resolve("auto")
    assert name == "cpu"
    assert notice.startswith("backend auto → cpu") and "cupy skipped: CuPy is not importable" in notice
    assert "\n" not in notice
    assert registry.available_backends() == ["numpy", "cpu"]
    with pytest.raises(backends.BackendUnavailable, match="not importable"):
        registry.resolve("cupy")


def test_no_device(registry, monkeypatch) -> None:
    _install_fake_cupy(monkeypatch, devices=0)
    assert registry.availability("cupy") == backends.Availability("cupy", False, "no CUDA device", backends.NO_GPU_HINT)
    assert registry.resolve("auto") == ("cpu", "backend auto → cpu [fake g++, 2 threads]; cupy skipped: no CUDA device")


@pytest.mark.parametrize(
    ("driver", "cause"),
    [
        ("no NVIDIA driver on this machine (libcuda.so.1 not found)", "no NVIDIA driver"),
        ("the NVIDIA driver is installed but reports no CUDA device", "reports no CUDA device"),
    ],
)
def test_driver_error_names_the_true_cause(registry, monkeypatch, driver: str, cause: str) -> None:
    """Without a driver CuPy says "driver version insufficient"; the message must say what is missing
    (driver or device) and must not advise installing CuPy, which is installed."""
    _install_fake_cupy(
        monkeypatch, devices=RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")
    )
    monkeypatch.setattr(registry, "driver_status", lambda: driver)
    info = registry.availability("cupy")
    assert not info.usable and info.detail.startswith(cause if cause.startswith("no") else "the NVIDIA driver")
    with pytest.raises(backends.BackendUnavailable) as raised:
        registry.resolve("cupy")
    message = str(raised.value)
    assert cause in message and "pip install" not in message and "--backend cpu" in message


def test_missing_cupy_advises_the_install(registry, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "cupy", None)
    with pytest.raises(backends.BackendUnavailable, match=r"not importable.*pip install -e '\.\[gpu\]'"):
        registry.resolve("cupy")


def test_driver_status_reads_the_driver_library() -> None:
    """On any machine: one line, naming the driver library or its answer."""
    status = backends.driver_status()
    assert "\n" not in status and ("libcuda" in status or "driver" in status)


def test_cli_shows_the_auto_fallback_notice(registry, monkeypatch, tmp_path, capsys) -> None:
    """The CLI hides RuntimeWarnings of the numerics; the auto notice must still reach the user."""
    from gpuqd import cli

    monkeypatch.setitem(sys.modules, "cupy", None)
    monkeypatch.setitem(backends.PROBES, "cpu", lambda: backends.Availability("cpu", False, "no compiler"))
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(tiny_with(backend="auto", runs_dir=str(tmp_path))))
    with warnings.catch_warnings():
        assert cli.main(["validate", str(config)]) == 0
    err = capsys.readouterr().err
    assert "backend auto → numpy" in err and "cupy skipped: CuPy is not importable" in err


def test_device_without_nvrtc_is_not_usable(registry, monkeypatch) -> None:
    _install_fake_cupy(monkeypatch, nvrtc=False)
    info = registry.availability("cupy")
    assert not info.usable and "NVRTC is missing" in info.detail
    with pytest.raises(backends.BackendUnavailable, match="NVRTC"):
        registry.resolve_backend("cupy")
    with pytest.warns(backends.BackendNotice, match="cupy skipped: CUDA device present but NVRTC is missing"):
        assert registry.resolve_backend("auto") == "cpu"


def test_kernel_that_returns_wrong_values_is_not_usable(registry, monkeypatch) -> None:
    _install_fake_cupy(monkeypatch, launch_value=0)
    info = registry.availability("cupy")
    assert not info.usable and "wrong values" in info.detail


def test_working_device_is_chosen_by_auto_and_probed_once(registry, monkeypatch) -> None:
    calls: list[str] = []
    _install_fake_cupy(monkeypatch, calls=calls)
    notices: list[str] = []
    assert registry.resolve_backend("auto", notify=notices.append) == "cupy"
    assert notices == []
    assert registry.resolve_backend("cupy") == "cupy"
    assert registry.available_backends() == ["numpy", "cpu", "cupy"]
    info = registry.describe("cupy")
    assert info["available"] and "Fake GPU 80GB" in info["description"] and "NVRTC 12.4" in info["description"]
    assert calls == ["getDeviceCount"]  # cached for the process


def test_explicit_numpy_never_probes_others(registry, monkeypatch) -> None:
    monkeypatch.setitem(backends.PROBES, "cupy", lambda: pytest.fail("cupy probed"))
    assert registry.resolve_backend("numpy") == "numpy"


def test_unknown_backend_names_the_choices(registry) -> None:
    with pytest.raises(ValueError, match="auto, numpy, cpu, cupy"):
        registry.resolve("fortran")


def test_cpu_without_compiler_is_a_clear_error(monkeypatch) -> None:
    """Explicit cpu with no compiler names the compiler tried; auto falls back with a notice."""
    backends.clear_cache()
    monkeypatch.setenv("CXX", "gpuqd-no-such-compiler++")
    monkeypatch.setitem(sys.modules, "cupy", None)
    try:
        with pytest.raises(backends.BackendUnavailable, match="gpuqd-no-such-compiler"):
            backends.resolve("cpu")
        name, notice = backends.resolve("auto")
        assert name == "numpy" and "cpu skipped: C++ compiler 'gpuqd-no-such-compiler++' not found" in notice
        from gpuqd.dynamics.engines.cpu_engine import CpuEngine

        cfg = build_config(
            Macrospin(S=1.0, KV=0.1, alpha=0.1, sigma2=0.01),
            ConstantTorque(0.0, 0.0),
            2,
            0.1,
            1.0,
            0,
            0.0,
            0.5,
            None,
            None,
            0,
            None,
            None,
        )
        with pytest.raises(HostBuildError, match="gpuqd-no-such-compiler"):
            CpuEngine(cfg)
    finally:
        backends.clear_cache()


def test_cpu_backend_usable_here_describes_compiler_and_threads(monkeypatch) -> None:
    """CI machines have a C++ compiler: the cpu backend must be usable (a failure here is a broken build)."""
    backends.clear_cache()
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    info = backends.describe("cpu")
    assert info["available"], info
    assert info["threads"] == 3 and info["compiler"] and "3 threads" in info["description"]
    backends.clear_cache()


def test_auto_falls_back_to_numpy_when_this_variant_does_not_build(registry, monkeypatch) -> None:
    """auto resolved to cpu, but the configuration's kernel variant fails to compile: NumPy, with a notice;
    an explicit cpu request raises instead."""
    from gpuqd.dynamics import EnsembleRunner
    from gpuqd.dynamics.engines import cpu_engine as cpu_backend

    def broken(defines):
        raise HostBuildError("host build of the LLG kernel with g++ failed: error: boom")

    monkeypatch.setitem(sys.modules, "cupy", None)
    monkeypatch.setattr(cpu_backend, "load_library", broken)
    args = dict(n_traj=2, dt=0.1, t_end=1.0, seed=0)
    magnet, torque = Macrospin(S=1.0, KV=0.1, alpha=0.1, sigma2=0.01), ConstantTorque(0.0, 0.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runner = EnsembleRunner(magnet, torque, backend="auto", **args)
    messages = [str(w.message) for w in caught if issubclass(w.category, backends.BackendNotice)]
    assert messages[0].startswith("backend auto → cpu")  # the registry's choice ...
    assert messages[1].startswith("backend auto → numpy (cpu skipped: ") and "boom" in messages[1]  # ... revised
    assert runner.backend == "numpy"
    with pytest.raises(HostBuildError, match="boom"):
        EnsembleRunner(magnet, torque, backend="cpu", **args)

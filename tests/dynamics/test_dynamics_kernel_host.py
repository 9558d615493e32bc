"""Checks of the kernel source without a GPU.

* ``nvcc --ptx`` compiles every kernel specialisation (skipped without nvcc).
* The same source built for the host (:mod:`gpuqd.dynamics.host_build`, the ``cpu`` engine) runs
  through the shared kernel host code with NumPy arrays: trajectories, noise words and observables
  must agree with the NumPy engine. These tests never skip: without a working C++ compiler they
  fail, naming the compiler tried. The CuPy/GPU versions of these tests are in test_dynamics_gpu.py.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from ensemble_checks import synthetic_table

from gpuqd.dynamics import ConstantTorque, EnsembleRunner, Macrospin
from gpuqd.dynamics.engine_config import build_config
from gpuqd.dynamics.engines.cpu_engine import CpuEngine, philox_words_host
from gpuqd.dynamics.engines.kernel_engine import kernel_defines
from gpuqd.dynamics.engines.numpy_engine import NumpyEngine
from gpuqd.dynamics.host_build import HostBuildError, compiler_name, load_library
from gpuqd.dynamics.kernel_source import all_variants, bundled_source, variant_flags
from gpuqd.dynamics.philox import philox4x32
from gpuqd.transport import TorqueTable


def _host_engine(cfg, threads: int = 1) -> CpuEngine:
    """CpuEngine for cfg; a failed host build fails the test with the compiler's message (never skips)."""
    try:
        load_library(kernel_defines(cfg))
    except HostBuildError as exc:
        pytest.fail(f"host build of the LLG kernel with {compiler_name()!r} failed: {exc}")
    return CpuEngine(cfg, threads=threads)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc")
def test_kernel_compiles_with_nvcc(tmp_path) -> None:
    source = tmp_path / "llg_kernel.cu"
    source.write_text(bundled_source())
    for defines in all_variants():
        flags = variant_flags(defines)
        out = tmp_path / "k.ptx"
        proc = subprocess.run(
            ["nvcc", "--ptx", "-arch=sm_80", "--std=c++14", *flags, str(source), "-o", str(out)],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, (flags, proc.stderr)
        assert "warning" not in proc.stderr.lower(), (flags, proc.stderr)
        assert ".entry llg_heun_advance" in out.read_text()


def _table() -> TorqueTable:
    return synthetic_table(64)


CASES = {
    "table_noise": dict(magnet=Macrospin(S=1.0, KV=0.1, alpha=0.2, sigma2=0.01), torque="table"),
    "const_cubic_ac_field": dict(
        magnet=Macrospin(
            S=1.2,
            KV=0.2,
            alpha=0.1,
            sigma2=0.002,
            K_cubic=0.05,
            field=(0.01, -0.02, 0.03),
            cubic_axes=np.array([[0.6, 0.8, 0.0], [-0.8, 0.6, 0.0], [0.0, 0.0, 1.0]]),
            ac_field=(0.01, 0.4),
        ),
        torque=ConstantTorque(0.02, 0.015, 0.3),
    ),
    "both_free_table": dict(magnet=Macrospin(S=1.0, KV=0.1, alpha=0.2, sigma2=0.01, free="both"), torque="table"),
    "deterministic": dict(magnet=Macrospin(S=1.0, KV=0.3, alpha=0.05, sigma2=0.0), torque=ConstantTorque(0.1, 0.02)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_host_build_of_kernel_matches_numpy_engine(case: str) -> None:
    spec = CASES[case]
    torque = _table() if spec["torque"] == "table" else spec["torque"]
    n_traj = 12
    kwargs = dict(
        n_traj=n_traj,
        dt=0.02,
        t_end=20.0,
        seed=99,
        initial_theta=np.linspace(0.0, 3.0, n_traj),
        switch_threshold=0.2,
        average_from=5.0,
        trajectory_offset=1000,
        sample_every=50,
        sample_trajectories=[1, 7],
    )
    if spec["torque"] == "table":
        kwargs["point_index"] = np.arange(n_traj) % 2
    cfg = build_config(
        spec["magnet"],
        torque,
        kwargs["n_traj"],
        kwargs["dt"],
        kwargs["t_end"],
        kwargs["seed"],
        kwargs["initial_theta"],
        kwargs["switch_threshold"],
        kwargs["average_from"],
        kwargs.get("point_index"),
        kwargs["trajectory_offset"],
        kwargs["sample_every"],
        kwargs["sample_trajectories"],
    )
    host = _host_engine(cfg)
    reference = NumpyEngine(cfg)
    for chunk in (1, 333, 10_000):  # 1000 steps in total, uneven launches
        host.advance(chunk)
        reference.advance(chunk)
    a, b = host.get_state(), reference.get_state()
    assert int(a["steps_done"]) == 1000
    for key in ("n", "m", "sum_theta", "sum_charge_current"):
        np.testing.assert_allclose(a[key], b[key], rtol=0, atol=1e-9, err_msg=key)
    np.testing.assert_allclose(a["samples"], b["samples"], rtol=0, atol=1e-9)
    for key in (
        "state",
        "n_switches",
        "first_switch_step",
        "last_switch_step",
        "steps_in_parallel",
        "steps_in_antiparallel",
    ):
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    if case != "deterministic":
        assert np.any(b["n_switches"] > 0) or case == "const_cubic_ac_field"


def test_host_build_philox_words() -> None:
    n, step, offset, key = 37, 2**33 + 5, 2**32 - 3, (0xA4093822, 0x299F31D0)
    out = philox_words_host(step, offset, n, key)
    ids = np.arange(offset, offset + n, dtype=np.uint64)
    expected = philox4x32((step & 0xFFFFFFFF, step >> 32, ids & np.uint64(0xFFFFFFFF), ids >> np.uint64(32)), key)
    np.testing.assert_array_equal(out, np.stack(expected, axis=1).astype(np.uint32))


def test_host_build_through_runner_result() -> None:
    """The runner's result() from the CuPy engine code path equals the NumPy one (switching counts exact)."""
    magnet, torque = Macrospin(S=1.0, KV=0.05, alpha=0.2, sigma2=0.01), ConstantTorque(-0.02, 0.03, 0.7)
    args = dict(n_traj=8, dt=0.05, t_end=30.0, seed=3, average_from=10.0, switch_threshold=0.3)
    reference = EnsembleRunner(magnet, torque, backend="numpy", **args)
    cfg = reference.config
    _host_engine(cfg)  # fail clearly if the host build does not compile
    emulated = EnsembleRunner(magnet, torque, backend="cpu", **args)
    for runner in (reference, emulated):
        while not runner.done:
            runner.advance(250)
    a, b = emulated.result(), reference.result()
    np.testing.assert_array_equal(a.n_switches, b.n_switches)
    np.testing.assert_array_equal(a.first_passage_time, b.first_passage_time)
    np.testing.assert_allclose(a.final_direction, b.final_direction, atol=1e-9)
    np.testing.assert_allclose(a.mean_theta, b.mean_theta, atol=1e-9)


def test_host_build_with_explicit_trajectory_ids_matches_numpy() -> None:
    """Kernel reading ids[j] (compacted ensembles) agrees with the NumPy engine; ids are not offset + j."""
    magnet, torque = Macrospin(S=1.0, KV=0.1, alpha=0.2, sigma2=0.01), _table()
    ids = np.array([7, 2**33 + 1, 123456, 5, 2**40 + 17, 99], dtype=np.int64)
    cfg = build_config(
        magnet,
        torque,
        ids.size,
        0.02,
        20.0,
        99,
        np.linspace(0.0, 3.0, ids.size),
        0.0,
        5.0,
        np.arange(ids.size) % 2,
        0,
        None,
        None,
        trajectory_ids=ids,
    )
    host = _host_engine(cfg)
    reference = NumpyEngine(cfg)
    for chunk in (1, 333, 10_000):
        host.advance(chunk)
        reference.advance(chunk)
    a, b = host.get_state(), reference.get_state()
    for key in ("n", "sum_theta", "sum_charge_current"):
        np.testing.assert_allclose(a[key], b[key], rtol=0, atol=1e-9, err_msg=key)
    for key in ("state", "n_switches", "first_switch_step"):
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert np.any(b["n_switches"] > 0)

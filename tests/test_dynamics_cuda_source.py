"""Checks of the CUDA kernel source without a GPU.

* ``nvcc --ptx`` compiles every kernel specialisation (skipped without nvcc).
* The same source is compiled for the host with g++ through a small shim (CUDA built-ins mapped to
  C++), and driven by the real :class:`CupyEngine` host code with NumPy arrays, one emulated thread
  at a time: trajectories, noise words and observables must agree with the NumPy engine
  (skipped without g++). The CuPy/GPU versions of these tests are in test_dynamics_gpu.py.
"""

from __future__ import annotations

import ctypes
import itertools
import shutil
import subprocess

import numpy as np
import pytest

from gpuqd.dynamics import ConstantTorque, EnsembleRunner, Macrospin
from gpuqd.dynamics.config import build_config
from gpuqd.dynamics.cupy_backend import KERNEL_SOURCE, CupyEngine, kernel_defines
from gpuqd.dynamics.numpy_backend import NumpyEngine
from gpuqd.dynamics.philox import philox4x32
from gpuqd.transport import TorqueTable

HOST_SHIM = r"""
#include <math.h>
#define __global__
#define __device__
#define __forceinline__ inline
struct uint4 { unsigned int x, y, z, w; };
static inline uint4 make_uint4(unsigned int a, unsigned int b, unsigned int c, unsigned int d) {
    uint4 r = {a, b, c, d}; return r; }
static inline unsigned int __umulhi(unsigned int a, unsigned int b) {
    return (unsigned int)(((unsigned long long)a * b) >> 32); }
template <class T> static inline T __ldg(const T* p) { return *p; }
struct emu_dim { unsigned int x, y, z; };
static emu_dim blockIdx, blockDim, threadIdx;
#include "KERNEL"
extern "C" void emu_set_thread(int j) { blockIdx.x = j; blockDim.x = 1; threadIdx.x = 0; }
"""


def _compile_host(defines: dict[str, int], tmp_path) -> ctypes.CDLL:
    name = "_".join(f"{k}{v}" for k, v in sorted(defines.items()))
    src = tmp_path / f"emu_{name}.cpp"
    src.write_text(HOST_SHIM.replace("KERNEL", str(KERNEL_SOURCE)))
    lib = tmp_path / f"emu_{name}.so"
    flags = [f"-D{k}={v}" for k, v in defines.items()]
    subprocess.run(
        [
            "g++",
            "-O2",
            "-std=c++14",
            "-ffp-contract=off",
            "-shared",
            "-fPIC",
            *flags,
            str(src),
            "-o",
            str(lib),
        ],
        check=True,
        capture_output=True,
    )
    return ctypes.CDLL(str(lib))


def _ctypes_arg(value):
    if isinstance(value, np.ndarray):
        assert value.flags.c_contiguous
        return ctypes.c_void_p(value.ctypes.data)
    return {
        np.int32: ctypes.c_int,
        np.int64: ctypes.c_longlong,
        np.uint64: ctypes.c_ulonglong,
        np.uint32: ctypes.c_uint,
    }[type(value)](int(value))


class HostKernel:
    """Emulates a kernel launch by calling the host build once per thread index."""

    def __init__(self, lib: ctypes.CDLL, name: str) -> None:
        self.lib, self.function = lib, getattr(lib, name)

    def __call__(self, grid, block, args) -> None:
        converted = [_ctypes_arg(a) for a in args]
        n_threads = grid[0] * block[0]
        for j in range(n_threads):
            self.lib.emu_set_thread(j)
            self.function(*converted)


needs_gxx = pytest.mark.skipif(
    shutil.which("g++") is None, reason="needs g++ for the host build of the kernel"
)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc")
def test_kernel_compiles_with_nvcc(tmp_path) -> None:
    names = ["LLG_USE_TABLE", "LLG_BOTH_FREE", "LLG_HAS_CUBIC", "LLG_HAS_AC", "LLG_HAS_NOISE"]
    for bits in itertools.product((0, 1), repeat=len(names)):
        flags = [f"-D{n}={b}" for n, b in zip(names, bits, strict=True)]
        out = tmp_path / "k.ptx"
        proc = subprocess.run(
            ["nvcc", "--ptx", "-arch=sm_80", "--std=c++14", *flags, str(KERNEL_SOURCE), "-o", str(out)],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, (flags, proc.stderr)
        assert "warning" not in proc.stderr.lower(), (flags, proc.stderr)
        assert ".entry llg_heun_advance" in out.read_text()


def _table() -> TorqueTable:
    return TorqueTable.from_functions(
        [
            lambda th, a=a: (0.05 * np.cos(th) + a, 0.03 * np.sin(th) ** 2 - 0.01, 1.0 + a * th)
            for a in (0.02, -0.04)
        ],
        n_theta=64,
    )


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
    "both_free_table": dict(
        magnet=Macrospin(S=1.0, KV=0.1, alpha=0.2, sigma2=0.01, free="both"), torque="table"
    ),
    "deterministic": dict(
        magnet=Macrospin(S=1.0, KV=0.3, alpha=0.05, sigma2=0.0), torque=ConstantTorque(0.1, 0.02)
    ),
}


@needs_gxx
@pytest.mark.parametrize("case", sorted(CASES))
def test_host_build_of_kernel_matches_numpy_engine(case: str, tmp_path) -> None:
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
    lib = _compile_host(kernel_defines(cfg), tmp_path)
    host = CupyEngine(cfg, xp=np, kernel=HostKernel(lib, "llg_heun_advance"))
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


@needs_gxx
def test_host_build_philox_words(tmp_path) -> None:
    lib = _compile_host({}, tmp_path)
    n, step, offset, key = 37, 2**33 + 5, 2**32 - 3, (0xA4093822, 0x299F31D0)
    out = np.zeros(4 * n, dtype=np.uint32)
    HostKernel(lib, "philox_words")(
        (n,),
        (1,),
        (out, np.int64(step), np.uint64(offset), np.uint32(key[0]), np.uint32(key[1]), np.int32(n)),
    )
    ids = np.arange(offset, offset + n, dtype=np.uint64)
    expected = philox4x32(
        (step & 0xFFFFFFFF, step >> 32, ids & np.uint64(0xFFFFFFFF), ids >> np.uint64(32)), key
    )
    np.testing.assert_array_equal(out.reshape(n, 4), np.stack(expected, axis=1).astype(np.uint32))


@needs_gxx
def test_host_build_through_runner_result(tmp_path, monkeypatch) -> None:
    """The runner's result() from the CuPy engine code path equals the NumPy one (switching counts exact)."""
    magnet, torque = Macrospin(S=1.0, KV=0.05, alpha=0.2, sigma2=0.01), ConstantTorque(-0.02, 0.03, 0.7)
    args = dict(n_traj=8, dt=0.05, t_end=30.0, seed=3, average_from=10.0, switch_threshold=0.3)
    reference = EnsembleRunner(magnet, torque, backend="numpy", **args)
    cfg = reference.config
    lib = _compile_host(kernel_defines(cfg), tmp_path)
    emulated = EnsembleRunner(magnet, torque, backend="numpy", **args)
    emulated._engine = CupyEngine(cfg, xp=np, kernel=HostKernel(lib, "llg_heun_advance"))
    for runner in (reference, emulated):
        while not runner.done:
            runner.advance(250)
    a, b = emulated.result(), reference.result()
    np.testing.assert_array_equal(a.n_switches, b.n_switches)
    np.testing.assert_array_equal(a.first_passage_time, b.first_passage_time)
    np.testing.assert_allclose(a.final_direction, b.final_direction, atol=1e-9)
    np.testing.assert_allclose(a.mean_theta, b.mean_theta, atol=1e-9)


@needs_gxx
def test_host_build_with_explicit_trajectory_ids_matches_numpy(tmp_path) -> None:
    """Kernel reading ids[j] (compacted ensembles) agrees with the NumPy engine; ids are not offset + j."""
    magnet, torque = Macrospin(S=1.0, KV=0.1, alpha=0.2, sigma2=0.01), _table()
    ids = np.array([7, 2**33 + 1, 123456, 5, 2**40 + 17, 99], dtype=np.int64)
    cfg = build_config(
        magnet, torque, ids.size, 0.02, 20.0, 99, np.linspace(0.0, 3.0, ids.size), 0.0, 5.0,
        np.arange(ids.size) % 2, 0, None, None, trajectory_ids=ids,
    )
    lib = _compile_host(kernel_defines(cfg), tmp_path)
    host = CupyEngine(cfg, xp=np, kernel=HostKernel(lib, "llg_heun_advance"))
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

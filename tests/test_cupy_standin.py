"""The CuPy stand-in of the gpu tests (tests/cupy_standin/README.md) catches what a GPU would: wrong launch
arguments (as CuPy 14 marshals them against the PTX parameter list), implicit device→host conversion, host
arrays as operands, a grid that does not cover the elements, a block above the launch bounds; and a correct
launch of the LLG kernel gives the cpu engine's numbers. Loaded in isolation (sys.modules restored), so a
real CuPy on the machine is not disturbed. Needs the NVRTC wheel of the dev extra."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

STANDIN = Path(__file__).resolve().parent / "cupy_standin"


@pytest.fixture(scope="module")
def standin():  # noqa: ANN201
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] in ("cupy", "cupyx")}
    for key in saved:
        del sys.modules[key]
    sys.path.insert(0, str(STANDIN))
    try:
        import cupy
        from cupy import _nvrtc

        try:
            _nvrtc.version()
        except _nvrtc.NvrtcError as exc:
            pytest.skip(f"NVRTC wheel not installed (pip install -e '.[dev]'): {exc}")
        yield cupy
    finally:
        sys.path.remove(str(STANDIN))
        for key in [k for k in sys.modules if k.split(".")[0] in ("cupy", "cupyx")]:
            del sys.modules[key]
        sys.modules.update(saved)


SOURCE = r"""
struct Block { double a; double b[3]; };
extern "C" __global__ void k(double* out, int n, long long offset, const Block blk) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = blk.b[0] + offset;
}
"""


def test_launch_arguments_are_checked_against_the_ptx(standin) -> None:
    from cupy._kernels import LaunchError

    function = standin.RawModule(code=SOURCE, options=("--std=c++14",)).get_function("k")
    out = standin.zeros(8)
    block = np.zeros(1, dtype=np.dtype([("a", "f8"), ("b", "f8", (3,))], align=True))
    function.check((1,), (8,), (out, np.int32(8), np.int64(2), block))  # exactly right
    with pytest.raises(LaunchError, match="CuPy passes 8 bytes, the kernel parameter has 4"):
        function.check((1,), (8,), (out, 8, np.int64(2), block))  # a Python int is int64
    with pytest.raises(LaunchError, match="4 bytes, the kernel parameter has 8"):
        function.check((1,), (8,), (out, np.int32(8), np.int32(2), block))
    with pytest.raises(LaunchError, match="CuPy passes 24 bytes, the kernel parameter has 32"):
        function.check((1,), (8,), (out, np.int32(8), np.int64(2), np.zeros(1, dtype=[("b", "f8", (3,))])))
    with pytest.raises(LaunchError, match="a value where the kernel dereferences a pointer"):
        function.check((1,), (8,), (np.int64(0), np.int32(8), np.int64(2), block))
    with pytest.raises(LaunchError, match="3 arguments for 4"):
        function.check((1,), (8,), (out, np.int32(8), np.int64(2)))
    with pytest.raises(TypeError, match="Only numpy.ndarrays of size one"):
        function.check((1,), (8,), (np.zeros(8), np.int32(8), np.int64(2), block))


def test_host_device_rules(standin) -> None:
    a = standin.arange(4.0)
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        np.asarray(a)
    with pytest.raises(TypeError, match="Unsupported type"):
        a + np.ones(4)
    assert isinstance(a.sum(), standin.ndarray) and float(a.sum()) == 6.0
    np.testing.assert_array_equal(standin.asnumpy(a * 2), [0.0, 2.0, 4.0, 6.0])
    singular = standin.linalg.solve(standin.zeros((2, 3, 3)), standin.ones((2, 3, 1)))
    assert np.isnan(singular.get()).all()  # CuPy returns non-finite values, raises nothing


def test_llg_kernel_launch_equals_the_cpu_engine(standin, monkeypatch) -> None:
    """The cupy engine's real launch path through the stand-in: bit-identical to the cpu engine; a grid
    one block short is an error (its trajectories would not move on a GPU)."""
    from gpuqd.dynamics import ConstantTorque, EnsembleRunner, Macrospin
    from gpuqd.dynamics.engines import cupy_engine as cupy_backend

    magnet, torque = Macrospin(S=1.0, KV=0.05, alpha=0.2, sigma2=0.01), ConstantTorque(-0.02, 0.03, 0.7)
    run = dict(n_traj=300, dt=0.05, t_end=5.0, seed=3, average_from=1.0)
    monkeypatch.setitem(sys.modules, "cupy", standin)
    gpu = cupy_backend.CupyEngine(EnsembleRunner(magnet, torque, backend="numpy", **run).config)
    gpu.advance(100)
    cpu = EnsembleRunner(magnet, torque, backend="cpu", **run)
    cpu.advance(100)
    for key, value in cpu.get_state().items():
        if key != "config_fingerprint":
            np.testing.assert_array_equal(gpu.get_state()[key], value, err_msg=key)
    monkeypatch.setattr(cupy_backend, "THREADS_PER_BLOCK", 64)  # grid computed for 64, launch bounds 128
    with pytest.raises(RuntimeError, match="does not cover"):
        gpu.kernel((1,), (64,), tuple(gpu._arguments(100, 1)))

"""The complex digamma of the CuPy backend (gpuqd/transport/digamma.cuh): the same C source compiled for
the host by g++ and compared with SciPy on the range the transport needs; the CUDA build is
compile-checked with nvcc --ptx (skipped without nvcc)."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy.special import psi

from gpuqd.transport.arrays import DIGAMMA_SOURCE

HARNESS = """
#include "{header}"
extern "C" void digamma_array(const double* x, const double* y, double* re, double* im, long n) {{
    for (long k = 0; k < n; ++k) gpuqd_digamma(x[k], y[k], &re[k], &im[k]);
}}
"""


@pytest.fixture(scope="module")
def host_digamma(tmp_path_factory):
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("g++ not available")
    work = tmp_path_factory.mktemp("digamma")
    source = work / "harness.cpp"
    source.write_text(HARNESS.format(header=DIGAMMA_SOURCE.resolve()))
    library = work / "libdigamma.so"
    subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    lib = ctypes.CDLL(str(library))
    pointer = np.ctypeslib.ndpointer(dtype=np.float64, flags="C_CONTIGUOUS")
    lib.digamma_array.argtypes = [pointer, pointer, pointer, pointer, ctypes.c_long]

    def evaluate(z: np.ndarray) -> np.ndarray:
        x, y = np.ascontiguousarray(z.real), np.ascontiguousarray(z.imag)
        re, im = np.empty_like(x), np.empty_like(x)
        lib.digamma_array(x, y, re, im, x.size)
        return re + 1j * im

    return evaluate


def _needed_range() -> np.ndarray:
    """Arguments the transport uses: ½ + iy (first order), 1 + iy (pole sums) with |y| up to (2|ε| + U + |V|)/2πT
    (≈ 1e4 at T/U = 1e-3, |ε̃| = 10U), plus a band Re z ∈ [0.5, 40] around them."""
    y = np.concatenate([-np.logspace(-6, 4.5, 400), [0.0], np.logspace(-6, 4.5, 400), np.linspace(-50, 50, 1001)])
    re = np.concatenate([[0.5, 1.0], np.linspace(0.5, 40.0, 23)])
    return (re[:, None] + 1j * y[None, :]).ravel()


def test_host_build_matches_scipy(host_digamma) -> None:
    z = _needed_range()
    ours, reference = host_digamma(z), psi(z)
    err = np.abs(ours - reference) / np.maximum(1.0, np.abs(reference))
    assert err.max() <= 1e-13, (err.max(), z[np.argmax(err)])


def test_nvcc_compiles_the_kernel_source(tmp_path: Path) -> None:
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc not available")
    source = tmp_path / "digamma_kernel.cu"
    source.write_text(
        f'#include "{DIGAMMA_SOURCE.resolve()}"\n'
        'extern "C" __global__ void digamma_kernel(const double* x, const double* y, double* re, double* im,'
        " long n) {\n"
        "    long k = blockIdx.x * (long)blockDim.x + threadIdx.x;\n"
        "    if (k < n) gpuqd_digamma(x[k], y[k], &re[k], &im[k]);\n"
        "}\n"
    )
    out = tmp_path / "digamma_kernel.ptx"
    result = subprocess.run([nvcc, "--ptx", "-o", str(out), str(source)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "digamma_kernel" in out.read_text()


def test_integrals_with_the_kernel_digamma_equal_scipy_ones(host_digamma, monkeypatch) -> None:
    """The pole-sum integrals with ψ from digamma.cuh (what the CuPy backend uses) equal those with SciPy's ψ."""
    from gpuqd.transport import frequency_integrals as fi
    from gpuqd.transport.kernel import integral_vector

    eps, bias = np.array([-300.0, 200.0, 450.0, 0.0]), np.array([50.0, 100.0, -20.0, 0.0])
    reference = integral_vector(eps, bias, 1000.0, 10.0)
    monkeypatch.setattr(
        fi, "digamma", lambda z, xp: host_digamma(np.asarray(z, dtype=complex).ravel()).reshape(np.shape(z))
    )
    ours = integral_vector(eps, bias, 1000.0, 10.0)
    assert np.abs(ours - reference).max() <= 1e-13 * np.abs(reference).max()

"""Benchmark: transport solve cost per (ε̃, V) point at O(Γ²), all θ of a 7-angle set, one core.

Prints a table and writes benchmarks/results/transport.json. Run: python benchmarks/transport.py
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from gpuqd import __version__  # noqa: E402
from gpuqd.transport import SpinValve, TorqueTable  # noqa: E402
from gpuqd.transport.kernel import kernel_coefficients  # noqa: E402

THETAS = np.array([0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99]) * np.pi
PAPER = dict(U=1000.0, T=10.0, gamma_S=2 / 3, gamma_D=4 / 3, p_S=0.99, p_D=0.99)


def _time(fn, repeats: int = 3) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> dict:
    sv = SpinValve(**PAPER)
    rng = np.random.default_rng(0)
    n_points = 64
    eps = rng.uniform(-0.5, 0.5, n_points) * sv.U
    bias = rng.uniform(-0.5, 0.5, n_points) * sv.U
    rows = []
    t_solve = _time(lambda: sv.solve(eps[:, None], bias[:, None], THETAS[None, :], order=2))
    rows.append(("solve, order 2, 7 angles", t_solve / n_points * 1e3, "ms per (eps, V) point"))
    rows.append(("  = per (eps, V, theta)", t_solve / n_points / THETAS.size * 1e3, "ms"))
    t_kernel = _time(lambda: kernel_coefficients(eps, bias, sv.U, sv.T))
    rows.append(("  of which kernel build (integrals)", t_kernel / n_points * 1e3, "ms per point"))
    coefficients = kernel_coefficients(eps, bias, sv.U, sv.T)
    n_dirs = 1000
    theta = rng.uniform(0, np.pi, n_dirs)
    nd = np.stack([np.sin(theta), 0 * theta, np.cos(theta)], -1)

    def assemble() -> None:
        from gpuqd.transport.spin_valve import stationary_state

        w = sv.generator(np.broadcast_to(coefficients[0], (n_dirs,) + coefficients.shape[1:]), (0, 0, 1), nd)
        stationary_state(w.sum(axis=-3))

    t_assemble = _time(assemble)
    rows.append(("assembly + 6x6 solve, extra direction", t_assemble / n_dirs * 1e6, "us per direction"))
    n_table = 8
    t_table = _time(lambda: TorqueTable.build(sv, eps[:n_table], bias[:1]), repeats=1)
    rows.append(("TorqueTable.build (384 angles)", t_table / n_table * 1e3, "ms per point"))
    width = max(len(r[0]) for r in rows)
    cpu = platform.processor() or platform.machine()
    print(f"gpuqd {__version__} transport benchmark, paper parameters, 1 thread, {cpu}")
    for name, value, unit in rows:
        print(f"{name:<{width}}  {value:10.3f}  {unit}")
    result = {
        "version": __version__,
        "machine": platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "threads": 1,
        "n_points": n_points,
        "thetas_over_pi": (THETAS / np.pi).tolist(),
        "ms_per_point_order2_7_angles": t_solve / n_points * 1e3,
        "ms_per_point_theta": t_solve / n_points / THETAS.size * 1e3,
        "ms_per_point_kernel_build": t_kernel / n_points * 1e3,
        "us_per_extra_direction": t_assemble / n_dirs * 1e6,
        "ms_per_point_table_384": t_table / n_table * 1e3,
        "target_ms_per_point": 20.0,
    }
    out = Path(__file__).resolve().parent / "results" / "transport.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()

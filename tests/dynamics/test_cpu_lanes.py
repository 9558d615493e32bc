"""The vectorised cpu engine (trajectories in the inner loop, kernel/advance.cuh llg_advance_lanes) gives
bit-for-bit the results of the scalar driver (one trajectory at a time, as one CUDA thread) for every
lane count, thread count and instruction set, including ensembles whose size is not a multiple of the
lane count, compacted ensembles (explicit trajectory ids after ``subset``) and sampled trajectories.
The scalar driver itself is checked against the NumPy engine in test_dynamics_kernel_host.py, and the
vectorised one against NumPy below (same tolerance as there: the NumPy engine orders a few FP64
operations differently).
"""

from __future__ import annotations

import numpy as np
import pytest
from ensemble_checks import synthetic_table

from gpuqd.dynamics import ConstantTorque, EnsembleRunner, Macrospin
from gpuqd.dynamics.engines.cpu_engine import default_isa, default_lanes, host_isa

# prime: not a multiple of any lane count below; 64 and 128 lanes run whole blocks (int8 state in place) and a tail
N_TRAJ = 149
CASES = {
    "table": dict(magnet=Macrospin(S=1.0, KV=0.1, alpha=0.2, sigma2=0.01), torque="table"),
    "constant_cubic_ac": dict(
        magnet=Macrospin(
            S=1.2,
            KV=0.2,
            alpha=0.1,
            sigma2=0.004,
            K_cubic=0.05,
            field=(0.01, -0.02, 0.03),
            cubic_axes=np.array([[0.6, 0.8, 0.0], [-0.8, 0.6, 0.0], [0.0, 0.0, 1.0]]),
            ac_field=(0.01, 0.4),
        ),
        torque=ConstantTorque(0.02, 0.015, 0.3),
    ),
    "both_free_table": dict(magnet=Macrospin(S=1.0, KV=0.1, alpha=0.2, sigma2=0.01, free="both"), torque="table"),
}
# (lanes, highest instruction set, threads); instruction sets the CPU lacks fall back to the best it has
VARIANTS = [(1, "auto", 1), (7, "auto", 2), (16, "baseline", 1), (16, "avx2", 2), (64, "avx512", 1), (128, "auto", 2)]


def _runner(case: str, threads: int, sampled: bool) -> EnsembleRunner:
    spec = CASES[case]
    table = spec["torque"] == "table"
    return EnsembleRunner(
        spec["magnet"],
        synthetic_table(64, with_source=spec["magnet"].free == "both") if table else spec["torque"],
        N_TRAJ,
        0.02,
        20.0,
        seed=5,
        backend="cpu",
        initial_theta=np.linspace(0.05, 3.0, N_TRAJ),
        point_index=np.arange(N_TRAJ) % 2 if table else None,
        switch_threshold=0.2,
        average_from=2.0,
        trajectory_offset=500,
        sample_every=25,
        sample_trajectories=[0, 9, 36] if sampled else [],
        threads=threads,
    )


def _run(case: str, threads: int) -> tuple[dict, dict]:
    """Final states after 500 steps: the full ensemble with θ(t) samples of three trajectories, and a
    compacted one (no samples; every third trajectory dropped after 260 steps; runs with samples
    cannot be compacted)."""
    full = _runner(case, threads, sampled=True)
    full.advance(260)
    full.advance(240)
    part = _runner(case, threads, sampled=False)
    part.advance(260)
    part = part.subset(np.arange(N_TRAJ) % 3 != 1)
    part.advance(240)
    return full.get_state(), part.get_state()


def _assert_identical(a: dict, b: dict, label: str) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=f"{label}: {key}")


@pytest.mark.parametrize("case", sorted(CASES))
def test_lanes_threads_and_instruction_sets_are_bit_identical_to_the_scalar_driver(case, monkeypatch) -> None:
    monkeypatch.setenv("GPUQD_CPU_LANES", "0")
    scalar_full, scalar_part = _run(case, threads=1)
    assert np.any(scalar_full["n_switches"] > 0) and np.any(scalar_full["samples"] != 0.0)
    for lanes, isa, threads in VARIANTS:
        monkeypatch.setenv("GPUQD_CPU_LANES", str(lanes))
        monkeypatch.setenv("GPUQD_CPU_ISA", isa)
        full, part = _run(case, threads)
        label = f"{case}, lanes={lanes}, isa={host_isa(default_isa())}, threads={threads}"
        _assert_identical(full, scalar_full, label)
        _assert_identical(part, scalar_part, label + ", compacted")


def test_vectorised_driver_matches_numpy_engine() -> None:
    """Default cpu engine (vectorised, best instruction set) against the NumPy engine, table torque."""
    spec = CASES["table"]
    args = dict(
        initial_theta=np.linspace(0.05, 3.0, N_TRAJ),
        point_index=np.arange(N_TRAJ) % 2,
        switch_threshold=0.2,
        average_from=2.0,
        sample_every=25,
        sample_trajectories=[0, 9, 36],
    )
    table = synthetic_table(64, with_source=False)
    cpu = EnsembleRunner(spec["magnet"], table, N_TRAJ, 0.02, 10.0, seed=5, backend="cpu", **args)
    ref = EnsembleRunner(spec["magnet"], table, N_TRAJ, 0.02, 10.0, seed=5, backend="numpy", **args)
    assert default_lanes() > 1
    cpu.advance(500)
    ref.advance(500)
    a, b = cpu.get_state(), ref.get_state()
    for key in ("n", "sum_theta", "sum_charge_current", "samples"):
        np.testing.assert_allclose(a[key], b[key], rtol=0, atol=1e-9, err_msg=key)
    for key in ("state", "n_switches", "first_switch_step", "last_switch_step", "steps_in_parallel"):
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_bad_lane_and_isa_settings_name_the_variable(monkeypatch) -> None:
    monkeypatch.setenv("GPUQD_CPU_LANES", "129")
    with pytest.raises(ValueError, match="GPUQD_CPU_LANES"):
        default_lanes()
    monkeypatch.setenv("GPUQD_CPU_ISA", "sse9")
    with pytest.raises(ValueError, match="GPUQD_CPU_ISA"):
        default_isa()


@pytest.mark.slow  # compiles one kernel variant into an empty cache
def test_build_falls_back_to_the_baseline_when_the_compiler_rejects_the_variants(monkeypatch, tmp_path) -> None:
    """A compiler without the instruction-set targets: the library is built with the baseline driver only,
    and gives the same numbers."""
    from gpuqd.dynamics import host_build

    reference = _run("table", threads=1)[0]
    real_compile = host_build._compile

    def picky_compile(source: str, flags: list[str], target) -> None:
        if "-DLLG_USE_TABLE=1" in flags and host_build.SINGLE_ISA_FLAG not in flags:
            raise host_build.HostBuildError("simulated: target attribute not supported")
        real_compile(source, flags, target)

    monkeypatch.setenv("GPUQD_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(host_build, "_compile", picky_compile)
    host_build._load.cache_clear()
    try:
        fallback = _run("table", threads=1)[0]
        defines = {"LLG_USE_TABLE": 1, "LLG_BOTH_FREE": 0, "LLG_HAS_CUBIC": 0, "LLG_HAS_AC": 0, "LLG_HAS_NOISE": 1}
        assert [p.name for p in tmp_path.glob("*.so")] == [host_build.library_path(defines, multi_isa=False).name]
    finally:
        host_build._load.cache_clear()
    _assert_identical(fallback, reference, "single-instruction-set build")

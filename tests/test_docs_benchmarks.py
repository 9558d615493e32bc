"""Numbers in README.md (and docs/physics.md) that come from a benchmark must match its JSON under
benchmarks/results/.

Each check finds one README sentence (whitespace-normalised) by a pattern and compares every number
in it with the value in the benchmark's JSON, rounded to the digits written (as tests/test_docs_numbers.py
does for the configs). After re-running a benchmark, update the README sentence; this test says which.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from number_text import NUM, matches

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
README = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())


def _find(pattern: str) -> re.Match:
    match = re.search(pattern, README)
    assert match, f"README: no sentence matching {pattern!r}"
    return match


def _range_matches(low: str, high: str, values: list[float], scale: str = "") -> bool:
    """'A–B·10ⁿ' (the exponent written once, after B) against min and max of ``values``."""
    return matches(low + scale, min(values)) and matches(high + scale, max(values))


def test_kernel_sass_numbers() -> None:
    rows = {r["variant"]: r for r in json.loads((RESULTS / "kernel_sass.json").read_text())}
    table, constant = rows["table"], rows["constant"]
    m = _find(
        r"torque table issues (\d+) instructions per step \((\d+) registers, no spills, (\d+) blocks of "
        r"128 threads per SM, .*?ceiling of " + NUM + r" trajectory-steps/s on an H100 SXM; with constant "
        r"torque (\d+) instructions, " + NUM
    )
    assert int(m.group(1)) == table["instructions_per_step"]
    assert int(m.group(2)) == table["registers"] and table["spill_bytes"] == 0
    assert int(m.group(3)) == table["blocks_per_sm"]
    assert matches(m.group(4), table["ceiling_traj_steps_per_s"])
    assert int(m.group(5)) == constant["instructions_per_step"] and constant["spill_bytes"] == 0
    assert matches(m.group(6), constant["ceiling_traj_steps_per_s"])
    # docs/physics.md §11: the cost of the noise
    physics = " ".join((REPO / "docs" / "physics.md").read_text(encoding="utf-8").split())
    m = re.search(r"the `table` and `table-nonoise` variants differ by (\d+)", physics)
    assert m and int(m.group(1)) == table["instructions_per_step"] - rows["table-nonoise"]["instructions_per_step"]


def test_cpu_engine_numbers() -> None:
    """The README's one-core throughput table (cmtj, numpy, the cpu engine's drivers) at N = 10⁴."""
    report = json.loads((RESULTS / "llg.json").read_text())
    rows = report["results"]

    def row(backend: str, torque: str, variant: str | None = None, threads: int = 1) -> dict:
        found = [
            r
            for r in rows
            if r["backend"] == backend
            and r["torque"] == torque
            and r.get("threads", 1) == threads
            and r.get("n_traj") in (1, 10**4)
            and (variant is None or r.get("variant") == variant)
        ]
        assert len(found) == 1, (backend, torque, variant, threads)
        return found[0]

    cmtj = _find(r"\| cmtj 1\.15 \([^|]*\) \| " + NUM + r" \|")
    assert matches(cmtj.group(1), row("cmtj", "constant")["traj_steps_per_cpu_s"]), "cmtj"
    m = _find(r"\| `numpy` \| " + NUM + r" \| " + NUM + r" \|")
    assert matches(m.group(1), row("numpy", "constant")["traj_steps_per_cpu_s"]), "numpy constant"
    assert matches(m.group(2), row("numpy", "table")["traj_steps_per_cpu_s"]), "numpy table"
    m = _find(r"`GPUQD_CPU_LANES=0`\) \| " + NUM + r" \(([\d.]+)× cmtj\) \| " + NUM + r" \(([\d.]+)× cmtj\) \|")
    for (rate, ratio), torque in zip((m.groups()[:2], m.groups()[2:]), ("constant", "table"), strict=True):
        r = row("cpu", torque, "scalar")
        assert matches(rate, r["traj_steps_per_cpu_s"]) and matches(ratio, r["per_core_vs_cmtj"]), ("scalar", torque)
    for label, variant in (
        ("AVX2 \\+ FMA \\(`GPUQD_CPU_ISA=avx2`\\)", "simd avx2+fma"),
        ("AVX-512 \\(the default on this CPU\\)", "simd avx512"),
    ):
        m = _find(
            label + r" \| " + NUM + r" \(([\d.]+)× cmtj; (\d+) %[^|]*\| " + NUM + r" \(([\d.]+)× cmtj; (\d+) %\) \|"
        )
        g = m.groups()
        for (rate, ratio, peak), torque in zip((g[:3], g[3:]), ("constant", "table"), strict=True):
            r = row("cpu", torque, variant)
            assert matches(rate, r["traj_steps_per_cpu_s"]), (variant, torque)
            assert matches(ratio, r["per_core_vs_cmtj"]), (variant, torque)
            assert matches(peak, 100 * r["fp64_peak_fraction"]), (variant, torque)
    m = _find(r"Two threads keep the per-CPU-second rate \(" + NUM + r" and " + NUM + r"\)")
    assert matches(m.group(1), row("cpu", "constant", threads=2)["traj_steps_per_cpu_s"])
    assert matches(m.group(2), row("cpu", "table", threads=2)["traj_steps_per_cpu_s"])
    m = _find(r"counted in the compiled step \((\d+) constant, (\d+) table;")
    assert (int(m.group(1)), int(m.group(2))) == (
        report["fp64_ops_per_step"]["constant"],
        report["fp64_ops_per_step"]["table"],
    )


def test_transport_numbers() -> None:
    numpy = json.loads((RESULTS / "transport.json").read_text())["results"]["numpy"]
    m = _find(
        r"kernel ([\d.]+) ms per \(ε̃, V\) point; `solve` ([\d.]+) ms per point for 7 angles including "
        r"θ = 0, π; `TorqueTable.build` ([\d.]+) ms per point at 384 nodes, so the 201×201 table of "
        r"`configs/fig2.yaml` takes ([\d.]+) s"
    )
    for written, key in zip(
        m.groups(),
        ("kernel_build_ms_per_point", "solve_ms_per_point_7_angles", "table_ms_per_point_384", "table_201x201_s"),
        strict=True,
    ):
        assert matches(written, numpy[key][0]), key  # [wall, cpu]: the wall median


def test_scaling_numbers() -> None:
    report = json.loads((RESULTS / "scaling-cpu-full.json").read_text())
    rows = report["rows"]
    m = _find(
        r"`python benchmarks/scaling.py --backend cpu --t-end (\d+) --chunk (\d+) --repeats (\d+)`\): "
        r"1 worker ([\d.]+) s, 2 workers ([\d.]+) s, efficiency ([\d.]+), overhead ([\d.]+) s per unit; the "
        r"same ensemble in process on one thread takes ([\d.]+) s"
    )
    g = m.groups()
    assert (float(g[0]), int(g[1]), int(g[2])) == (report["t_end"], report["chunk_steps"], report["repeats"])
    assert matches(g[3], rows["dask_1"]["median_s"]) and matches(g[4], rows["dask_2"]["median_s"])
    assert matches(g[5], rows["dask_2"]["efficiency"])
    assert matches(g[6], report["summary"]["overhead_per_unit_s"])
    assert matches(g[7], rows["local"]["median_s"])


def test_full_table_on_every_core() -> None:
    full = json.loads((RESULTS / "transport_full.json").read_text())["table_201x201_all_cores_s"]
    m = _find(r"built the whole 201×201 table in ([\d.]+) s of CPU time on 2 threads .*? its wall time, ([\d.]+) s,")
    assert matches(m.group(1), full["cpu"]) and matches(m.group(2), full["wall"])

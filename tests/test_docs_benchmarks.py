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

import numpy as np
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
    report = json.loads((RESULTS / "llg.json").read_text())
    rows = report["results"]

    def rates(backend: str, torque: str, threads: int = 1) -> list[float]:
        return [
            r["traj_steps_per_cpu_s"]
            for r in rows
            if r["backend"] == backend and r["torque"] == torque and r["threads"] == threads
        ]

    exp = r"(·10[⁰¹²³⁴⁵⁶⁷⁸⁹]+)"
    pair = r"([\d.]+)–([\d.]+)"
    m = _find(
        rf"trajectory-steps/s per core(?: at N = [^:]*)?: constant torque {pair}{exp} \(NumPy {pair}{exp}\), "
        rf"384-node table {pair}{exp} \(NumPy {pair}{exp}\); 2 threads {pair}× one"
    )
    g = m.groups()
    assert _range_matches(g[0], g[1], rates("cpu", "constant"), g[2]), "cpu constant"
    assert _range_matches(g[3], g[4], rates("numpy", "constant"), g[5]), "numpy constant"
    assert _range_matches(g[6], g[7], rates("cpu", "table"), g[8]), "cpu table"
    assert _range_matches(g[9], g[10], rates("numpy", "table"), g[11]), "numpy table"
    speedups = [r["speedup_vs_1_thread"] for r in rows if r["backend"] == "cpu" and r["threads"] == 2]
    assert _range_matches(g[12], g[13], speedups), "2-thread speed-up"


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


def test_fig2_time_from_the_engine_rate() -> None:
    """The cost-table line for Fig. 2: its trajectory-steps (from the config) at the 2-thread table rate."""
    import yaml

    rows = json.loads((RESULTS / "llg.json").read_text())["results"]
    rate = float(
        np.median(
            [
                r["traj_steps_per_s"]
                for r in rows
                if r["backend"] == "cpu" and r["torque"] == "table" and r["threads"] == 2
            ]
        )
    )
    m = _find(r"at the measured " + NUM + r"/s of the table engine on 2 threads, `benchmarks/llg.py`: ≈ ([\d.]+) h")
    assert matches(m.group(1), rate)
    cfg = yaml.safe_load((REPO / "configs" / "fig2.yaml").read_text())
    points = cfg["grid"]["eps_tilde"]["num"] * cfg["grid"]["V"]["num"]
    steps = cfg["dynamics"]["t_end"] / cfg["dynamics"]["dt"]
    assert matches(m.group(2), points * steps / rate / 3600.0)

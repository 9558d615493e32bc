"""Summary table of benchmarks/gpu_acceptance.sh (standard library only).

Reads the step status file (name, exit code, seconds per line), the step logs and the JSON results
(llg.json, transport.json, kernel_sass.json, gpu_compare.json) and prints one table; exits 1 if a
step failed or the whole run took longer than the 10-minute target.

Usage: python benchmarks/gpu_acceptance_summary.py STATUS_TSV RESULTS_DIR TOTAL_SECONDS
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TIME_TARGET_S = 600
LLG_TARGET = 3e10  # traj-steps/s, table torque, N >= 1e5, H100


def _load(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _log_line(logs: Path, name: str, marker: str) -> str:
    try:
        lines = (logs / f"{name}.log").read_text(errors="replace").splitlines()
    except OSError:
        return ""
    hits = [line.strip() for line in lines if marker in line]
    return hits[-1] if hits else ""


def llg_detail(results: Path) -> str:
    report = _load(results / "llg.json")
    if not isinstance(report, dict):
        return "no llg.json"
    ceilings = {}
    for row in _load(results / "kernel_sass.json") or []:
        if row.get("variant") in ("table", "constant") and row.get("ceiling_traj_steps_per_s"):
            ceilings[row["variant"]] = row["ceiling_traj_steps_per_s"]
    parts = []
    for row in report.get("results", []):
        if row.get("backend") != "cupy":
            continue
        rate = row.get("traj_steps_per_s")
        kind = row.get("torque", "?")
        text = f"{kind} N={row.get('n_traj', 0):.0e}: {rate:.3g}/s"
        if row.get("fraction_of_issue_ceiling") is not None:  # the ceiling of this GPU (SMs, clock)
            text += f" ({100 * row['fraction_of_issue_ceiling']:.0f}% of this GPU's issue ceiling)"
        elif kind in ceilings:  # the H100 SXM ceiling of kernel_sass.json
            text += f" ({100 * rate / ceilings[kind]:.0f}% of the H100 issue ceiling)"
        parts.append(text)
    table_big = [
        r["traj_steps_per_s"]
        for r in report.get("results", [])
        if r.get("backend") == "cupy" and r.get("torque") == "table" and r.get("n_traj", 0) >= 1e5
    ]
    if table_big:
        verdict = "met" if max(table_big) >= LLG_TARGET else "NOT met"
        parts.append(f"target {LLG_TARGET:.0e} (table, N>=1e5) {verdict}")
    return "; ".join(parts) if parts else "no GPU rows in llg.json"


def _gpu_entries(node, path: str = ""):
    """(path, value) of JSON leaves whose path mentions the GPU backend."""
    if isinstance(node, dict):
        tagged = any(str(v).lower() in ("cupy", "gpu") for v in node.values() if isinstance(v, str))
        for key, value in node.items():
            sub = f"{path}.{key}" if path else str(key)
            if tagged and isinstance(value, int | float) and not isinstance(value, bool):
                yield sub, value
            else:
                yield from _gpu_entries(value, sub)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _gpu_entries(value, f"{path}[{i}]")
    elif (
        isinstance(node, int | float)
        and not isinstance(node, bool)
        and any(tag in path.lower() for tag in ("cupy", "gpu"))
    ):
        yield path, node


def transport_detail(results: Path) -> str:
    report = _load(results / "transport.json")
    if report is None:
        return "no transport.json"
    entries = list(_gpu_entries(report))
    if not entries:
        return "no GPU entries in transport.json (CPU numbers only)"
    return "; ".join(f"{k}={v:.3g}" for k, v in entries[:8]) + (" ..." if len(entries) > 8 else "")


def compare_detail(results: Path) -> str:
    report = _load(results / "gpu_compare.json")
    if not isinstance(report, dict):
        return "no gpu_compare.json"
    return " | ".join(f"{r['check']}: {'ok' if r['ok'] else 'FAIL'} ({r['detail']})" for r in report["rows"][1:])


def main(argv: list[str]) -> int:
    status_path, results, total = Path(argv[0]), Path(argv[1]), float(argv[2])
    logs = status_path.parent
    rows = []
    for line in status_path.read_text().splitlines():
        name, rc, seconds = line.split("\t")
        rows.append((name, int(rc), float(seconds)))
    details = {
        "environment": lambda: _log_line(logs, "environment", "CuPy distributions"),
        "device_probe": lambda: (
            _log_line(logs, "device_probe", "device 0:") or _log_line(logs, "device_probe", "Error")
        ),
        "pytest_gpu": lambda: _log_line(logs, "pytest_gpu", "gpu tests:") or _log_line(logs, "pytest_gpu", " in "),
        "kernel_sass": lambda: _log_line(logs, "kernel_sass", "table "),
        "llg_benchmark": lambda: llg_detail(results),
        "transport_benchmark": lambda: transport_detail(results),
        "numpy_vs_cupy": lambda: compare_detail(results),
    }
    ok = all(rc == 0 for _, rc, _ in rows) and {r[0] for r in rows} >= {
        "environment",
        "device_probe",
        "pytest_gpu",
        "llg_benchmark",
        "transport_benchmark",
        "numpy_vs_cupy",
    }
    within = total <= TIME_TARGET_S
    print()
    print(f"{'GPU acceptance':22s} {'result':7s} {'time':>6s}  detail")
    print("-" * 100)
    for name, rc, seconds in rows:
        result = "PASS" if rc == 0 else ("TIMEOUT" if rc == 124 else f"FAIL({rc})")
        detail = details.get(name, lambda: "")() if rc == 0 or name != "environment" else ""
        print(f"{name:22s} {result:7s} {seconds:5.0f}s  {detail}")
    print("-" * 100)
    print(
        f"{'total':22s} {'PASS' if ok and within else 'FAIL':7s} {total:5.0f}s  "
        f"{'all steps passed' if ok else 'a step failed or is missing'}; "
        f"{'within' if within else 'OVER'} the {TIME_TARGET_S} s target"
    )
    return 0 if ok and within else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

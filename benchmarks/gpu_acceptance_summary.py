"""Steps and summary of benchmarks/gpu_acceptance.sh (standard library, plus CuPy for ``probe``).

* ``environment OUT_DIR``: the interpreter, the packages gpuqd uses (importable or not) and the CuPy
  distributions; fails without exactly one CuPy package or without a core dependency.
* ``probe OUT_DIR``: CuPy sees a device, and gpuqd's probe (NVRTC compiles a tiny kernel, it launches and
  returns the right values) passes; writes device.json.
* ``summary OUT_DIR TOTAL_SECONDS``: reads status.tsv (name, exit code, seconds, cap per line), the step
  logs, pytest_gpu.xml, kernel_rates.json, gpu_compare.json and the runs' meta.json; writes ONE
  summary.json, prints a table, exits 1 if a step failed or timed out, a gpu test failed or was skipped
  for a reason the machine does not explain (only a missing dask/distributed is), or the whole run took
  longer than :data:`TIME_TARGET_S`.

Usage: python benchmarks/gpu_acceptance_summary.py {environment|probe|summary} OUT_DIR [TOTAL_SECONDS]
"""

from __future__ import annotations

import importlib
import importlib.metadata as metadata
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

TIME_TARGET_S = 480
STEPS = ("environment", "device_probe", "pytest_gpu", "kernel_rates", "fig2", "quickstart", "switching_times", "fmr")
STEPS += ("cpu_vs_cupy",)
RUNS = ("fig2", "quickstart", "switching_times", "fmr")
CORE = ("numpy", "scipy", "yaml", "rich", "pytest")
OPTIONAL = ("matplotlib", "xarray", "distributed")
#: skip reasons a GPU machine may explain: the optional dask extra is not installed there
EXPLAINED_SKIPS = ("distributed", "dask")


def environment(out_dir: Path) -> int:
    import platform

    cupys = sorted(
        {d.metadata["Name"] for d in metadata.distributions() if (d.metadata["Name"] or "").lower().startswith("cupy")}
    )
    found = {}
    for name in (*CORE, *OPTIONAL, "cupy", "gpuqd"):
        try:
            module = importlib.import_module(name)
            found[name] = getattr(module, "__version__", "?") + f" ({Path(module.__file__ or '?').parent})"
        except Exception as exc:  # noqa: BLE001 - report any import failure
            found[name] = f"missing: {type(exc).__name__}: {exc}"
    info = {"python": platform.python_version(), "executable": sys.executable, "cupy_distributions": cupys}
    info["modules"] = found
    (out_dir / "environment.json").write_text(json.dumps(info, indent=2))
    for key, value in found.items():
        print(f"{key:12s} {value}")
    print("CuPy distributions:", ", ".join(cupys) or "none")
    missing = [m for m in CORE if found[m].startswith("missing")]
    if missing or found["gpuqd"].startswith("missing"):
        print(f"FAIL: missing {', '.join(missing) or 'gpuqd (PYTHONPATH)'}")
        return 1
    if len(cupys) > 1:
        print(f"FAIL: more than one CuPy package installed ({', '.join(cupys)}): uninstall all but one")
        return 1
    if found["cupy"].startswith("missing"):
        print("FAIL: CuPy does not import")
        return 1
    return 0


def probe(out_dir: Path) -> int:
    import cupy

    n = cupy.cuda.runtime.getDeviceCount()
    props = cupy.cuda.runtime.getDeviceProperties(0)
    name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    device = {
        "name": name,
        "devices": n,
        "sm": f"{props.get('major')}{props.get('minor')}",
        "multiprocessors": props.get("multiProcessorCount"),
        "memory_GiB": round(props.get("totalGlobalMem", 0) / 2**30, 1),
        "driver_cuda": cupy.cuda.runtime.driverGetVersion(),
        "runtime_cuda": cupy.cuda.runtime.runtimeGetVersion(),
        "nvrtc": list(cupy.cuda.nvrtc.getVersion()),
        "cupy": cupy.__version__,
    }
    from gpuqd.dynamics.engines import registry as backends  # its probe compiles with NVRTC and launches a tiny kernel

    availability = backends.availability("cupy")
    device["gpuqd_probe"] = availability.detail
    device["tiny_kernel_ok"] = availability.usable
    (out_dir / "device.json").write_text(json.dumps(device, indent=2))
    print(json.dumps(device))
    return 0 if device["tiny_kernel_ok"] and n > 0 else 1


def _load(path: Path) -> object:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def pytest_counts(xml_path: Path) -> dict:
    """Counts of the gpu test run and every skip with its reason; ``explained``: all skips are."""
    try:
        root = ET.parse(xml_path).getroot()
    except (OSError, ET.ParseError):
        return {"error": f"no {xml_path.name}"}
    cases = list(root.iter("testcase"))
    skips, failures = [], []
    for case in cases:
        name = f"{case.get('classname')}::{case.get('name')}"
        for child in case:
            if child.tag == "skipped":
                # a module skipped at collection has "collection skipped" as its message and the
                # reason (e.g. pytest.importorskip's) only in the element's text
                reason = " ".join(part for part in (child.get("message", ""), child.text or "") if part)
                skips.append({"test": name, "reason": reason})
            elif child.tag in ("failure", "error"):
                failures.append({"test": name, "kind": child.tag, "message": (child.get("message") or "")[:300]})
    explained = all(any(word in s["reason"].lower() for word in EXPLAINED_SKIPS) for s in skips)
    seconds = sum(float(s.get("time", 0)) for s in root.iter("testsuite"))
    return {
        "collected": len(cases),
        "passed": len(cases) - len(skips) - len(failures),
        "failed": len(failures),
        "skipped": len(skips),
        "skips": skips,
        "failures": failures,
        "skips_explained": explained,
        "seconds": seconds,
    }


def run_summary(run_dir: Path, wall: float | None) -> dict:
    """Stage split of one run from its meta.json; start-up = wall of the command − the stages."""
    meta = _load(run_dir / "meta.json")
    if not isinstance(meta, dict):
        return {"error": f"no {run_dir}/meta.json"}
    stages = {name: s.get("wall_s") for name, s in meta.get("stages", {}).items()}
    out = {"status": meta.get("status"), "backend": meta.get("backend"), "wall_s": wall, "stages_s": stages}
    out["throughput"] = meta.get("throughput", {})
    if wall is not None:
        out["startup_and_exit_s"] = round(wall - sum(v for v in stages.values() if v), 3)
    return out


def summary(out_dir: Path, total: float) -> int:
    rows = []
    for line in (out_dir / "status.tsv").read_text().splitlines():
        name, rc, seconds, cap = line.split("\t")
        rows.append({"step": name, "rc": int(rc), "seconds": float(seconds), "cap_s": float(cap)})
    by_name = {r["step"]: r for r in rows}
    tests = pytest_counts(out_dir / "pytest_gpu.xml")
    report = {
        "machine": _load(out_dir / "device.json"),
        "environment": _load(out_dir / "environment.json"),
        "steps": rows,
        "pytest_gpu": tests,
        "kernel_rates": _load(out_dir / "kernel_rates.json"),
        "runs": {n: run_summary(out_dir / "runs" / n, by_name.get(n, {}).get("seconds")) for n in RUNS},
        "cpu_vs_cupy": _load(out_dir / "gpu_compare.json"),
        "total_s": total,
        "time_target_s": TIME_TARGET_S,
        "caps_total_s": sum(r["cap_s"] for r in rows),
    }
    problems = [f"step {r['step']} exit {r['rc']}" for r in rows if r["rc"] != 0]
    problems += [f"step {s} missing" for s in STEPS if s not in by_name]
    if tests.get("failed") or "error" in tests:
        problems.append(f"gpu tests: {tests.get('failed', tests.get('error'))} failed")
    if not tests.get("skips_explained", False):
        problems.append("gpu tests skipped for a reason the machine does not explain")
    if total > TIME_TARGET_S:
        problems.append(f"took {total:.0f} s > {TIME_TARGET_S} s")
    report["problems"], report["passed"] = problems, not problems
    (out_dir / "summary.json").write_text(json.dumps(report, indent=2))

    print(f"\n{'GPU acceptance':18s} {'result':8s} {'time':>9s}  detail")
    for r in rows:
        result = "PASS" if r["rc"] == 0 else ("TIMEOUT" if r["rc"] in (124, 137) else f"FAIL({r['rc']})")
        detail = ""
        if r["step"] == "pytest_gpu" and "collected" in tests:
            detail = f"{tests['passed']} passed, {tests['failed']} failed, {tests['skipped']} skipped"
        elif r["step"] in RUNS:
            run = report["runs"][r["step"]]
            detail = ", ".join(f"{k} {v:.1f}s" for k, v in run.get("stages_s", {}).items() if v is not None)
        elif r["step"] == "kernel_rates" and isinstance(report["kernel_rates"], dict):
            detail = "; ".join(
                f"{x['torque']} N={x['n_traj']:.0e} {x['traj_steps_per_s']:.3g}/s"
                for x in report["kernel_rates"]["results"]
            )
        print(f"{r['step']:18s} {result:8s} {r['seconds']:5.0f}/{r['cap_s']:3.0f}s  {detail}")
    print(f"{'total':18s} {'PASS' if not problems else 'FAIL':8s} {total:5.0f}s      {'; '.join(problems)}")
    print(f"summary: {out_dir / 'summary.json'}")
    return 0 if not problems else 1


def main(argv: list[str]) -> int:
    command, out_dir = argv[0], Path(argv[1])
    if command == "environment":
        return environment(out_dir)
    if command == "probe":
        return probe(out_dir)
    if command == "summary":
        return summary(out_dir, float(argv[2]))
    raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

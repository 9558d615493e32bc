"""Static throughput of the fused LLG kernel on sm_90 (H100), without a GPU.

Every compile-time variant of the kernel (the ``LLG_*`` switches of the CuPy engine) is compiled
with ``nvcc -cubin -arch=sm_90`` and disassembled (``cuobjdump -sass``, else ``nvdisasm``). For each
variant the script reports

* registers and spill bytes (ptxas ``-v``),
* blocks per SM at the engine's threads per block (sm_90 limits: 64 K registers in four
  sub-partitions, allocated per warp in units of 256; 2048 threads, 32 blocks, 228 KB shared
  memory per SM, 1 KB reserved per block),
* instructions per step: the static count of SASS instructions between the step loop's head and
  its back edge (the conditional backward branch spanning the most code), NOPs excluded. Code that
  runs only on rare steps but sits inside the loop (switch bookkeeping, θ samples, slow paths of
  division and sqrt placed inline) is counted, so this is an upper bound on the instructions a
  thread issues in a typical step,
* the issue-bound ceiling 132 SM × 128 thread-instructions/clock × 1.98 GHz / (instructions per
  step) of an H100 SXM, and the FP64-pipe ceiling 132 × 64 × 1.98 GHz / (FP64 instructions per
  step).

It prints one table and writes ``benchmarks/results/kernel_sass.json`` (a list of objects with the
keys ``variant``, ``registers``, ``spill_bytes``, ``instructions_per_step``, ``blocks_per_sm``,
``ceiling_traj_steps_per_s`` and a few more). ``cuobjdump`` / ``nvdisasm`` are looked up in
``$GPUQD_CUDA_TOOLS`` (a directory), on ``PATH``, and in an installed ``nvidia`` wheel; without
either the instruction counts are ``null`` and only ptxas data is reported.

Usage: python benchmarks/kernel_sass.py [--variants table,constant,...] [--out PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from gpuqd.dynamics import kernel_source
from gpuqd.dynamics.engines import cupy_engine as cupy_backend

RESULTS = Path(__file__).resolve().parent / "results" / "kernel_sass.json"
ARCH = "sm_90"
# H100 SXM (sm_90)
N_SM = 132
CLOCK_HZ = 1.98e9
ISSUE_PER_CLOCK = 128  # 4 schedulers × 32 threads
FP64_PER_CLOCK = 64
REGS_PER_SM = 65536
SUB_PARTITIONS = 4
REG_ALLOC_UNIT = 256  # registers per warp are allocated in multiples of this
MAX_THREADS_PER_SM = 2048
MAX_BLOCKS_PER_SM = 32
SMEM_PER_SM = 228 * 1024
SMEM_RESERVED_PER_BLOCK = 1024
WARP = 32
# ensemble size at which the wave count is reported (one trajectory per thread)
N_REFERENCE = 100_000

# compile-time switches of the kernel
SWITCHES = kernel_source.VARIANT_MACROS


def variant_name(defines: dict[str, int]) -> str:
    """'table' / 'constant', then '-both', '-cubic', '-ac', '-nonoise' as switched."""
    parts = ["table" if defines["LLG_USE_TABLE"] else "constant"]
    for key, label in (("LLG_BOTH_FREE", "both"), ("LLG_HAS_CUBIC", "cubic"), ("LLG_HAS_AC", "ac")):
        if defines[key]:
            parts.append(label)
    if not defines["LLG_HAS_NOISE"]:
        parts.append("nonoise")
    return "-".join(parts)


def all_variants() -> dict[str, dict[str, int]]:
    """Every combination of the compile-time switches, by name."""
    out = {}
    for bits in itertools.product((1, 0), repeat=len(SWITCHES)):
        defines = dict(zip(SWITCHES, bits, strict=True))
        out[variant_name(defines)] = defines
    return out


def blocks_per_sm(registers: int, threads_per_block: int, smem_bytes: int = 0) -> int:
    """Resident blocks per SM on sm_90 for a kernel with this register and shared-memory use."""
    warps = -(-threads_per_block // WARP)
    limits = [MAX_BLOCKS_PER_SM, MAX_THREADS_PER_SM // (warps * WARP)]
    if registers > 0:
        regs_per_warp = -(-registers * WARP // REG_ALLOC_UNIT) * REG_ALLOC_UNIT
        warps_by_regs = SUB_PARTITIONS * ((REGS_PER_SM // SUB_PARTITIONS) // regs_per_warp)
        limits.append(warps_by_regs // warps)
    if smem_bytes > 0:
        limits.append(SMEM_PER_SM // (smem_bytes + SMEM_RESERVED_PER_BLOCK))
    return max(0, min(limits))


# ---------------------------------------------------------------------------------------- tools
def _wheel_tool(name: str) -> str | None:
    spec = importlib.util.find_spec("nvidia")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        for path in sorted(Path(root).glob(f"*/bin/{name}")):
            if os.access(path, os.X_OK):
                return str(path)
    return None


def find_tool(name: str) -> str | None:
    """Path of a CUDA binary utility: $GPUQD_CUDA_TOOLS/name, PATH, or an installed nvidia wheel."""
    folder = os.environ.get("GPUQD_CUDA_TOOLS")
    if folder and os.access(Path(folder) / name, os.X_OK):
        return str(Path(folder) / name)
    return shutil.which(name) or _wheel_tool(name)


def disassembler() -> list[str] | None:
    """Command prefix that prints the SASS of a cubin, or None."""
    tool = find_tool("cuobjdump")
    if tool:
        return [tool, "-sass"]
    tool = find_tool("nvdisasm")
    if tool:
        return [tool]
    return None


# ---------------------------------------------------------------------------------------- compile
def compile_cubin(defines: dict[str, int], out: Path) -> str:
    """Compile one variant (the bundled source CuPy hands to NVRTC) to ``out``; returns the ptxas -v log."""
    source = out.with_suffix(".cu")
    source.write_text(kernel_source.bundled_source())
    cmd = [
        "nvcc",
        "-cubin",
        f"-arch={ARCH}",
        *cupy_backend.NVRTC_OPTIONS,
        "-Xptxas",
        "-v",
        *kernel_source.variant_flags(defines),
        str(source),
        "-o",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"nvcc failed for {defines}:\n{proc.stderr}")
    return proc.stdout + proc.stderr


def parse_ptxas(log: str, function: str) -> dict[str, int]:
    """registers, spill_bytes (stores + loads), stack_bytes, smem_bytes of ``function`` from ptxas -v."""
    lines = log.splitlines()
    start = next(
        (i for i, line in enumerate(lines) if "Compiling entry function" in line and f"'{function}'" in line),
        None,
    )
    if start is None:
        raise ValueError(f"ptxas log has no entry function {function!r}")
    info: dict[str, int] = {"registers": 0, "spill_bytes": 0, "stack_bytes": 0, "smem_bytes": 0}
    for line in lines[start + 1 :]:
        if "Compiling entry function" in line:
            break
        if f"Function properties for {function}" in line:
            continue
        if m := re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", line):
            info["stack_bytes"] = int(m.group(1))
            info["spill_bytes"] = int(m.group(2)) + int(m.group(3))
        if m := re.search(r"Used (\d+) registers", line):
            info["registers"] = int(m.group(1))
            if s := re.search(r"(\d+) bytes smem", line):
                info["smem_bytes"] = int(s.group(1))
            break
    return info


# ---------------------------------------------------------------------------------------- SASS
@dataclass(frozen=True)
class Instruction:
    address: int
    predicated: bool
    opcode: str
    operands: str


_LINE = re.compile(r"^\s*/\*([0-9a-f]{4,})\*/\s+(@!?U?P[T0-9]+\s+)?([A-Z][A-Z0-9_.]*)\s*([^;]*);")
_LABEL = re.compile(r"^\s*(\.L_x_\d+):")
_FUNCTION = re.compile(r"(?:Function : |\.text\.)(\w+)")


def parse_sass(text: str, function: str) -> list[Instruction]:
    """Instructions of ``function`` (cuobjdump -sass or nvdisasm output); label targets resolved."""
    out: list[Instruction] = []
    labels: dict[str, int] = {}
    pending: list[str] = []
    inside = False
    for line in text.splitlines():
        header = _FUNCTION.search(line) if ("Function :" in line or line.startswith(".text.")) else None
        if header:
            inside = header.group(1) == function
            continue
        if not inside:
            continue
        if m := _LABEL.match(line):
            pending.append(m.group(1))
            continue
        if m := _LINE.match(line):
            address = int(m.group(1), 16)
            for label in pending:
                labels[label] = address
            pending.clear()
            out.append(Instruction(address, m.group(2) is not None, m.group(3), m.group(4).strip()))
    if labels:
        out = [
            Instruction(
                i.address,
                i.predicated,
                i.opcode,
                re.sub(r"`?\((\.L_x_\d+)\)`?", lambda m: hex(labels[m.group(1)]), i.operands),
            )
            for i in out
        ]
    return out


def _branch_target(ins: Instruction) -> int | None:
    if not ins.opcode.startswith("BRA"):
        return None
    m = re.search(r"0x([0-9a-f]+)\s*$", ins.operands)
    return int(m.group(1), 16) if m else None


def step_loop(instructions: list[Instruction]) -> list[Instruction]:
    """Instructions of the step loop: from the target of the conditional backward branch spanning the
    most code to that branch, NOPs excluded; empty if there is no such branch."""
    best = None
    for ins in instructions:
        target = _branch_target(ins)
        if target is not None and ins.predicated and target < ins.address:
            span = ins.address - target
            if best is None or span > best[1] - best[0]:
                best = (target, ins.address)
    if best is None:
        return []
    return [i for i in instructions if best[0] <= i.address <= best[1] and i.opcode != "NOP"]


def is_fp64(opcode: str) -> bool:
    """FP64-pipe instructions: DADD, DFMA, DMUL, DSETP, DMNMX and conversions/MUFU touching F64."""
    base = opcode.split(".")[0]
    return base in ("DADD", "DFMA", "DMUL", "DSETP", "DMNMX") or ".F64" in opcode or "64H" in opcode


# ---------------------------------------------------------------------------------------- analysis
def analyse(name: str, defines: dict[str, int], workdir: Path, disasm: list[str] | None) -> dict:
    """One JSON row for a kernel variant."""
    cubin = workdir / f"{name}.cubin"
    log = compile_cubin(defines, cubin)
    function = cupy_backend.KERNEL_NAME
    info = parse_ptxas(log, function)
    threads = cupy_backend.THREADS_PER_BLOCK
    blocks = blocks_per_sm(info["registers"], threads, info["smem_bytes"])
    row: dict = {
        "variant": name,
        "defines": defines,
        "registers": info["registers"],
        "spill_bytes": info["spill_bytes"],
        "stack_bytes": info["stack_bytes"],
        "threads_per_block": threads,
        "blocks_per_sm": blocks,
        "waves_at_1e5": math.ceil(math.ceil(N_REFERENCE / threads) / max(1, blocks * N_SM)),
        "instructions_per_step": None,
        "fp64_instructions_per_step": None,
        "ceiling_traj_steps_per_s": None,
        "fp64_ceiling_traj_steps_per_s": None,
    }
    if disasm is not None:
        proc = subprocess.run([*disasm, str(cubin)], capture_output=True, text=True, check=True)
        loop = step_loop(parse_sass(proc.stdout, function))
        if loop:
            n_instr = len(loop)
            n_fp64 = sum(is_fp64(i.opcode) for i in loop)
            row["instructions_per_step"] = n_instr
            row["fp64_instructions_per_step"] = n_fp64
            row["ceiling_traj_steps_per_s"] = N_SM * ISSUE_PER_CLOCK * CLOCK_HZ / n_instr
            row["fp64_ceiling_traj_steps_per_s"] = N_SM * FP64_PER_CLOCK * CLOCK_HZ / max(n_fp64, 1)
    return row


def run(names: list[str] | None = None, out: Path | None = RESULTS, workers: int = 2) -> list[dict]:
    """Analyse the named variants (default: all); write JSON to ``out`` unless it is None."""
    variants = all_variants()
    names = list(variants) if names is None else names
    unknown = [n for n in names if n not in variants]
    if unknown:
        raise ValueError(f"unknown variant(s) {unknown}; known: {sorted(variants)}")
    if shutil.which("nvcc") is None:
        raise RuntimeError("nvcc not found on PATH")
    disasm = disassembler()
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=workers) as pool:
        rows = list(pool.map(lambda n: analyse(n, variants[n], Path(tmp), disasm), names))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(rows, indent=2))
    return rows


def format_table(rows: list[dict]) -> str:
    def fmt(value, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    head = (
        f"{'variant':28s} {'regs':>4s} {'spill':>5s} {'blk/SM':>6s} {'waves@1e5':>9s} {'instr/step':>10s} "
        f"{'fp64':>5s} {'issue ceiling':>13s} {'fp64 ceiling':>12s}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['variant']:28s} {r['registers']:4d} {r['spill_bytes']:5d} {r['blocks_per_sm']:6d} "
            f"{r['waves_at_1e5']:9d} {fmt(r['instructions_per_step'], '10d')} "
            f"{fmt(r['fp64_instructions_per_step'], '5d')} {fmt(r['ceiling_traj_steps_per_s'], '13.3g')} "
            f"{fmt(r['fp64_ceiling_traj_steps_per_s'], '12.3g')}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", help="comma-separated variant names (default: all)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    names = args.variants.split(",") if args.variants else None
    disasm = disassembler()
    print(f"nvcc -cubin -arch={ARCH}; disassembler: {disasm[0] if disasm else 'none (ptxas data only)'}")
    rows = run(names, args.out)
    print(format_table(rows))
    print(
        f"ceilings: H100 SXM, {N_SM} SM x {ISSUE_PER_CLOCK} thread-instr/clk (issue) or x {FP64_PER_CLOCK} "
        f"FP64/clk, {CLOCK_HZ / 1e9:.2f} GHz; traj-steps/s"
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

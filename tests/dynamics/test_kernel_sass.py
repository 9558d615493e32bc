"""benchmarks/kernel_sass.py: sm_90 occupancy arithmetic, SASS loop detection, and one real compile.

The compile test needs nvcc only (skipped without it); without cuobjdump/nvdisasm the instruction
counts are None and only the ptxas data is checked.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "kernel_sass.py"


def _module():
    spec = importlib.util.spec_from_file_location("kernel_sass", _PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["kernel_sass"] = module
    spec.loader.exec_module(module)
    return module


ks = _module()


def test_blocks_per_sm_sm90_limits() -> None:
    # 108 registers: 3584 registers per warp, 4 warps per sub-partition → 16 warps → 4 blocks of 128
    assert ks.blocks_per_sm(108, 128) == 4
    # 80 registers: 2560 per warp, 6 per sub-partition → 24 warps → 6 blocks of 128
    assert ks.blocks_per_sm(80, 128) == 6
    assert ks.blocks_per_sm(32, 128) == 16  # thread limit 2048 / 128
    assert ks.blocks_per_sm(16, 32) == 32  # block limit
    assert ks.blocks_per_sm(32, 128, smem_bytes=100 * 1024) == 2  # shared memory
    assert ks.blocks_per_sm(255, 1024) == 0  # does not fit


def test_variant_names() -> None:
    names = ks.all_variants()
    assert len(names) == 2 ** len(ks.SWITCHES)
    assert all(("table" in n) != ("constant" in n) for n in names)
    assert {n for n in names if "both" in n} == {n for n, d in names.items() if d["LLG_BOTH_FREE"]}


SASS = """
        Function : other
        /*0000*/                   BRA 0x0 ;
        Function : kern
        /*0000*/                   MOV R1, c[0x0][0x28] ;
        /*0010*/                   NOP ;
        /*0020*/                   DADD R2, R2, R4 ;
        /*0030*/               @P0 BRA 0x50 ;
        /*0040*/                   DFMA R2, R2, R4, R6 ;
        /*0050*/              @!P1 BRA 0x20 ;
        /*0060*/                   EXIT ;
        /*0070*/                   IADD3 R1, R1, 1, RZ ;
        /*0080*/              @!P5 BRA 0x70 ;
        /*0090*/                   RET.REL.NODEC R8 0x0 ;
"""


def test_step_loop_is_the_widest_backward_branch() -> None:
    instructions = ks.parse_sass(SASS, "kern")
    assert [i.address for i in instructions][:2] == [0x0, 0x10]
    loop = ks.step_loop(instructions)
    assert [i.address for i in loop] == [0x20, 0x30, 0x40, 0x50]
    assert sum(ks.is_fp64(i.opcode) for i in loop) == 2


def test_nvdisasm_labels_are_resolved() -> None:
    text = """
.text.kern:
        /*0000*/                   MOV R1, c[0x0][0x28] ;
.L_x_1:
        /*0010*/                   DMUL R2, R2, R4 ;
        /*0020*/               @P1 BRA `(.L_x_1) ;
        /*0030*/                   EXIT ;
"""
    loop = ks.step_loop(ks.parse_sass(text, "kern"))
    assert [i.address for i in loop] == [0x10, 0x20]


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc")
def test_kernel_sass_runs_on_the_real_kernel(tmp_path) -> None:
    out = tmp_path / "kernel_sass.json"
    rows = ks.run(["table", "constant-both"], out=out)
    assert out.exists()
    for row in rows:
        for key in (
            "variant",
            "registers",
            "spill_bytes",
            "instructions_per_step",
            "blocks_per_sm",
            "ceiling_traj_steps_per_s",
        ):
            assert key in row
        assert 16 <= row["registers"] <= 255
        assert row["spill_bytes"] == 0, row  # launch bounds chosen so that no variant spills
        assert row["blocks_per_sm"] == ks.blocks_per_sm(row["registers"], row["threads_per_block"])
        if ks.disassembler() is not None:
            assert 100 < row["instructions_per_step"] < 10_000
            assert row["ceiling_traj_steps_per_s"] == pytest.approx(132 * 128 * 1.98e9 / row["instructions_per_step"])

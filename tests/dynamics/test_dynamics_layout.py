"""The kernel interface declared once in gpuqd.dynamics.layout: the generated header agrees with it, the
kernel uses every declared field, and the engines exchange exactly the declared state."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

from gpuqd.dynamics import ConstantTorque, Macrospin, layout
from gpuqd.dynamics.engine_config import build_config, initial_state
from gpuqd.dynamics.engines.kernel_engine import parameter_block
from gpuqd.dynamics.engines.numpy_engine import NumpyEngine
from gpuqd.dynamics.host_build import BASE_FLAGS, compiler_name
from gpuqd.dynamics.kernel_source import KERNEL_DIR, bundled_source

KERNEL_TEXT = "\n".join(path.read_text() for path in sorted(KERNEL_DIR.glob("*.cuh")) + [KERNEL_DIR / "llg_kernel.cu"])


def _struct_members(header: str, name: str) -> list[tuple[str, int]]:
    body = re.search(r"struct " + name + r" \{(.*?)\};", header, re.S).group(1)
    members = re.findall(r"^\s+[\w ]+? (\w+)(?:\[(\d+)\])?;", body, re.M)
    return [(member, int(size) if size else 1) for member, size in members]


def test_generated_structs_follow_the_declaration() -> None:
    header = layout.generated_header()
    assert _struct_members(header, "LlgParams") == [(p.name, p.size) for p in layout.PARAMS]
    assert _struct_members(header, "LlgTrajState") == [(f.name, f.components) for f in layout.STATE if f.resident]
    assert f"#define LLG_PARAM_COUNT {layout.PARAM_COUNT}" in header
    for macro in ("LLG_KERNEL_PARAMS", "LLG_TRAJECTORY_PARAMS"):
        params = re.search(rf"#define {macro} (.*)", header).group(1).split(", ")
        assert [decl.split()[-1] for decl in params] == [a.name for a in layout.KERNEL_ARGS]


def test_no_layout_is_spelled_out_by_hand_in_the_kernel() -> None:
    """The kernel sources contain no parameter indices, state struct or argument list of their own."""
    assert "struct LlgParams" not in KERNEL_TEXT and "struct LlgTrajState" not in KERNEL_TEXT
    assert not re.search(r"params\s*\+\s*\d", KERNEL_TEXT)
    assert "llg_layout.cuh" in KERNEL_TEXT


def test_every_declared_field_is_used_by_the_kernel() -> None:
    for p in layout.PARAMS:
        assert re.search(rf"\bp\.{p.name}\b", KERNEL_TEXT), f"parameter {p.name} unused by the kernel"
    for f in layout.STATE:
        use = rf"\bs\.{f.name}\b" if f.resident else rf"\bstate_{f.name}\[j\]"
        assert re.search(use, KERNEL_TEXT), f"state field {f.name} unused by the kernel"
    for arg in layout.KERNEL_ARGS:
        if not arg.name.startswith("state_"):
            assert re.search(rf"\b{arg.name}\b", KERNEL_TEXT), f"kernel argument {arg.name} unused"


def test_parameter_block_members_sit_where_python_puts_them(tmp_path) -> None:
    """Compiled with the host compiler: the C struct has the size of the NumPy record and every member
    the offset NumPy gives the field of the same name (the block is copied byte for byte into launches)."""
    header = bundled_source(host=True).split('extern "C"')[0]  # target glue + generated layout + headers
    prints = "\n".join(f'    printf("{p.name} %zu\\n", offsetof(LlgParams, {p.name}));' for p in layout.PARAMS)
    source = tmp_path / "check.cpp"
    source.write_text(
        header
        + "#include <stdio.h>\n#include <stddef.h>\nint main() {\n"
        + prints
        + '\n    printf("size %zu\\n", sizeof(LlgParams));\n    return 0;\n}\n'
    )
    exe = tmp_path / "check"
    flags = [f for f in BASE_FLAGS if f not in ("-shared", "-fPIC")]
    proc = subprocess.run([compiler_name(), *flags, str(source), "-o", str(exe)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"{compiler_name()} could not compile the generated layout:\n{proc.stderr[-2000:]}")
    lines = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()
    c_offsets = dict(zip(lines[0::2], map(int, lines[1::2]), strict=True))
    dtype = layout.params_dtype()
    assert c_offsets.pop("size") == dtype.itemsize == 8 * layout.PARAM_COUNT
    assert c_offsets == {name: dtype.fields[name][1] for name in dtype.names}
    assert ctypes_offsets() == c_offsets


def ctypes_offsets() -> dict[str, int]:
    struct = layout.params_ctypes()
    return {name: getattr(struct, name).offset for name, _ in struct._fields_}


def test_parameter_block_values_by_name() -> None:
    magnet = Macrospin(S=1.2, KV=0.2, alpha=0.1, sigma2=0.002, field=(0.01, -0.02, 0.03), ac_field=(0.01, 0.4))
    cfg = build_config(magnet, ConstantTorque(0.02, 0.015, 0.3), 3, 0.02, 1.0, 0, 0.0, 0.25, None, None, 0, None, None)
    record = parameter_block(cfg)
    assert record.shape == (1,) and record.dtype == layout.params_dtype()
    block = record.view(np.float64)
    at = layout.param_offsets()
    assert block.shape == (layout.PARAM_COUNT,)
    assert block[at["c_prec"]] == 1.2 / (1.2**2 + 0.1**2) and block[at["c_damp"]] == 0.1 / (1.2**2 + 0.1**2)
    assert tuple(block[at["fx"] : at["fx"] + 3]) == (0.01, -0.02, 0.03)
    assert (block[at["ac_amp"]], block[at["ac_omega"]]) == (0.01, 0.4)
    assert (block[at["const_fl"]], block[at["const_dl"]], block[at["const_ic"]]) == (0.02, 0.015, 0.3)
    assert block[at["u_s"]] == 0.25 and block[at["dt"]] == 0.02
    np.testing.assert_array_equal(block[at["axes"] : at["axes"] + 9], np.eye(3).ravel())
    with pytest.raises(ValueError, match="missing"):
        layout.pack_params({"c_prec": 1.0})
    values = {p.name: np.zeros(p.size) for p in layout.PARAMS}
    with pytest.raises(ValueError, match="axes"):
        layout.pack_params({**values, "axes": np.zeros(3)})


def test_engine_states_have_exactly_the_declared_fields() -> None:
    magnet = Macrospin(S=1.0, KV=0.1, alpha=0.2, sigma2=0.01)
    cfg = build_config(
        magnet, ConstantTorque(0.01, 0.01), 4, 0.05, 1.0, 0, [0.0, 1.0, 2.0, 3.0], 0.5, None, None, 0, 5, [1]
    )
    reference = initial_state(cfg)
    assert tuple(reference) == layout.STATE_KEYS
    for f in layout.STATE:
        assert reference[f.name].dtype == np.dtype(f.dtype), f.name
        assert reference[f.name].shape == ((4, 3) if f.components == 3 else (4,)), f.name
    np.testing.assert_array_equal(reference["state"], [1, 1, -1, -1])
    np.testing.assert_array_equal(reference["m"], np.tile([0.0, 0.0, 1.0], (4, 1)))
    assert reference["samples"].shape == (1, 5, len(layout.SAMPLE_COLUMNS))
    state = NumpyEngine(cfg).get_state()
    assert tuple(state) == layout.STATE_KEYS
    for key in layout.STATE_KEYS:
        assert state[key].dtype == reference[key].dtype, key
        np.testing.assert_array_equal(state[key], reference[key], err_msg=key)

"""The one declaration of the kernel interface: parameter block, engine state and kernel arguments.

Everything the fused kernel (``kernel/*.cuh``) and the Python engines exchange is declared here in
order; :func:`generated_header` turns it into the C++ header ``llg_layout.cuh`` at compile time
(never written by hand):

* :data:`PARAMS` — the double parameter block ``struct LlgParams``, passed to the kernel by value (on the
  GPU it sits in the kernel-parameter constant bank, read as instruction operands, not held in
  registers); :func:`pack_params` builds it (a one-element NumPy structured array, :func:`params_dtype`)
  from a name → value mapping, :func:`params_ctypes` is its ctypes twin for the host build.
* :data:`STATE` — the per-trajectory engine state exchanged by ``get_state``/``set_state``
  (``struct LlgTrajState`` + ``llg_state_load``/``llg_state_store`` for the fields held in registers
  through the step loop; the switch bookkeeping, touched only at switch events, is updated in place
  in the ``state_<name>`` arrays); vectors are stored
  component-major (3, n_traj) on the engines' devices and (n_traj, 3) in state dictionaries.
* :data:`SAMPLE_COLUMNS` — the columns of the decimated samples.
* :data:`TABLE_COLUMNS` — the interleaved torque table ``[point][node][column]`` the kernel reads
  (``LLG_TABLE_WIDTH``, ``LLG_TABLE_COL_*``); :func:`pack_table` builds it from a TorqueTable.
* :data:`KERNEL_ARGS` — the argument list of the kernel entry points (``LLG_KERNEL_PARAMS`` /
  ``LLG_KERNEL_ARGS``), with the state pointers ``state_<name>`` in :data:`STATE` order.

Units: energies in Γ, times in 1/Γ (docs/physics.md §6).
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

HEADER_NAME = "llg_layout.cuh"


@dataclass(frozen=True)
class Param:
    """One entry (``size`` doubles) of the parameter block; ``name`` is the LlgParams member."""

    name: str
    size: int
    doc: str


@dataclass(frozen=True)
class StateField:
    """One per-trajectory state array: ``components`` values of ``dtype`` per trajectory.

    ``fill``: initial value(s) (None: computed by :func:`gpuqd.dynamics.engine_config.initial_state`);
    ``only_if``: C macro that must be true for the kernel to read/write it (otherwise the kernel
    uses ``fill`` and leaves the stored array untouched). ``resident``: held in ``LlgTrajState``
    (registers) through the step loop; False: read and written in place at rare events only.
    """

    name: str
    dtype: str
    components: int
    fill: float | int | tuple[float, ...] | None
    doc: str
    only_if: str | None = None
    resident: bool = True


PARAMS: tuple[Param, ...] = (
    Param("c_prec", 1, "S/(S²+α²), precession prefactor of the LL form (1/ħ)"),
    Param("c_damp", 1, "α/(S²+α²), damping prefactor of the LL form (1/ħ)"),
    Param("kv", 1, "uniaxial anisotropy KV (Γ)"),
    Param("fx", 1, "static field x component (Γ)"),
    Param("fy", 1, "static field y component (Γ)"),
    Param("fz", 1, "static field z component (Γ)"),
    Param("ac_amp", 1, "AC drive amplitude h_x (Γ)"),
    Param("ac_omega", 1, "AC drive angular frequency Ω (Γ)"),
    Param("k_cubic", 1, "cubic anisotropy K_cubic (Γ)"),
    Param("axes", 9, "cubic axes, row-major (row i = axis i)"),
    Param("noise_scale", 1, "sqrt(σ²/dt), std. dev. of the thermal field per step (Γ)"),
    Param("dt", 1, "time step (1/Γ)"),
    Param("u_s", 1, "switching threshold u_s on n·n_S"),
    Param("const_fl", 1, "constant field-like torque I_FL (Γ; 0 with a table)"),
    Param("const_dl", 1, "constant damping-like torque I_DL (Γ; 0 with a table)"),
    Param("const_ic", 1, "constant charge current I_C (Γ; 0 with a table)"),
    Param("const_fl_s", 1, "constant source field-like torque FL_S (Γ; 0 with a table or a fixed source)"),
    Param("const_dl_s", 1, "constant source damping-like torque DL_S (Γ; 0 with a table or a fixed source)"),
    Param("table_nodes", 1, "number M of table nodes per point, as a double (the int kernel argument n_theta)"),
    Param("theta_min", 1, "θ_min of the table angle map s(θ) (rad)"),
    Param("theta_min_plus_pi", 1, "θ_min + π of the table angle map s(θ) (rad)"),
    Param("inv_theta_mid", 1, "1/θ_mid of the table angle map s(θ) (1/rad)"),
    Param("inv_map_scale", 1, "1/C, C the normalisation of the table angle map s(θ)"),
)

STATE: tuple[StateField, ...] = (
    StateField("n", "float64", 3, None, "drain direction"),
    StateField("m", "float64", 3, (0.0, 0.0, 1.0), "source direction (e_z unless free='both')", "LLG_BOTH_FREE"),
    StateField("sum_theta", "float64", 1, 0.0, "window sum of θ (rad)"),
    StateField("sum_charge_current", "float64", 1, 0.0, "window sum of I_C (Γ)"),
    StateField("state", "int8", 1, None, "+1 parallel, −1 antiparallel"),
    StateField("n_switches", "int64", 1, 0, "number of hysteretic switches", resident=False),
    StateField("first_switch_step", "int64", 1, -1, "step of the first switch (−1: never)", resident=False),
    StateField("last_switch_step", "int64", 1, 0, "step of the last switch (0: none)", resident=False),
    StateField("steps_in_parallel", "int64", 1, 0, "closed dwell steps in P up to last_switch_step", resident=False),
    StateField(
        "steps_in_antiparallel", "int64", 1, 0, "closed dwell steps in AP up to last_switch_step", resident=False
    ),
)

STATE_BY_NAME: dict[str, StateField] = {f.name: f for f in STATE}

SAMPLE_COLUMNS: tuple[str, ...] = ("theta", "n_x", "n_y", "n_z")

# Interleaved torque table: one row of doubles per (point, node), columns in this order (None: zero
# padding, so every row starts on a 16-byte boundary and pairs of columns load as one double2).
# The drain-only kernel reads (FL, DL) in both Heun stages and I_C only while averaging; with a free
# source the source coefficients (FL_S, DL_S) sit in the second pair (docs/physics.md §6.4).
TABLE_COLUMNS: dict[bool, tuple[str | None, ...]] = {
    False: ("field_like", "damping_like", "charge_current", None),
    True: ("field_like", "damping_like", "source_field_like", "source_damping_like", "charge_current", None),
}

# Keys of get_state/set_state dictionaries: the per-trajectory fields, the samples and the step.
STATE_KEYS: tuple[str, ...] = (*(f.name for f in STATE), "samples", "steps_done")
PER_TRAJECTORY_KEYS: tuple[str, ...] = tuple(f.name for f in STATE)

# C name of the parameter block struct
PARAMS_STRUCT = "LlgParams"
# C types of the kernel arguments: pointer kinds end in "*".
_C_TYPES = {
    "float64": "double",
    "int64": "long long",
    "int32": "int",
    "int8": "signed char",
    "uint64": "unsigned long long",
    "uint32": "unsigned int",
}


@dataclass(frozen=True)
class KernelArg:
    """One kernel argument: a pointer to ``dtype`` (``pointer``; ``const`` if read-only), a scalar, or
    (``dtype`` "LlgParams") the parameter block by value."""

    name: str
    dtype: str
    pointer: bool
    const: bool = False

    @property
    def is_params(self) -> bool:
        return self.dtype == PARAMS_STRUCT

    @property
    def c_decl(self) -> str:
        """Declaration in the entry points (``__grid_constant__``: the GPU reads the by-value block in
        place, in the kernel-parameter bank, even where a reference to it is taken)."""
        if self.is_params:
            return f"const LLG_GRID_CONSTANT {PARAMS_STRUCT} {self.name}"
        ctype = _C_TYPES[self.dtype]
        if self.pointer:
            return f"{'const ' if self.const else ''}{ctype}* __restrict__ {self.name}"
        return f"{ctype} {self.name}"


KERNEL_ARGS: tuple[KernelArg, ...] = (
    KernelArg("params", PARAMS_STRUCT, False, True),  # PARAMS block, by value
    KernelArg("table", "float64", True, True),  # (n_points, 3, n_theta) torque table
    KernelArg("point_index", "int64", True, True),  # (n_traj,) table point of each trajectory
    KernelArg("traj_ids", "int64", True, True),  # (n_traj,) global ids if has_traj_ids
    KernelArg("sample_slot", "int32", True, True),  # (n_traj,) row in samples, −1: not sampled
    *(KernelArg(f"state_{f.name}", f.dtype, True) for f in STATE),
    KernelArg("samples", "float64", True),  # (n_sample_traj, n_samples, SAMPLE_COLUMNS)
    KernelArg("last_norm_sq", "float64", True),  # (n_traj,) |n|² before the last renormalisation
    KernelArg("n_theta", "int32", False),
    KernelArg("n_samples", "int64", False),
    KernelArg("sample_every", "int64", False),
    KernelArg("step_start", "int64", False),
    KernelArg("n_steps", "int32", False),
    KernelArg("average_start", "int64", False),
    KernelArg("traj_offset", "uint64", False),
    KernelArg("has_traj_ids", "int32", False),
    KernelArg("key0", "uint32", False),
    KernelArg("key1", "uint32", False),
    KernelArg("n_traj", "int32", False),
)


def param_offsets() -> dict[str, int]:
    """Offset of each parameter in the block."""
    offsets, at = {}, 0
    for p in PARAMS:
        offsets[p.name] = at
        at += p.size
    return offsets


PARAM_COUNT = sum(p.size for p in PARAMS)


def params_dtype() -> np.dtype:
    """NumPy structured dtype of ``struct LlgParams`` (doubles only: no padding, C layout)."""
    return np.dtype(
        [(p.name, np.float64, (p.size,)) if p.size > 1 else (p.name, np.float64) for p in PARAMS], align=True
    )


@functools.lru_cache(maxsize=1)
def params_ctypes() -> type[ctypes.Structure]:
    """ctypes twin of ``struct LlgParams`` (the host build takes the block by value)."""
    fields = [(p.name, ctypes.c_double * p.size if p.size > 1 else ctypes.c_double) for p in PARAMS]
    return type(PARAMS_STRUCT, (ctypes.Structure,), {"_fields_": fields})


def pack_params(values: Mapping[str, float | np.ndarray | tuple]) -> np.ndarray:
    """The parameter block from ``{name: value}`` (exactly the names of :data:`PARAMS`): a one-element
    array of :func:`params_dtype` (its ``.view(np.float64)`` is the flat block in declaration order)."""
    missing = [p.name for p in PARAMS if p.name not in values]
    extra = sorted(set(values) - {p.name for p in PARAMS})
    if missing or extra:
        raise ValueError(f"parameter block: missing {missing}, unknown {extra}")
    block = np.zeros(1, dtype=params_dtype())
    for p in PARAMS:
        value = np.asarray(values[p.name], dtype=np.float64).ravel()
        if value.size != p.size:
            raise ValueError(f"parameter {p.name!r} needs {p.size} values, got {value.size}")
        block[p.name][0] = value if p.size > 1 else value[0]
    return block


def pack_table(table: Any, both_free: bool) -> np.ndarray:
    """(n_points, n_theta, width) float64 array of ``table`` (a TorqueTable) in :data:`TABLE_COLUMNS` order."""
    columns = TABLE_COLUMNS[bool(both_free)]
    shape = np.shape(table.field_like)
    out = np.zeros((shape[0], shape[1], len(columns)), dtype=np.float64)
    for c, name in enumerate(columns):
        if name is not None:
            values = getattr(table, name)
            if values is None:
                raise ValueError(f"the torque table has no {name!r} (needed with free='both')")
            out[:, :, c] = values
    return out


def state_to_device_layout(field: StateField, values: np.ndarray) -> np.ndarray:
    """(n_traj,) or (n_traj, 3) state array → contiguous engine layout ((n_traj,) or (3, n_traj))."""
    array = np.asarray(values, dtype=field.dtype)
    return np.ascontiguousarray(array.T if field.components > 1 else array)


def state_from_device_layout(field: StateField, values: np.ndarray) -> np.ndarray:
    """Inverse of :func:`state_to_device_layout` (a fresh array)."""
    return np.array(values.T if field.components > 1 else values, dtype=field.dtype)


# ----------------------------------------------------------------------------- header generation
def _param_lines() -> list[str]:
    members = [f"    double {p.name}{f'[{p.size}]' if p.size > 1 else ''};  // {p.doc}" for p in PARAMS]
    return [f"#define LLG_PARAM_COUNT {PARAM_COUNT}", f"struct {PARAMS_STRUCT} {{", *members, "};"]


def _state_member(f: StateField) -> str:
    ctype = _C_TYPES[f.dtype]
    return f"    {ctype} {f.name}{f'[{f.components}]' if f.components > 1 else ''};  // {f.doc}"


def _c_literal(value: float | int | None) -> str:
    if value is None:
        raise ValueError("a kernel state field without a fill value is loaded unconditionally")
    return repr(float(value)) if isinstance(value, float) else str(value)


def _state_access(f: StateField, load: bool) -> list[str]:
    lines = []
    for c in range(f.components):
        member = f"s.{f.name}[{c}]" if f.components > 1 else f"s.{f.name}"
        where = f"state_{f.name}[{c} * (long long)n_traj + j]" if c else f"state_{f.name}[j]"
        lines.append(f"    {member} = {where};" if load else f"    {where} = {member};")
    if f.only_if is None:
        return lines
    guarded = [f"#if {f.only_if}", *lines]
    if load:
        fill = f.fill if isinstance(f.fill, tuple) else (f.fill,)
        members = [f"s.{f.name}[{c}]" if f.components > 1 else f"s.{f.name}" for c in range(f.components)]
        guarded += ["#else", *(f"    {m} = {_c_literal(v)};" for m, v in zip(members, fill, strict=True))]
    return [*guarded, "#endif"]


def _state_lines() -> list[str]:
    params = ", ".join(f"{_C_TYPES[f.dtype]}* __restrict__ state_{f.name}" for f in STATE)
    resident = [f for f in STATE if f.resident]
    load = [line for f in resident for line in _state_access(f, True)]
    store = [line for f in resident for line in _state_access(f, False)]
    unused = [f"    (void)state_{f.name};" for f in STATE if f.only_if is not None or not f.resident]
    # the host lane driver's versions: only the 8-byte resident fields. A narrower one (the int8 state) in
    # its vectorised lane loop would set the loop's vector width (64 lanes of int8 per AVX-512 register:
    # every double then spans 8 registers, and a block of fewer lanes runs its remainder in scalar code);
    # the lane driver (advance.cuh, llg_advance_lanes) passes the P/AP state, the one narrow field, apart.
    wide = [f for f in resident if np.dtype(f.dtype).itemsize == 8]
    narrow = [f for f in resident if np.dtype(f.dtype).itemsize != 8]
    if [f.name for f in narrow] != ["state"]:
        raise AssertionError(f"the host lane driver handles one narrow state field, 'state'; found {narrow}")
    load_wide = [line for f in wide for line in _state_access(f, True)]
    store_wide = [line for f in wide for line in _state_access(f, False)]
    unused_wide = unused + [f"    (void)state_{f.name};" for f in narrow]
    return [
        "struct LlgTrajState {",
        *(_state_member(f) for f in resident),
        "};",
        f"__device__ __forceinline__ void llg_state_load(LlgTrajState& s, int j, int n_traj, {params}) {{",
        *load,
        *unused,
        "}",
        f"__device__ __forceinline__ void llg_state_store(const LlgTrajState& s, int j, int n_traj, {params}) {{",
        *store,
        *unused,
        "}",
        f"__device__ __forceinline__ void llg_state_load_wide(LlgTrajState& s, int j, int n_traj, {params}) {{",
        *load_wide,
        *unused_wide,
        "}",
        f"__device__ __forceinline__ void llg_state_store_wide(const LlgTrajState& s, int j, int n_traj, {params}) {{",
        *store_wide,
        *unused_wide,
        "}",
        "#define LLG_STATE_ARGS " + ", ".join(f"state_{f.name}" for f in STATE),
    ]


def _table_lines() -> list[str]:
    lines = []
    for both, macro in ((True, "#if LLG_BOTH_FREE"), (False, "#else")):
        columns = TABLE_COLUMNS[both]
        lines += [macro, f"#define LLG_TABLE_WIDTH {len(columns)}"]
        lines += [f"#define LLG_TABLE_COL_{name.upper()} {c}" for c, name in enumerate(columns) if name]
    return [*lines, "#endif"]


def generated_header() -> str:
    """Text of ``llg_layout.cuh`` (needs the target macros of ``kernel/target.cuh``)."""
    lines = [
        "// GENERATED by gpuqd/dynamics/layout.py at compile time: do not edit, do not commit.",
        "#pragma once",
        *_param_lines(),
        *_state_lines(),
        f"#define LLG_SAMPLE_WIDTH {len(SAMPLE_COLUMNS)}",
        *_table_lines(),
        "#define LLG_KERNEL_PARAMS " + ", ".join(a.c_decl for a in KERNEL_ARGS),
        "#define LLG_TRAJECTORY_PARAMS "
        + ", ".join(f"const {PARAMS_STRUCT}& {a.name}" if a.is_params else a.c_decl for a in KERNEL_ARGS),
        "#define LLG_KERNEL_ARGS " + ", ".join(a.name for a in KERNEL_ARGS),
    ]
    return "\n".join(lines) + "\n"

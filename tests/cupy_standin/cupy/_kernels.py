"""RawModule / RawKernel / ElementwiseKernel of the stand-in: compiled by the real NVRTC, launched on the host.

Every source is compiled to PTX for sm_80 and sm_90 (:mod:`cupy._nvrtc`); a compile error raises as
CuPy's would. A launch first marshals its arguments exactly as CuPy 14 does (``cupy/cuda/function.pyx``
``_pointer`` and ``cupy/_core/_scalar.pyx`` ``CScalar``): a device array is an 8-byte pointer, a NumPy
array of size one is passed by value (its bytes), a NumPy array of another size is a TypeError, a NumPy
scalar gives its own bytes, a Python ``bool``/``int``/``float``/``complex`` becomes bool/int64 (uint64 at
≥ 2⁶³)/float64/complex128. The driver copies, for each parameter of the compiled kernel, as many bytes as
the PTX ``.entry`` declares: the stand-in requires that every argument's bytes equal that size, that a
by-value record has the declared alignment, that a pointer goes where the kernel dereferences a pointer,
that the block respects the kernel's launch bounds and that the grid covers every element. Then it runs
the host build of the same kernel (:mod:`cupy._host`).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from cupy import _host, _nvrtc
from cupy._array import ndarray, unwrap, wrap

_LD_PARAM = re.compile(r"ld\.param\.u64\s+(%rd\d+),\s*\[([\w$]+)\];")
_CVTA = re.compile(r"cvta\.to\.global\.u64\s+%rd\d+,\s*(%rd\d+);")


class LaunchError(TypeError):
    """A kernel launch whose arguments do not match the compiled kernel's parameters."""


def _pointer_params(ptx: str, entry: str) -> set[str]:
    """Parameters of ``entry`` that its body converts to global addresses (certainly pointers)."""
    start = ptx.find(f".entry {entry}(")
    end = ptx.find(".entry ", start + 1)
    body = ptx[start : end if end > 0 else len(ptx)]
    loaded = {reg: name for reg, name in _LD_PARAM.findall(body)}
    return {loaded[reg] for reg in _CVTA.findall(body) if reg in loaded}


def marshal(value: Any) -> tuple[str, int, int]:
    """(kind, bytes, alignment) of one launch argument as CuPy 14 packs it; kind: pointer | value."""
    if value is None or isinstance(value, ndarray):
        return "pointer", 8, 8
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise TypeError(
                f"You are trying to pass a numpy.ndarray of shape {value.shape} as a kernel parameter. Only "
                "numpy.ndarrays of size one can be passed by value. If you meant to pass a pointer to __global__ "
                "memory, you need to pass a cupy.ndarray instead."
            )
        return "value", value.dtype.itemsize, value.dtype.alignment
    if isinstance(value, bool):
        return "value", 1, 1
    if isinstance(value, int):
        return "value", 8, 8
    if isinstance(value, float):
        return "value", 8, 8
    if isinstance(value, complex):
        return "value", 16, 8
    if isinstance(value, np.generic):
        return "value", value.dtype.itemsize, value.dtype.alignment
    raise TypeError(f"Unsupported type {type(value)}")


class Function:
    """One compiled entry point (``RawModule.get_function``; also what ``RawKernel`` calls)."""

    def __init__(self, name: str, params: tuple[_nvrtc.Param, ...], pointers: set[str], options: tuple) -> None:
        self.name, self.params, self.pointers, self.options = name, params, pointers, tuple(options)
        self.max_threads_per_block = _define(options, "LLG_THREADS_PER_BLOCK", 1024)

    def check(self, grid: tuple, block: tuple, args: tuple) -> None:
        """Raise LaunchError unless the launch is what the compiled kernel expects (module docstring)."""
        if len(args) != len(self.params):
            raise LaunchError(f"{self.name}: {len(args)} arguments for {len(self.params)} kernel parameters")
        for index, (value, param) in enumerate(zip(args, self.params, strict=True)):
            kind, size, align = marshal(value)
            where = f"{self.name} argument {index} ({type(value).__name__})"
            if size != param.size:
                raise LaunchError(f"{where}: CuPy passes {size} bytes, the kernel parameter has {param.size}")
            if kind == "value" and size > 8 and align != param.align:
                raise LaunchError(f"{where}: record alignment {align}, the kernel declares {param.align}")
            if kind == "value" and param.name in self.pointers:
                raise LaunchError(f"{where}: a value where the kernel dereferences a pointer")
        threads = int(np.prod(block))
        if threads > self.max_threads_per_block:
            raise LaunchError(f"{self.name}: {threads} threads per block, launch bounds {self.max_threads_per_block}")

    def __call__(self, grid: tuple, block: tuple, args: tuple, shared_mem: int = 0, stream: Any = None) -> None:
        grid, block, args = tuple(grid), tuple(block), tuple(args)
        self.check(grid, block, args)
        _host.launch(self.name, self.options, grid, block, args)


def _define(options: tuple, name: str, default: int) -> int:
    for option in options:
        if option.startswith(f"-D{name}="):
            return int(option.split("=", 1)[1])
    return default


class RawModule:
    """``cupy.RawModule(code=..., options=...)``: every entry compiled with NVRTC."""

    def __init__(self, code: str | None = None, path: str | None = None, options: tuple = (), **kwargs: Any) -> None:
        if code is None:
            raise NotImplementedError("the stand-in compiles source code only (code=...)")
        self.options = tuple(options)
        ptx = _nvrtc.compile_ptx(code, self.options)
        self._functions = {
            name: Function(name, params, _pointer_params(ptx, name), self.options)
            for name, params in _nvrtc.entry_params(ptx).items()
        }

    def get_function(self, name: str) -> Function:
        if name not in self._functions:
            raise RuntimeError(f"CUDA_ERROR_NOT_FOUND: named symbol not found: {name}")
        return self._functions[name]


class RawKernel:
    """``cupy.RawKernel(code, name, options=...)``."""

    def __init__(self, code: str, name: str, options: tuple = (), **kwargs: Any) -> None:
        self._function = RawModule(code=code, options=options).get_function(name)

    def __call__(self, grid: tuple, block: tuple, args: tuple, **kwargs: Any) -> None:
        self._function(grid, block, args, **kwargs)


_C_TYPES = {
    "float64": "double",
    "float32": "float",
    "int64": "long long",
    "int32": "int",
    "uint32": "unsigned int",
    "uint64": "unsigned long long",
    "bool": "bool",
    "complex128": "complex<double>",
}
#: Enough of CuPy's ``complex<T>`` for the compile check and the host build of an elementwise operation.
COMPLEX_SHIM = """
template <typename T> struct complex {
    T re_, im_;
    GPUQD_SHIM complex(T re = 0, T im = 0) : re_(re), im_(im) {}
    GPUQD_SHIM T real() const { return re_; }
    GPUQD_SHIM T imag() const { return im_; }
};
"""


def _declarations(params: str) -> list[tuple[str, str]]:
    out = []
    for part in params.split(","):
        dtype, name = part.split()
        if dtype not in _C_TYPES:
            raise NotImplementedError(f"the stand-in's ElementwiseKernel has no type {dtype!r}")
        out.append((dtype, name))
    return out


def elementwise_source(inputs: str, outputs: str, operation: str, name: str, preamble: str, device: bool) -> str:
    """A kernel (device) or an ``extern "C"`` loop (host) applying ``operation`` element by element."""
    ins, outs = _declarations(inputs), _declarations(outputs)
    pointers = [f"const {_C_TYPES[t]}* in_{n}" for t, n in ins] + [f"{_C_TYPES[t]}* out_{n}" for t, n in outs]
    body = [f"const {_C_TYPES[t]} {n} = in_{n}[i];" for t, n in ins] + [
        f"{_C_TYPES[t]}& {n} = out_{n}[i];" for t, n in outs
    ]
    shim = ("#define GPUQD_SHIM __host__ __device__\n" if device else "#define GPUQD_SHIM\n") + COMPLEX_SHIM
    head = f"{shim}\n{preamble}\n"
    signature = ", ".join([*pointers, "long long n"])
    if device:
        return (
            f'{head}extern "C" __global__ void {name}({signature}) {{\n'
            "    const long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;\n    if (i >= n) return;\n"
            f"    {' '.join(body)}\n    {operation}\n}}\n"
        )
    return (
        f'{head}extern "C" void {name}({signature}) {{\n    for (long long i = 0; i < n; ++i) {{\n'
        f"        {' '.join(body)}\n        {operation}\n    }}\n}}\n"
    )


class ElementwiseKernel:
    """``cupy.ElementwiseKernel(in_params, out_params, operation, name, preamble=...)`` for contiguous operands
    of the declared dtypes (what gpuqd uses); outputs are allocated with the broadcast shape."""

    def __init__(self, in_params: str, out_params: str, operation: str, name: str = "kernel", **kwargs: Any) -> None:
        self.ins, self.outs = _declarations(in_params), _declarations(out_params)
        preamble = kwargs.get("preamble", "")
        device = elementwise_source(in_params, out_params, operation, name, preamble, device=True)
        ptx = _nvrtc.compile_ptx(device, ("--std=c++14",))
        self.params = _nvrtc.entry_params(ptx)[name]
        self.host = _host.build_elementwise(
            elementwise_source(in_params, out_params, operation, name, preamble, False), name
        )

    def __call__(self, *args: Any) -> Any:
        if len(args) != len(self.ins):
            raise TypeError(f"Wrong number of arguments for {len(self.ins)} inputs")
        for value in args:
            if isinstance(value, np.ndarray) and value.ndim > 0:
                raise TypeError(f"Unsupported type {type(value)}")
        hosts = [np.asarray(unwrap(v), dtype=np.dtype(t)) for v, (t, _) in zip(args, self.ins, strict=True)]
        shape = np.broadcast_shapes(*(h.shape for h in hosts))
        hosts = [np.ascontiguousarray(np.broadcast_to(h, shape)) for h in hosts]
        outs = [np.empty(shape, dtype=np.dtype(t)) for t, _ in self.outs]
        self.host(*hosts, *outs)
        return wrap(outs[0] if len(outs) == 1 else tuple(outs))

"""The stand-in's device array: a NumPy array behind the CuPy 14 rules that matter for host/device bugs.

* No implicit conversion to NumPy: ``numpy.asarray(device_array)`` raises TypeError (CuPy's message), so a
  missing ``.get()`` / ``cupy.asnumpy`` fails here as on a GPU.
* CuPy functions, operators and ufuncs reject NumPy arrays (ndim ≥ 1) as operands (CuPy:
  "Unsupported type <class 'numpy.ndarray'>"); conversion functions (``asarray``, ``array``, assignment
  into a device array) accept them.
* Reductions and scalar indexing return 0-d device arrays, as CuPy does (``bool()``, ``float()``,
  ``int()`` work on them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

IMPLICIT_CONVERSION = (
    "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy array explicitly."
)


def wrap(value: Any) -> Any:
    """NumPy results → device arrays (scalars → 0-d arrays); tuples/lists element-wise."""
    if isinstance(value, np.ndarray):
        return ndarray._from_host(value)
    if isinstance(value, np.generic):
        return ndarray._from_host(np.asarray(value))
    if isinstance(value, tuple):
        return tuple(wrap(v) for v in value)
    if isinstance(value, list):
        return [wrap(v) for v in value]
    return value


def unwrap(value: Any, host_ok: bool = False) -> Any:
    """Device arrays → their NumPy storage; a NumPy array (ndim ≥ 1) is refused unless ``host_ok``."""
    if isinstance(value, ndarray):
        return value._host
    if isinstance(value, np.ndarray) and value.ndim > 0 and not host_ok:
        raise TypeError(f"Unsupported type {type(value)}")
    if isinstance(value, tuple):
        return tuple(unwrap(v, host_ok) for v in value)
    if isinstance(value, list):
        return [unwrap(v, host_ok) for v in value]
    if isinstance(value, dict):
        return {k: unwrap(v, host_ok) for k, v in value.items()}
    return value


def device_function(function: Callable, host_ok: bool = False) -> Callable:
    """A NumPy function as a CuPy function: device operands in, device results out."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return wrap(function(*unwrap(args, host_ok), **unwrap(kwargs, host_ok)))

    call.__name__ = getattr(function, "__name__", "function")
    call.__doc__ = f"Stand-in for cupy.{call.__name__} (NumPy on the host)."
    return call


# Attributes of the NumPy array that are plain values (returned as they are).
_PLAIN = {"shape", "dtype", "size", "ndim", "itemsize", "nbytes", "strides", "flags"}


class ndarray:  # noqa: N801 - CuPy's name
    """A device array of the stand-in (NumPy storage, CuPy semantics; see the module docstring)."""

    __slots__ = ("_host",)
    __array_priority__ = 100

    def __init__(self, shape: Any, dtype: Any = float, order: str = "C") -> None:
        self._host = np.empty(shape, dtype=dtype, order=order)

    @classmethod
    def _from_host(cls, array: np.ndarray) -> ndarray:
        new = object.__new__(cls)
        new._host = array
        return new

    # ---------------------------------------------------------------- conversions
    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError(IMPLICIT_CONVERSION)

    def get(self, stream: Any = None, order: str = "C", out: np.ndarray | None = None, blocking: bool = True) -> Any:
        """Copy to the host (into ``out`` if given)."""
        if out is not None:
            if out.shape != self._host.shape:
                raise ValueError(f"Shape mismatch: {out.shape} != {self._host.shape}")
            out[...] = self._host
            return out
        return np.array(self._host, order=order)

    def set(self, array: np.ndarray, stream: Any = None) -> None:
        if not isinstance(array, np.ndarray) or array.shape != self._host.shape:
            raise ValueError("set() needs a NumPy array of the same shape")
        self._host[...] = array

    def item(self) -> Any:
        return self._host.item()

    def tolist(self) -> Any:
        return self._host.tolist()

    def __bool__(self) -> bool:
        return bool(self._host)

    def __float__(self) -> float:
        return float(self._host)

    def __int__(self) -> int:
        return int(self._host)

    def __complex__(self) -> complex:
        return complex(self._host)

    def __len__(self) -> int:
        return len(self._host)

    def __iter__(self) -> Any:
        return (wrap(v) for v in self._host)

    def __repr__(self) -> str:
        return f"standin.{self._host!r}"

    # ---------------------------------------------------------------- attributes and methods
    @property
    def T(self) -> ndarray:  # noqa: N802 - NumPy's name
        return wrap(self._host.T)

    @property
    def real(self) -> ndarray:
        return wrap(self._host.real)

    @property
    def imag(self) -> ndarray:
        return wrap(self._host.imag)

    @property
    def data(self) -> Any:
        return _MemoryPointer(self._host.ctypes.data)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # no __array_interface__ / __array_struct__: no implicit conversion
            raise AttributeError(name)
        value = getattr(self._host, name)
        if name in _PLAIN:
            return value
        if callable(value):
            return device_function(value)
        return wrap(value)

    # ---------------------------------------------------------------- indexing
    def __getitem__(self, key: Any) -> Any:
        return wrap(self._host[unwrap(key, host_ok=True)])

    def __setitem__(self, key: Any, value: Any) -> None:
        self._host[unwrap(key, host_ok=True)] = unwrap(value, host_ok=True)

    # ---------------------------------------------------------------- NumPy protocols (as CuPy's)
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        out = kwargs.get("out")
        result = getattr(ufunc, method)(*unwrap(inputs), **unwrap(kwargs))
        if out is not None:
            return out[0] if isinstance(out, tuple) and len(out) == 1 else out
        return wrap(result)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return wrap(func(*unwrap(args), **unwrap(kwargs)))


class _MemoryPointer:
    def __init__(self, ptr: int) -> None:
        self.ptr = ptr


def _binary(name: str) -> Callable:
    def method(self: ndarray, other: Any) -> Any:
        return wrap(getattr(self._host, name)(unwrap(other)))

    method.__name__ = name
    return method


def _unary(name: str) -> Callable:
    def method(self: ndarray) -> Any:
        return wrap(getattr(self._host, name)())

    method.__name__ = name
    return method


for _op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor"):
    for _form in (f"__{_op}__", f"__r{_op}__", f"__i{_op}__"):
        if _form.startswith("__i"):

            def _inplace(self: ndarray, other: Any, _name: str = _form) -> ndarray:
                getattr(self._host, _name)(unwrap(other))
                return self

            setattr(ndarray, _form, _inplace)
        else:
            setattr(ndarray, _form, _binary(_form))
for _form in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__", "__lshift__", "__rshift__"):
    setattr(ndarray, _form, _binary(_form))
for _form in ("__neg__", "__pos__", "__abs__", "__invert__"):
    setattr(ndarray, _form, _unary(_form))
ndarray.__hash__ = None  # type: ignore[assignment]

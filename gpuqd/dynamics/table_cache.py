"""What the engines derive from one torque table, made once per process (and per device) and reused.

A run's torque table is large (Fig. 2: 40 401 points × 384 nodes × 4–6 columns, 0.5–0.75 GB packed), and
its work units each build an :class:`~gpuqd.dynamics.EnsembleRunner` on it (a Dask worker receives the
table once and runs many units). Packing the table into the kernel layout, uploading it to a GPU and
hashing it for the configuration fingerprint are therefore done once per table object and kept here,
keyed by the object's identity and dropped when the table is garbage-collected:

* :func:`packed_table` — the host array in :data:`gpuqd.dynamics.layout.TABLE_COLUMNS` layout;
* :func:`device_table` — that array on the array module ``xp`` (one copy per CUDA device);
* :func:`table_digest` — :func:`gpuqd.dynamics.engine_config.torque_digest` of a table configuration.

A table is treated as immutable once an engine has used it: its coefficient arrays are made read-only
here, so an in-place change raises instead of leaving stale packed copies or digests behind.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np

from gpuqd.dynamics import layout

_DERIVED: dict[int, dict[Hashable, Any]] = {}
#: how many times each kind of derived value was made (tests: once per table, not once per unit)
MADE: dict[str, int] = {"packed": 0, "device": 0, "digest": 0}


def _freeze(table: Any) -> None:
    for name in layout.TABLE_COLUMNS[True]:
        values = getattr(table, name, None) if name else None
        if isinstance(values, np.ndarray):
            values.flags.writeable = False


def derived(table: Any, key: Hashable, make: Callable[[], Any]) -> Any:
    """``make()`` once per (table object, its coefficient arrays, key) in this process: an array assigned
    anew to the table gives a new entry; arrays are read-only once here (no change in place)."""
    entry = _DERIVED.get(id(table))
    if entry is None:
        entry = _DERIVED[id(table)] = {}
        weakref.finalize(table, _DERIVED.pop, id(table), None)
    _freeze(table)
    full_key = (key, tuple(id(getattr(table, name, None)) for name in layout.TABLE_COLUMNS[True] if name))
    if full_key not in entry:
        entry[full_key] = make()
    return entry[full_key]


def packed_table(table: Any, both_free: bool) -> np.ndarray:
    """The table in kernel layout (read-only host array), packed once."""

    def make() -> np.ndarray:
        MADE["packed"] += 1
        packed = layout.pack_table(table, both_free)
        packed.flags.writeable = False
        return packed

    return derived(table, ("packed", bool(both_free)), make)


def device_table(table: Any, both_free: bool, xp: Any) -> Any:
    """:func:`packed_table` on array module ``xp`` (NumPy: the same array; CuPy: uploaded once per device)."""
    if xp is np:
        return packed_table(table, both_free)
    device = int(xp.cuda.Device().id)

    def make() -> Any:
        MADE["device"] += 1
        return xp.asarray(packed_table(table, both_free))

    return derived(table, ("device", xp.__name__, device, bool(both_free)), make)


def table_digest(table: Any, both_free: bool, digest: Callable[[], bytes]) -> bytes:
    """``digest()`` (the fingerprint's hash of the table) once per (table, both_free)."""

    def make() -> bytes:
        MADE["digest"] += 1
        return digest()

    return derived(table, ("digest", bool(both_free)), make)


def clear() -> None:
    """Forget every derived value (tests)."""
    _DERIVED.clear()

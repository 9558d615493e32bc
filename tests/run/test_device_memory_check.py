"""Defect: the memory check of a cupy run compared with host RAM and counted 3 table columns where the
engines hold 4 (6 with a free source; gpuqd.dynamics.layout.TABLE_COLUMNS). Oracles: the column count of
the layout, the byte size of the table the engine actually builds, and a fake device's free memory."""

from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest
from tiny_config import tiny_with

from gpuqd.dynamics import table_cache
from gpuqd.dynamics.layout import TABLE_COLUMNS
from gpuqd.run.config.validate import validate_config
from gpuqd.run.costs.estimate import memory_estimate
from gpuqd.run.costs.model import EstimateError, RunEstimate, check_memory, engine_table_bytes
from gpuqd.transport.torque_table import TorqueTable


def _estimate(free: str, backend: str) -> RunEstimate:
    raw = json.loads(json.dumps(tiny_with(name="m", figures=None)))
    raw["magnet"]["free"] = free
    raw["grid"]["eps_tilde"]["num"] = raw["grid"]["V"]["num"] = 300
    return memory_estimate(validate_config(raw, check_output=False), backend)


@pytest.mark.parametrize(("both_free", "columns"), [(False, 4), (True, 6)])
def test_table_bytes_are_what_the_engine_holds(both_free: bool, columns: int) -> None:
    assert len(TABLE_COLUMNS[both_free]) == columns
    table = TorqueTable.from_functions([lambda th: (np.cos(th), np.sin(th), 1.0 + 0.0 * th)] * 3, n_theta=16)
    if both_free:
        table.source_field_like, table.source_damping_like = table.field_like.copy(), table.damping_like.copy()
    assert engine_table_bytes(3, 16, both_free) == table_cache.packed_table(table, both_free).nbytes


def test_dynamics_stage_counts_the_engine_table() -> None:
    drain, both = (next(s for s in _estimate(f, "numpy").stages if s.name == "dynamics") for f in ("drain", "both"))
    n_points, n_theta = 300 * 300, validate_config(tiny_with(name="m"), check_output=False).transport.n_theta
    # the source columns add 2 × 8 bytes per table node; the per-trajectory terms are the same
    assert both.bytes - drain.bytes == 2 * 8 * n_points * n_theta


def test_cupy_run_is_checked_against_free_device_memory(monkeypatch) -> None:
    monkeypatch.delenv("GPUQD_AVAILABLE_MEMORY", raising=False)
    device_free = 10 * 2**20  # 10 MiB on the device, far less than the host has
    cupy = types.ModuleType("cupy")
    cupy.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(memGetInfo=lambda: (device_free, 2 * device_free)))
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    est = _estimate("drain", "cupy")
    assert est.available_bytes == device_free
    with pytest.raises(EstimateError, match="of device memory is free"):
        check_memory(est)
    assert _estimate("drain", "numpy").available_bytes != device_free

"""Defect: with Dask (and on several GPUs) every work unit re-packed, re-uploaded and re-hashed the whole
torque table (≈ 3 s of host work per unit at Fig. 2 size against 10–50 ms of GPU work). Now the packed
table, its device copy and its digest are made once per table object per process (and device),
gpuqd.dynamics.table_cache; a Dask worker receives the table once (scattered with the work) and keeps
it. Counted with the cache's own counters, in process and in the workers of a local Dask cluster."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import pytest

from gpuqd.dynamics import EnsembleRunner, Macrospin, table_cache
from gpuqd.run.execute.ensemble_units import advance_block
from gpuqd.transport.torque_table import TorqueTable

N_POINTS, TPP = 5, 4


def _table() -> TorqueTable:
    return TorqueTable.from_functions(
        [
            lambda th, a=0.003 * j: (a * np.cos(th), 0.002 * np.sin(th) ** 2 - a, 0.1 + 0.0 * th)
            for j in range(N_POINTS)
        ],
        n_theta=32,
    )


@dataclass(frozen=True)
class _Work:
    """Minimal ensemble work (gpuqd.run.execute.executor.EnsembleWork) over one table; ids 0 … n − 1."""

    torque: TorqueTable
    backend: str = "numpy"
    n_items: int = N_POINTS * TPP
    chunk_steps: int = 50

    def start(self, ids: np.ndarray | None = None) -> EnsembleRunner:
        ids = np.arange(self.n_items, dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64)
        return EnsembleRunner(
            Macrospin(S=1.0, KV=0.05, alpha=0.1, sigma2=0.02),
            self.torque,
            ids.size,
            0.05,
            10.0,
            3,
            self.backend,
            point_index=ids // TPP,
            trajectory_ids=ids,
        )


def _counted_unit(work: _Work, lo: int, hi: int, state: dict | None) -> dict:
    """advance_block plus this process's counts of packed tables and digests made so far."""
    out = advance_block(work, 0, 0, lo, hi, state)
    out["_made"] = np.array([table_cache.MADE["packed"], table_cache.MADE["digest"]])
    return out


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_units_in_one_process_pack_and_hash_the_table_once(backend: str) -> None:
    table_cache.clear()
    before = dict(table_cache.MADE)
    work = _Work(_table(), backend)
    for lo, hi in [(0, 7), (7, 13), (13, 20)]:
        state = None
        for _ in range(4):  # 4 chunks: each unit builds a runner and restores a state (fingerprint check)
            state = _counted_unit(work, lo, hi, state)
    assert table_cache.MADE["packed"] - before["packed"] == 1
    assert table_cache.MADE["digest"] - before["digest"] == 1


def test_table_is_read_only_once_used() -> None:
    table = _table()
    _Work(table).start(np.arange(4)).advance(1)
    with pytest.raises(ValueError, match="read-only"):
        table.field_like[0, 0] = 1.0


@pytest.mark.slow
def test_dask_workers_keep_the_table_for_every_unit() -> None:
    """2 workers, 3 blocks × 4 chunks: in every worker the table is packed and hashed once in all."""
    pytest.importorskip("distributed")
    import cloudpickle

    from gpuqd.run.config.execution_settings import ExecutionSettings
    from gpuqd.run.execute.dask_executor import DaskExecutor
    from gpuqd.run.execute.execution import Job

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module
    executor = DaskExecutor(settings=ExecutionSettings(engine="dask", workers=2))
    blocks = [(0, 7), (7, 13), (13, 20)]
    made: list[np.ndarray] = []

    def on_result(job: Job, state: dict) -> list[Job]:
        made.append(state.pop("_made"))
        chain, link = job.key.split("-")[1:]
        if int(link) == 3:
            return []
        lo, hi = blocks[int(chain)]
        return [Job(f"u-{chain}-{int(link) + 1}", (lo, hi, state))]

    try:
        jobs = [Job(f"u-{c}-0", (lo, hi, None)) for c, (lo, hi) in enumerate(blocks)]
        executor.map_dynamic(_counted_unit, _Work(_table()), jobs, on_result)
    finally:
        executor.close()
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert len(made) == 12
    assert all(int(m[0]) == 1 and int(m[1]) == 1 for m in made), made

"""The executor seam of the run layer: a stage's heavy work split into blocks of trajectory ids (or of
grid rows), shipped as pickles and merged gives results bit-identical to the in-process engine.

``BlockExecutor`` stands in for a distributed executor: ``map`` computes the items in reverse order
(results still returned in item order), ``run_ensemble`` pickles the work, runs ``run_block`` on
uneven blocks of ids in reverse order and merges.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from gpuqd.run.config.validate import validate_config
from gpuqd.run.execute.executor import LocalExecutor, run_block
from gpuqd.run.pipeline import run_pipeline
from gpuqd.run.stages.dynamics import DynamicsWork


class BlockExecutor:
    name = "blocks"

    def __init__(self, cuts: tuple[float, ...] = (0.2, 0.55)) -> None:
        self.cuts = cuts
        self.ensembles = 0

    def map(self, fn, items):  # noqa: ANN001, ANN201
        items = [pickle.loads(pickle.dumps(item)) for item in items]
        done = {k: fn(item) for k, item in reversed(list(enumerate(items)))}
        for k in range(len(items)):
            yield done[k]

    def run_ensemble(self, work, checkpoint, reporter):  # noqa: ANN001, ANN201
        if not hasattr(work, "merge"):
            return LocalExecutor().run_ensemble(work, checkpoint, reporter)
        self.ensembles += 1
        shipped = pickle.loads(pickle.dumps(work))
        ids = np.arange(shipped.n_items)
        blocks = np.split(ids, [int(c * ids.size) for c in self.cuts])
        parts = [run_block(shipped, block, chunk_steps=777) for block in reversed(blocks)]
        return shipped.merge(parts)


def _results(run_dir):
    with np.load(run_dir / "results.npz", allow_pickle=False) as d:
        return {k: d[k] for k in d.files if k not in ("attrs", "README")}


@pytest.mark.parametrize("torque", ["transport", "constant"])
def test_blocks_of_trajectory_ids_give_the_local_results(tmp_path, tiny_config, run_helpers, torque):
    if torque == "constant":
        tiny_config["torque"] = {"model": "constant", "field_like": -0.05, "damping_like": 0.02}
    tiny_config["dynamics"]["trajectories_per_point"] = 3
    tiny_config["figures"]["inset_V"] = [0.4, 0.1, 0.4]  # repeated inset point: duplicate θ(t) rows
    local = run_pipeline(validate_config(tiny_config, runs_dir=str(tmp_path / "a")), make_figures=False)
    executor = BlockExecutor()
    blocks = run_pipeline(
        validate_config(tiny_config, runs_dir=str(tmp_path / "b")), make_figures=False, executor=executor
    )
    assert executor.ensembles == 1
    run_helpers.assert_identical(_results(local), _results(blocks))


def test_dynamics_work_is_small_and_picklable(tiny_config):
    tiny_config["torque"] = {"model": "constant", "field_like": 0.0, "damping_like": 0.0}
    cfg = validate_config(tiny_config, check_output=False)
    work = DynamicsWork(cfg, None, "numpy")
    again = pickle.loads(pickle.dumps(work))
    assert again.cfg == cfg and again.n_items == 9 * 2 and again.cfg.transport.U == 100.0
    part = run_block(again, np.arange(5))
    np.testing.assert_array_equal(part.trajectory_ids, np.arange(5))
    with pytest.raises(ValueError, match="partition"):
        work.merge([part])  # ids 5 .. 17 missing

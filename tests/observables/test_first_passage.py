"""Explicit trajectory ids in the engine and the compacting first-passage driver (NumPy, seconds)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gpuqd.dynamics import ConstantTorque, EnsembleRunner, Macrospin
from gpuqd.observables.first_passage import FirstPassageEnsemble
from gpuqd.transport import TorqueTable

MAGNET = Macrospin(S=1.0, alpha=0.2, KV=0.1, sigma2=0.008)
TORQUE = ConstantTorque(0.03, 0.025, 0.5)


def _run(runner: EnsembleRunner, chunk: int = 700):
    while not runner.done:
        runner.advance(chunk)
    return runner.result()


def test_explicit_ids_equal_to_offset_range_are_bit_identical() -> None:
    args = dict(n_traj=40, dt=0.1, t_end=100.0, seed=4, average_from=50.0, switch_threshold=0.5)
    a = _run(EnsembleRunner(MAGNET, TORQUE, trajectory_offset=1000, **args))
    b = _run(EnsembleRunner(MAGNET, TORQUE, trajectory_ids=np.arange(1000, 1040), **args))
    np.testing.assert_array_equal(a.final_direction, b.final_direction)
    np.testing.assert_array_equal(a.first_passage_time, b.first_passage_time)
    np.testing.assert_array_equal(a.mean_theta, b.mean_theta)
    np.testing.assert_array_equal(b.trajectory_ids, np.arange(1000, 1040))


def test_default_fingerprint_unchanged_by_the_ids_option() -> None:
    """Runs without trajectory_ids keep their config fingerprint (old checkpoints stay resumable)."""
    a = EnsembleRunner(MAGNET, TORQUE, n_traj=3, dt=0.1, t_end=1.0, seed=1)
    b = EnsembleRunner(MAGNET, TORQUE, n_traj=3, dt=0.1, t_end=1.0, seed=1, trajectory_ids=np.arange(3))
    assert a.fingerprint != b.fingerprint
    assert a.fingerprint == EnsembleRunner(MAGNET, TORQUE, n_traj=3, dt=0.1, t_end=1.0, seed=1).fingerprint


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(trajectory_ids=np.arange(3), trajectory_offset=5), "not both"),
        (dict(trajectory_ids=np.arange(4)), "shape"),
        (dict(trajectory_ids=np.array([1, 1, 2])), "distinct"),
        (dict(trajectory_ids=np.array([-1, 0, 2])), r"\[0, 2\*\*63\)"),
        (dict(trajectory_ids=np.array([0.0, 1.0, 2.0])), "integer"),
    ],
)
def test_bad_trajectory_ids_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EnsembleRunner(MAGNET, TORQUE, n_traj=3, dt=0.1, t_end=1.0, seed=1, **kwargs)


def _table() -> TorqueTable:
    return TorqueTable.from_functions(
        [lambda th, a=a: (a + 0.0 * th, 0.02 + 0.0 * th, 1.0 + 0.0 * th) for a in (0.03, -0.01)], n_theta=32
    )


@pytest.mark.slow
@pytest.mark.parametrize("use_table", [False, True])
def test_compacted_run_reproduces_uncompacted_first_passage_bit_for_bit(use_table: bool) -> None:
    n = 300
    ids = 3 * np.arange(n) + 11  # arbitrary, non-contiguous global ids
    theta = np.where(np.arange(n) % 3 == 0, np.pi, 0.0)
    torque = _table() if use_table else TORQUE
    point_index = np.arange(n) % 2 if use_table else None
    common = dict(dt=0.1, t_end=400.0, seed=5, trajectory_ids=ids, initial_theta=theta, point_index=point_index)
    compacted = FirstPassageEnsemble(MAGNET, torque, compaction=True, **common)
    fpt = compacted.run(250)
    full = _run(
        EnsembleRunner(
            MAGNET, torque, n, 0.1, 400.0, 5, initial_theta=theta, point_index=point_index, trajectory_ids=ids
        ),
        chunk=4000,
    )
    np.testing.assert_array_equal(fpt, full.first_passage_time)
    uncompacted = FirstPassageEnsemble(MAGNET, torque, compaction=False, **common)
    np.testing.assert_array_equal(uncompacted.run(250), fpt)
    assert np.isfinite(fpt).sum() > n // 3 and np.isinf(fpt).any()  # both switched and censored ones
    assert compacted.trajectory_steps < 0.8 * uncompacted.trajectory_steps


def test_first_passage_resume_is_bit_identical() -> None:
    ids = np.arange(200) + 50
    args = (MAGNET, TORQUE, 0.1, 300.0, 8, ids, 0.0)
    uninterrupted = FirstPassageEnsemble(*args)
    reference = uninterrupted.run(300)
    first = FirstPassageEnsemble(*args)
    first.advance(300)
    first.advance(300)
    saved = {k: v.copy() for k, v in first.get_state().items()}
    second = FirstPassageEnsemble(*args)
    second.set_state(saved)
    np.testing.assert_array_equal(second.run(300), reference)
    assert second.trajectory_steps == uninterrupted.trajectory_steps


def test_adaptive_rounds_run_in_blocks_of_ids_are_identical():
    """The rounds of an AdaptiveSwitchingRun run as blocks of trajectory ids (any partition, in any order)
    give the same first-passage times and work counts as the run advanced in one batch."""
    from gpuqd.observables.adaptive_switching import AdaptiveSwitchingRun, run_first_passage_block

    magnet = Macrospin(S=1.0, alpha=0.2, KV=0.1, sigma2=0.008)
    torque = ConstantTorque(0.03, 0.025)
    args = (magnet, torque, 3, ["P_to_AP", "AP_to_P"], 0.1, 300.0, 21, 6)
    kw = {"adaptive": True, "target_width": 0.05, "max_per_point": 12, "max_rounds": 3}
    whole = AdaptiveSwitchingRun(*args, **kw)
    while not whole.done:
        whole.advance(400)
    blocks = AdaptiveSwitchingRun(*args, **kw)
    while not blocks.done:
        ids, theta, point_index = blocks.round_work()
        cuts = np.split(np.arange(ids.size), [ids.size // 3, ids.size // 2])
        steps = np.full(ids.size, -2, dtype=np.int64)
        work = 0
        for part in reversed(cuts):
            first, n = run_first_passage_block(
                magnet,
                torque,
                0.1,
                300.0,
                21,
                ids[part],
                theta[part],
                None,
                switch_threshold=0.5,
                backend="numpy",
                compaction=True,
                chunk_steps=400,
            )
            steps[part], work = first, work + n
        blocks.complete_round(steps, work)
    assert whole.round >= 2  # adaptive rounds happened
    np.testing.assert_array_equal(whole.first_passage_matrix(), blocks.first_passage_matrix())
    assert (whole.trajectory_steps, whole.trajectory_steps_uncompacted) == (
        blocks.trajectory_steps,
        blocks.trajectory_steps_uncompacted,
    )


def test_first_passage_ensemble_from_an_ensemble_spec_is_the_field_form() -> None:
    """FirstPassageEnsemble(spec) — explicit ids, or trajectory_offset + arange(n_traj) — gives bit for bit the
    first passages of the field form with the same global ids."""
    from gpuqd.dynamics import EnsembleSpec

    ids = np.arange(40) + 7
    fields = FirstPassageEnsemble(MAGNET, TORQUE, 0.1, 150.0, 3, ids, np.pi / 8, switch_threshold=0.4)
    spec = EnsembleSpec(MAGNET, TORQUE, 40, 0.1, 150.0, 3, initial_theta=np.pi / 8, switch_threshold=0.4)
    by_ids = FirstPassageEnsemble(dataclasses.replace(spec, trajectory_ids=ids))
    by_offset = FirstPassageEnsemble(dataclasses.replace(spec, trajectory_offset=7))
    reference = fields.run(300)
    assert np.isfinite(reference).any()
    np.testing.assert_array_equal(by_ids.run(300), reference)
    np.testing.assert_array_equal(by_offset.run(300), reference)
    np.testing.assert_array_equal(by_offset.trajectory_ids, ids)
    with pytest.raises(TypeError, match="not both"):
        FirstPassageEnsemble(spec, 0.1)


def test_first_passage_threads_reach_the_compacted_cpu_runners(monkeypatch) -> None:
    """``threads`` reaches the cpu engine of the first runner (its compacted subsets share it); results as on
    another thread count."""
    from gpuqd.dynamics.engines import registry
    from gpuqd.dynamics.engines.cpu_engine import CpuEngine

    if "cpu" not in registry.available_backends():
        pytest.skip("cpu backend unusable here")
    built: list[int] = []
    original = CpuEngine.__init__

    def spy(self, cfg, threads=None, **kwargs):  # noqa: ANN001
        original(self, cfg, threads=threads, **kwargs)
        built.append(self.threads)

    monkeypatch.setattr(CpuEngine, "__init__", spy)
    ens = FirstPassageEnsemble(MAGNET, TORQUE, 0.1, 150.0, 3, np.arange(40), backend="cpu", threads=1)
    assert built == [1]
    reference = FirstPassageEnsemble(MAGNET, TORQUE, 0.1, 150.0, 3, np.arange(40), backend="cpu", threads=2)
    np.testing.assert_array_equal(ens.run(300), reference.run(300))
    assert built == [1, 2]

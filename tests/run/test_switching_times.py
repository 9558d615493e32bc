"""Switching-time statistics stage (output ``switching_times``): CLI end to end on a tiny config,
resume bit for bit (also across adaptive rounds), adaptive savings, and the result arrays."""

from __future__ import annotations

import copy
import importlib.util
import json
import signal

import numpy as np
import pytest

from gpuqd.dynamics import ConstantTorque, Macrospin
from gpuqd.observables import switching_stats
from gpuqd.observables.adaptive_switching import AdaptiveSwitchingRun, trajectory_ids_for
from gpuqd.run.execute.checkpoint import KILL_HOOK_ENV
from gpuqd.run.stages.switching_results import VARIABLES as SWITCHING_VARIABLES
from gpuqd.run.store.results import load_run

HAVE_MPL = importlib.util.find_spec("matplotlib") is not None

#: the tiny configuration's transport with a 3×2 grid, warmer magnet, both protocols, adaptive rounds
STATS_SECTIONS = {
    "name": "tiny_stats",
    "grid": {
        "unit": "U",
        "eps_tilde": {"start": -0.3, "stop": 0.3, "num": 3},
        "V": {"start": -0.4, "stop": 0.4, "num": 2},
    },
    "magnet": {"S": 1.0, "KV": 0.01, "alpha": 0.1, "sigma2": 1.0e-3},
    "dynamics": {"dt": 0.05, "t_end": 150.0, "average_from": 20.0},
    "statistics": {
        "protocol": "both",
        "trajectories_per_point": 8,
        "chunk_steps": 300,
        "adaptive": True,
        "target_relative_ci_width": 0.1,
        "max_trajectories_per_point": 24,
        "max_rounds": 3,
        "survival_eps_tilde": 0.0,
        "survival_V": [0.4, -0.4],
    },
    "outputs": ["switching_times"],
    "figures": None,
}


@pytest.fixture
def tiny_stats(make_tiny_config):
    return make_tiny_config(**STATS_SECTIONS)


@pytest.fixture(autouse=True)
def _no_kill_hook(monkeypatch):
    monkeypatch.delenv(KILL_HOOK_ENV, raising=False)


@pytest.mark.slow
def test_switching_times_outputs_and_load_run(tmp_path, capsys, run_helpers, tiny_stats):
    _main, _arrays, _assert_identical = run_helpers.main, run_helpers.arrays, run_helpers.assert_identical
    cfg = run_helpers.write(tmp_path, tiny_stats, "tiny_stats.yaml")
    runs = tmp_path / "runs"
    rc, out, err = _main(
        ["run", str(cfg), "--runs-dir", str(runs), "--quiet"] + ([] if HAVE_MPL else ["--no-figures"]), capsys
    )
    assert rc == 0, err
    run = runs / "tiny_stats"
    assert not (run / "checkpoint").exists()
    meta = json.loads((run / "meta.json").read_text())
    assert "switching_times" in meta["stages"] and "dynamics" not in meta["stages"]
    if HAVE_MPL:
        for stem in ("switching_times_maps", "switching_times_survival"):
            assert (run / "figures" / f"{stem}.png").stat().st_size > 1000
    r = load_run(run)
    _assert_identical(dict(r), _arrays(run))
    for name in SWITCHING_VARIABLES:
        assert name in r, name
        assert r.describe(name) and r.dims(name) == tuple(SWITCHING_VARIABLES[name]["dims"])
        assert np.ndim(r[name]) == len(SWITCHING_VARIABLES[name]["dims"]), name
    assert list(r["switching_protocols"]) == ["P_to_AP", "AP_to_P"]
    n = r["switching_n_trajectories"]
    assert n.shape == (2, 3, 2) and n.min() >= 8 and n.max() <= 24
    np.testing.assert_array_equal(r["switching_round_trajectories"].sum(axis=0), n)
    fpt = r["switching_first_passage_time"]
    np.testing.assert_array_equal((~np.isnan(fpt)).sum(axis=-1), n)
    # the stored maps are the estimators of gpuqd.observables.switching_stats applied to the stored times
    q, i, j = 1, 1, 0
    times = fpt[q, i, j][~np.isnan(fpt[q, i, j])]
    s = switching_stats.summarize(times[None, :], 150.0)
    assert r["switching_mean_time"][q, i, j] == pytest.approx(s["mean_time"][0])
    assert r["switching_rate"][q, i, j] == pytest.approx(s["rate"][0])
    assert r["switching_probability_by_t_end"][q, i, j] == pytest.approx(s["p_switch_by_t_end"][0])
    assert r["switching_probability"].shape == (2, 3, 2, 3)
    assert r["switching_survival"].shape == (2, 2, 401)
    assert np.all(r["switching_survival"][..., 0] == 1.0)
    assert np.all(np.diff(r["switching_survival"], axis=-1) <= 0)
    assert r["switching_histogram_counts"].sum() + r["switching_histogram_censored"].sum() == (
        n[:, [1], [1]].sum() + n[:, [1], [0]].sum()
    )
    assert int(r["switching_trajectory_steps"]) < int(r["switching_trajectory_steps_uncompacted"])


@pytest.mark.slow
def test_switching_times_resume_after_kill_is_bit_identical(tmp_path, capsys, run_helpers, tiny_stats):
    """SIGKILL inside adaptive round 0 and again later: --resume reproduces the uninterrupted run."""
    _main, _arrays, _subprocess = run_helpers.main, run_helpers.arrays, run_helpers.subprocess
    _assert_identical = run_helpers.assert_identical
    runs = tmp_path / "runs"
    cfg = run_helpers.write(tmp_path, tiny_stats, "tiny_stats.yaml")
    base = ["run", str(cfg), "--runs-dir", str(runs), "--quiet", "--no-figures"]
    rc, _, err = _main(base, capsys)
    assert rc == 0, err
    reference = _arrays(runs / "tiny_stats")
    data = copy.deepcopy(tiny_stats)
    data["name"] = "killed"
    cfg2 = run_helpers.write(tmp_path, data, "killed.yaml")
    args = ["run", str(cfg2), "--runs-dir", str(runs), "--quiet", "--no-figures"]
    for kill_after in (2, 3):  # each session writes a few checkpoints, then dies
        p = _subprocess(
            args + (["--resume"] if kill_after > 2 else []), tmp_path, {KILL_HOOK_ENV: f"switching_times:{kill_after}"}
        )
        assert p.returncode == -signal.SIGKILL, p.stderr
        assert (runs / "killed" / "checkpoint" / "switching_state.npz").exists()
    rc, _, err = _main(args + ["--resume"], capsys)
    assert rc == 0, err
    resumed = _arrays(runs / "killed")
    assert int(resumed["switching_round_trajectories"].shape[0]) >= 2  # adaptive rounds happened
    _assert_identical(reference, resumed)


def test_trajectory_ids_do_not_collide() -> None:
    n_points = 7
    ids = [
        trajectory_ids_for(q, np.arange(n_points)[:, None], np.arange(0, 100_000, 7)[None, :], n_points).ravel()
        for q in (0, 1)
    ]
    all_ids = np.concatenate(ids)
    assert np.unique(all_ids).size == all_ids.size and all_ids.min() >= 2**40 and all_ids.max() < 2**63


@pytest.mark.slow
def test_adaptive_rounds_save_trajectories_for_the_same_ci_width() -> None:
    """Points with different switching times: adaptive rounds reach the target with fewer trajectories
    than one fixed N large enough for the slowest-converging point."""
    magnet = Macrospin(S=1.0, alpha=0.2, KV=0.1, sigma2=0.008)
    table_free = ConstantTorque(0.03, 0.025)  # all points share one torque here; the CV ≈ 0.7 sets N
    target = 0.15
    adaptive = AdaptiveSwitchingRun(
        magnet,
        table_free,
        4,
        ["P_to_AP"],
        0.1,
        2000.0,
        21,
        20,
        adaptive=True,
        target_width=target,
        max_per_point=2000,
        max_rounds=10,
    )
    while not adaptive.done:
        adaptive.advance(2000)
    width = adaptive.relative_width(adaptive.summary())
    assert np.all(width <= target)
    used = int(adaptive.n_done.sum())
    fixed_n = int(adaptive.n_done.max())  # the fixed N that would have been needed everywhere
    fixed = AdaptiveSwitchingRun(magnet, table_free, 4, ["P_to_AP"], 0.1, 2000.0, 21, fixed_n)
    while not fixed.done:
        fixed.advance(2000)
    assert np.all(fixed.relative_width(fixed.summary()) <= target * 1.05)
    assert used <= 4 * fixed_n
    # the first N trajectories of a point are the same in both (ids do not depend on the rounds)
    a, b = adaptive.first_passage_matrix(), fixed.first_passage_matrix()
    k = int(adaptive.n_done.min())
    np.testing.assert_array_equal(a[:, :k], b[:, :k])

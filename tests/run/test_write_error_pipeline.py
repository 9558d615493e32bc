"""Pipeline test of the ``write_error`` output on the tiny grid (docs/physics.md §16)."""

from __future__ import annotations

import numpy as np


def _data(make_tiny_config, **section):
    data = make_tiny_config(outputs=["write_error"])
    data["write_error"] = {
        "rest_eps_tilde": -0.3,
        "rest_V": 0.0,
        "write_eps_tilde": -0.3,
        "write_V": -0.4,
        "read_V": 0.4,
        "settle": 2.0,
        "widths": [1.0, 4.0],
        "trajectories": 300,
        "chunk_trajectories": 200,
        "fp_degree": 32,
    } | section
    return data


def test_write_error_output_runs(tmp_path, run_helpers, make_tiny_config, capsys):
    cfg = run_helpers.write(tmp_path, _data(make_tiny_config))
    rc, out, err = run_helpers.main(["run", str(cfg), "--runs-dir", str(tmp_path / "runs"), "-q"], capsys)
    assert rc == 0, err
    arrays = run_helpers.arrays(tmp_path / "runs" / "tiny")
    np.testing.assert_array_equal(arrays["pulse_width"], [1.0, 4.0])
    assert np.all(arrays["write_error_trajectories"] == 300)
    lower, upper = arrays["write_error_rate_lower"], arrays["write_error_rate_upper"]
    assert np.all((lower <= arrays["write_error_rate"]) & (arrays["write_error_rate"] <= upper))
    assert np.all((arrays["write_error_rate_fp"] >= 0) & (arrays["write_error_rate_fp"] <= 1))
    np.testing.assert_allclose(arrays["write_error_points"][:, 0], -30.0)
    assert (tmp_path / "runs" / "tiny" / "figures" / "write_error_vs_width.png").exists()


def test_bad_widths_are_refused_in_one_line(tmp_path, run_helpers, make_tiny_config, capsys):
    cfg = run_helpers.write(tmp_path, _data(make_tiny_config, widths=[4.0, 1.0]))
    rc, out, err = run_helpers.main(["validate", str(cfg)], capsys)
    assert rc == 2
    assert "write_error.widths" in err and len(err.strip().splitlines()) == 1


def test_width_off_the_time_grid_is_refused(tmp_path, run_helpers, make_tiny_config, capsys):
    cfg = run_helpers.write(tmp_path, _data(make_tiny_config, widths=[1.01]))
    rc, out, err = run_helpers.main(["validate", str(cfg)], capsys)
    assert rc == 2
    assert "write_error.widths" in err and "dt" in err


def test_write_error_map_over_the_grid(tmp_path, run_helpers, make_tiny_config, capsys):
    data = _data(make_tiny_config, write_eps_tilde=None, write_V=None, map_width=4.0, trajectories=0)
    cfg = run_helpers.write(tmp_path, data)
    rc, out, err = run_helpers.main(["run", str(cfg), "--runs-dir", str(tmp_path / "runs"), "-q"], capsys)
    assert rc == 0, err
    arrays = run_helpers.arrays(tmp_path / "runs" / "tiny")
    wer_map = arrays["write_error_rate_fp_map"]
    assert wer_map.shape == (3, 3) and np.all((wer_map >= 0) & (wer_map <= 1))
    # the rest point as the write point is no pulse: the magnet stays where it started (up to leakage)
    assert wer_map[0, 1] > 0.99
    assert arrays["write_error_map_width"] == 4.0
    # a map has no write point of its own: no curve, and no curve figure
    assert np.all(np.isnan(arrays["write_error_rate_fp"]))
    assert (tmp_path / "runs" / "tiny" / "figures" / "write_error_map.png").exists()
    assert not (tmp_path / "runs" / "tiny" / "figures" / "write_error_vs_width.png").exists()


def test_rare_event_estimate_for_a_cubic_magnet(tmp_path, run_helpers, make_tiny_config, capsys):
    """Cubic anisotropy has no exact axial answer: the committor-weighted splitting estimate (§16.3) fills
    ``write_error_rate_splitting`` with a finite estimate and standard error; the FP answer is NaN."""
    data = _data(make_tiny_config, trajectories=0, splitting_particles=20, splitting_stages=4, splitting_repeats=2)
    data["magnet"] |= {"anisotropy": "cubic", "K_cubic": 0.002}
    cfg = run_helpers.write(tmp_path, data)
    rc, out, err = run_helpers.main(["run", str(cfg), "--runs-dir", str(tmp_path / "runs"), "-q"], capsys)
    assert rc == 0, err
    arrays = run_helpers.arrays(tmp_path / "runs" / "tiny")
    assert np.all(np.isnan(arrays["write_error_rate_fp"]))
    p, se = arrays["write_error_rate_splitting"], arrays["write_error_rate_splitting_se"]
    assert np.all(np.isfinite(p) & (p >= 0)) and np.all(np.isfinite(se) & (se >= 0))  # unbiased, not clipped

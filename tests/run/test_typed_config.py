"""Typed configuration: frozen sections with attribute access, the Grid, σ² and step counts in one
place each, and the stage registry that assembles the schema."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gpuqd.dynamics.engine_config import STEP_COUNT_RTOL, step_count
from gpuqd.run.config.schema import DEFAULT_SIGMA2
from gpuqd.run.config.typed import Grid, RunConfig, thermal_field_variance
from gpuqd.run.config.validate import validate_config
from gpuqd.run.stages import all_stages, output_names, schema, stages_for


def test_attribute_access_and_frozen(tiny_config):
    cfg = validate_config(tiny_config, check_output=False)
    assert isinstance(cfg, RunConfig)
    assert cfg.transport.U == 100.0 and cfg.magnet.alpha == 0.1 and cfg.dynamics.steps == 2000
    assert cfg.statistics.trajectories_per_point == 100 and cfg.fmr.n_omega == 401  # stage sections
    assert cfg.figures.inset_V == (0.1, 0.175)  # lists become tuples
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.transport.U = 1.0  # type: ignore[misc]
    with pytest.raises(AttributeError):
        cfg.no_such_section  # noqa: B018
    assert cfg.stages == ("transport", "dynamics")


def test_grid_axes_flat_index_and_nearest(tiny_config):
    grid = validate_config(tiny_config, check_output=False).grid
    assert isinstance(grid, Grid)
    np.testing.assert_allclose(grid.eps_tilde, [-30.0, 0.0, 30.0])
    np.testing.assert_allclose(grid.V_over_U, [-0.4, 0.0, 0.4])
    assert grid.shape == (3, 3) and grid.n_points == 9 and grid.flat_index(2, 1) == 7
    assert grid.nearest(25.0, 11.0) == (2, 1)
    idx, req, used = grid.nearest_points(0.2, [0.1, 0.35])
    np.testing.assert_array_equal(idx, [7, 8])
    np.testing.assert_allclose(req, [[0.2, 0.1], [0.2, 0.35]])
    np.testing.assert_allclose(used, [[0.3, 0.0], [0.3, 0.4]])
    # U = 0: axes in Γ, points in Γ, "over U" is NaN
    tiny_config["transport"]["U"] = 0.0
    tiny_config["grid"]["unit"] = "Gamma"
    grid = validate_config(tiny_config, check_output=False).grid
    assert grid.point_unit == 1.0 and np.all(np.isnan(grid.eps_tilde_over_U))
    np.testing.assert_allclose(grid.V, [-0.4, 0.0, 0.4])


def test_sigma2_null_stays_null_and_is_derived_in_one_place(tiny_config):
    del tiny_config["magnet"]["sigma2"]
    cfg = validate_config(tiny_config, check_output=False)
    assert cfg.data["magnet"]["sigma2"] is None and cfg.data["magnet"]["T_m"] is None  # as the schema says
    assert cfg.sigma2 == DEFAULT_SIGMA2 == thermal_field_variance(cfg.magnet)
    tiny_config["magnet"]["T_m"] = 1e-3
    cfg = validate_config(tiny_config, check_output=False)
    assert cfg.sigma2 == pytest.approx(2 * 0.1 * 1e-3)


def test_step_count_tolerance():
    assert step_count(40.0, 0.02) == 2000
    assert step_count(0.3, 0.1) == 3  # 2.9999999999999996 steps in floating point
    with pytest.raises(ValueError, match="multiple"):
        step_count(40.0 * (1 + 10 * STEP_COUNT_RTOL), 0.02)


def test_registry_declares_outputs_sections_and_variables():
    stages = all_stages()
    assert [s.name for s in stages] == [
        "transport",
        "dynamics",
        "fokker_planck",
        "fmr",
        "switching_times",
        "write_error",
    ]
    assert set(output_names()) == {
        "switching_diagram",
        "readout",
        "torque_maps",
        "fokker_planck",
        "fmr",
        "switching_times",
        "write_error",
    }
    assert {"statistics", "fmr"} <= set(schema().fields)
    assert [s.name for s in stages_for(["fmr"])] == ["transport", "fmr"]
    names = [v for s in stages for v in s.variables]
    assert len(names) == len(set(names)), "two stages declare the same result variable"

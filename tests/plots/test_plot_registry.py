"""Every output has exactly one figure module and the figure stems the stages declare are drawn."""

from __future__ import annotations

import importlib.util

import pytest

from gpuqd.plots import plot_modules
from gpuqd.run.stages import all_stages, output_names

HAVE_MPL = importlib.util.find_spec("matplotlib") is not None


def test_one_plot_module_per_output():
    outputs = [m.OUTPUT for m in plot_modules()]
    assert sorted(outputs) == sorted(output_names())
    for module in plot_modules():
        assert callable(module.draw) and isinstance(module.REQUIRES, str)
        owner = [s for s in all_stages() if module.OUTPUT in s.outputs]
        assert len(owner) == 1


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_MPL, reason="matplotlib not installed")
def test_declared_figures_are_written(tmp_path, tiny_config):
    from gpuqd.plots import make_figures
    from gpuqd.run.config.validate import validate_config
    from gpuqd.run.pipeline import run_pipeline

    cfg = validate_config(tiny_config, runs_dir=str(tmp_path))
    run_dir = run_pipeline(cfg, make_figures=False)
    written, skipped = make_figures(run_dir)
    stems = {p.stem for p in written}
    declared = {f for s in all_stages() if s.name in cfg.stages for f in s.figures}
    assert not skipped and stems == declared

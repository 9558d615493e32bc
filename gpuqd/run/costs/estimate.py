"""Work, memory and time of a run before it starts (printed by ``gpuqd validate`` and ``gpuqd run``).

The estimate of a run is the start-up, the sum of each of its stages' ``estimate(cfg, costs, needs)``
(:class:`gpuqd.run.stage.Stage`; each stage counts its own work exactly from the typed configuration)
and, with ``figures``, the drawing of the figures, so that the total is the wall time of ``gpuqd run``.
Times come from the cost coefficients of :class:`gpuqd.run.costs.coefficients.Costs` (cached per
machine and backend, measured within a 5 s budget, or the static model); memory from the array sizes
of each stage plus the working memory of the transport blocks and of the engine per trajectory. A run
whose largest stage needs more than the available memory is refused before any work
(:func:`gpuqd.run.costs.model.check_memory`; the CLI flag ``--allow-large`` overrides).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from gpuqd.run import stages as registry
from gpuqd.run.config.factories import SCAN_NODES_PER_END
from gpuqd.run.config.typed import RunConfig
from gpuqd.run.config.validate import DT_STAGES
from gpuqd.run.costs.coefficients import Costs
from gpuqd.run.costs.model import RunEstimate, StageEstimate, available_memory
from gpuqd.run.stages.base import needed_products

__all__ = ["estimate_run", "memory_estimate"]


def estimate_run(
    cfg: RunConfig,
    backend: str,
    costs: Costs | None = None,
    figures: bool = True,
    report: Callable[[str], None] | None = None,
) -> RunEstimate:
    """Estimate of the run ``cfg`` on ``backend`` ('numpy' | 'cpu' | 'cupy'): start-up, every stage
    (in run order) and, with ``figures``, the figures. ``costs``: the coefficients (default: cached,
    measured within the budget, or static; progress lines to ``report``; the cpu engine's with the run's
    ``execution.threads``)."""
    costs = costs or Costs(backend, report=report, threads=cfg.execution.threads)
    stages = [registry.get_stage(name) for name in cfg.stages]
    needs = needed_products(cfg, stages)
    # the stages of a cupy run hold their arrays on the device: compare with the device's free memory
    est = RunEstimate(backend=backend, available_bytes=available_memory(backend))
    est.stages = [stage.estimate(cfg, costs, needs) for stage in stages]
    est.stages.insert(0, _startup(cfg, costs))
    draws = figures and cfg.transport.U > 0 and importlib.util.find_spec("matplotlib") is not None
    if draws:
        n = len(cfg.outputs)
        est.stages.append(
            StageEstimate("figures", f"{n} output(s): {', '.join(sorted(cfg.outputs))}", costs.figures(cfg.outputs), 0)
        )
    est.source = costs.source()
    est.calibration_s = costs.calibration_s
    est.notices = list(costs.notices)
    if costs.calibration_s >= 0.5:
        cached = "measured" in costs.sources.values()
        est.notices.append(
            f"measuring this machine took {costs.calibration_s:.1f} s"
            + (", once: cached" if cached else "; nothing cached, measured again next time")
        )
    return est


def memory_estimate(cfg: RunConfig, backend: str) -> RunEstimate:
    """Work and memory of every stage without measuring anything (cached or static coefficients): for
    the memory check before any work."""
    return estimate_run(cfg, backend, Costs(backend, measure=False, threads=cfg.execution.threads), figures=False)


def _startup(cfg: RunConfig, costs: Costs) -> StageEstimate:
    """Start-up: interpreter, imports, validation, run directory; for stages that integrate with
    ``dynamics.dt`` and transport torques, the time-step guard's transport scan (the table's end nodes
    at every grid point, :func:`gpuqd.run.validate.check_time_step`)."""
    work = "Python, imports, validation"
    seconds = costs.startup()
    if cfg.torque.model == "transport" and any(name in cfg.stages for name in DT_STAGES):
        n_tab = cfg.transport.n_theta
        n_scan = 2 * min(min(SCAN_NODES_PER_END, n_tab // 2) + 3, n_tab)
        n_pts = cfg.grid.n_points
        work += f", time-step guard {n_pts} points × {n_scan} θ"
        seconds += n_pts * costs.transport(cfg.transport.order).point(n_scan)
    return StageEstimate("start-up", work, seconds, 0)

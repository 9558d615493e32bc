"""The stage interface: one module per output under :mod:`gpuqd.run.stages` defines ``STAGE``.

A :class:`Stage` declares

* ``section`` / ``section_class`` / ``check`` — its configuration section (schema nodes of
  :mod:`gpuqd.run.config.schema`), the frozen dataclass of that section (``cfg.<section>``) and the
  cross-key checks ``check(data, fail)`` (``fail(key_path, message)`` raises ConfigError);
* ``outputs`` — the names in the configuration's ``outputs:`` list that make it run
  (``always=True``: it runs for every configuration);
* ``run(context) -> StageResult`` — the computation: result arrays, notes, throughput;
* ``estimate(cfg, costs, needs) -> StageEstimate`` — its work (counted exactly from the typed
  configuration), peak memory and wall time on the cost coefficients ``costs``
  (:class:`gpuqd.run.costs.coefficients.Costs`); ``needs`` as in :class:`StageContext`;
* ``variables`` — units, dims and description of every result array it may write;
* ``figures`` — the figure stems its plot module (``gpuqd.plots.<output>``) draws;
* ``provides`` / ``needs`` — products handed to later stages through ``context.products``
  (e.g. the torque table).

The pipeline runs the stages of a configuration in ``order`` with one :class:`StageContext` per run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from gpuqd.run.config.schema import Section
from gpuqd.run.config.typed import RunConfig
from gpuqd.run.costs.coefficients import Costs
from gpuqd.run.costs.model import StageEstimate
from gpuqd.run.execute.checkpoint import Checkpoint
from gpuqd.run.execute.executor import Executor
from gpuqd.run.execute.progress import Reporter
from gpuqd.run.store.cache import TransportCache

__all__ = ["Stage", "StageContext", "StageResult", "Fail", "needed_products", "needs_torque_table", "not_estimated"]

Fail = Callable[[str, str], None]


def _no_needs(cfg: RunConfig) -> frozenset[str]:
    return frozenset()


def not_estimated(cfg: RunConfig, costs: Costs, needs: frozenset[str]) -> StageEstimate:
    """The default ``estimate`` of a stage that declares none: no work, no time (every stage of the
    registry declares its own; tests/run/test_estimate.py checks that)."""
    return StageEstimate("?", "work not modelled", None, 0)


def needed_products(cfg: RunConfig, stages: Iterable[Stage]) -> frozenset[str]:
    """The union of the products the ``stages`` of the run ``cfg`` need (``StageContext.needs``)."""
    return frozenset().union(*(s.needs(cfg) for s in stages))


def needs_torque_table(cfg: RunConfig) -> frozenset[str]:
    """``needs`` of an ensemble stage: the torque table, when the torque comes from the transport."""
    return frozenset({"torque_table"}) if cfg.torque.model == "transport" else frozenset()


@dataclass(frozen=True)
class Stage:
    """Declaration of one stage (see the module docstring)."""

    name: str
    order: int
    run: Callable[[StageContext], StageResult]
    outputs: tuple[str, ...] = ()
    always: bool = False
    section: tuple[str, Section] | None = None
    section_class: type | None = None
    check: Callable[[dict, Fail], None] | None = None
    variables: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    figures: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    needs: Callable[[RunConfig], frozenset[str]] = _no_needs
    estimate: Callable[[RunConfig, Costs, frozenset[str]], StageEstimate] = not_estimated


@dataclass
class StageResult:
    """What a stage returns: result arrays (names declared in ``Stage.variables``), notes for the
    results README, and throughput numbers for meta.json."""

    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    throughput: dict[str, float] = field(default_factory=dict)


@dataclass
class StageContext:
    """Everything a stage may use; one per run (no global state).

    ``checkpoint(file, hook)`` gives the stage's :class:`Checkpoint` in ``<run>/checkpoint/``;
    ``cache`` is the shared transport cache; ``products`` holds what earlier stages provided
    (``torque_table``, ``transport_maps``); ``needs`` is the union of the products the stages of
    this run need; ``threads`` the OpenMP threads of every cpu engine a stage builds (the run's
    ``execution.threads``; None: each engine's default where it runs, ``OMP_NUM_THREADS`` or the usable
    cores). Results do not depend on it.
    """

    cfg: RunConfig
    backend: str
    reporter: Reporter
    executor: Executor
    cache: TransportCache
    checkpoint_dir: Path
    config_hash: str
    needs: frozenset[str] = frozenset()
    products: dict[str, Any] = field(default_factory=dict)
    threads: int | None = None

    def checkpoint(self, file: str, hook: str) -> Checkpoint:
        """The checkpoint ``<run>/checkpoint/<file>`` (``hook``: name of the kill test hook)."""
        return Checkpoint(self.checkpoint_dir / file, self.config_hash, hook)

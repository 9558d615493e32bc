"""Registry of the stages: every module of this package that defines ``STAGE`` (a
:class:`gpuqd.run.stages.base.Stage`) is a stage. Adding an output is adding one module here (and one
plot module under :mod:`gpuqd.plots`); nothing else is edited. Modules without ``STAGE`` are the
interface (:mod:`~gpuqd.run.stages.base`) and parts of a stage (e.g. the result declarations
:mod:`~gpuqd.run.stages.switching_results`, :mod:`~gpuqd.run.stages.fmr_variables`).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable

from gpuqd.run.config.schema import Section, build_schema
from gpuqd.run.stages.base import Stage

__all__ = ["all_stages", "get_stage", "output_names", "schema", "section_classes", "stages_for"]


def all_stages() -> tuple[Stage, ...]:
    """All stages, in run order."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        stage = getattr(module, "STAGE", None)
        if isinstance(stage, Stage):
            found.append(stage)
    names = [s.name for s in found]
    if len(set(names)) != len(names):
        raise RuntimeError(f"duplicate stage names: {names}")
    return tuple(sorted(found, key=lambda s: (s.order, s.name)))


def get_stage(name: str) -> Stage:
    for stage in all_stages():
        if stage.name == name:
            return stage
    raise KeyError(name)


def output_names() -> tuple[str, ...]:
    """The names allowed in ``outputs:``, in stage order."""
    return tuple(name for s in all_stages() for name in s.outputs)


def stages_for(outputs: Iterable[str]) -> tuple[Stage, ...]:
    """The stages a list of outputs needs, in run order."""
    wanted = set(outputs)
    return tuple(s for s in all_stages() if s.always or wanted & set(s.outputs))


def section_classes() -> dict[str, type]:
    """Configuration section key → frozen dataclass, for the sections stages declare."""
    return {
        s.section[0]: s.section_class for s in all_stages() if s.section is not None and s.section_class is not None
    }


def schema() -> Section:
    """The full configuration schema (core + stage sections, allowed outputs)."""
    return build_schema([s.section for s in all_stages() if s.section is not None], output_names())

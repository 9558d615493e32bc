"""Fixtures of the transport tests: the independent oracles live in plain modules of this folder."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parent


def load_helper(name: str) -> ModuleType:
    """Import the plain module ``tests/transport/<name>.py`` (not a package; no sys.path changes)."""
    spec = importlib.util.spec_from_file_location(f"gpuqd_transport_tests_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def exact_u0() -> ModuleType:
    """Exact U = 0 Green's-function currents (docs/physics.md §5.1), independent of gpuqd."""
    return load_helper("exact_u0")

"""Shared pytest configuration: the `gpu` marker skips unless the `cupy` backend is usable (gpuqd.backends)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not any("gpu" in item.keywords for item in items):
        return
    from gpuqd import backends

    cupy = backends.availability("cupy")
    if cupy.usable:
        return
    skip_gpu = pytest.mark.skip(reason=f"needs a usable cupy backend: {cupy.detail}")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)

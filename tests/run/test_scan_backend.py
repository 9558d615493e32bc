"""The time-step guard's transport scan runs where the table will be built: on the GPU for a cupy run
(Fig. 2 start-up: the scan of 201² points was seconds of NumPy). Oracle on the device: the NumPy scan."""

from __future__ import annotations

import json

import pytest
from tiny_config import tiny_with

from gpuqd.dynamics.engines import registry as backends
from gpuqd.run.config.factories import scan_backend, torque_bound
from gpuqd.run.config.typed import Grid, TorqueConfig, TransportConfig, section_from_mapping
from gpuqd.run.config.validate import validate_config


def test_scan_backend_follows_the_run(monkeypatch) -> None:
    assert scan_backend("numpy") == "numpy" and scan_backend("cpu") == "numpy" and scan_backend("cupy") == "cupy"
    backends.clear_cache()
    monkeypatch.setitem(backends.PROBES, "cupy", lambda: backends.Availability("cupy", False, "no device"))
    assert scan_backend("auto") == "numpy"
    backends.clear_cache()
    monkeypatch.setitem(backends.PROBES, "cupy", lambda: backends.Availability("cupy", True, "fake"))
    assert scan_backend("auto") == "cupy"
    backends.clear_cache()


@pytest.mark.gpu
def test_device_scan_equals_the_numpy_scan() -> None:
    data = validate_config(json.loads(json.dumps(tiny_with())), check_output=False).data
    args = (
        section_from_mapping(TransportConfig, data["transport"]),
        section_from_mapping(TorqueConfig, data["torque"]),
        Grid.from_data(data),
    )
    host, device = torque_bound(*args, backend="numpy"), torque_bound(*args, backend="cupy")
    assert abs(device - host) <= 1e-10 * host  # the two transport backends agree to ~1e-15 (test_cupy_backend)

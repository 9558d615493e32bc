"""The torque table built with its blocks on several threads (as a local run builds it on every core)
is bit-identical to the table built block after block on one thread (same blocks)."""

from __future__ import annotations

import numpy as np
import pytest

from gpuqd.run.execute.device import transport_workers
from gpuqd.transport import SpinValve, TorqueTable
from gpuqd.transport.torque_table import QUANTITIES, SOURCE_QUANTITIES, threaded_map

SPIN_VALVE = dict(U=20.0, T=10.0, gamma_S=2 / 3, gamma_D=4 / 3, p_S=0.9, p_D=0.8)


def test_threaded_table_blocks_are_bit_identical_to_one_thread() -> None:
    sv = SpinValve(**SPIN_VALVE)
    eps, V = np.linspace(-8.0, 8.0, 5), np.linspace(-6.0, 6.0, 7)
    # the same blocks (BLAS-batched sums are reproducible for the same blocking), 9 of them on 3 threads
    serial = TorqueTable.build(sv, eps, V, n_theta=16, block_points=4, extra_theta=[0.1, 3.0])
    threaded = TorqueTable.build(
        sv, eps, V, n_theta=16, block_points=4, extra_theta=[0.1, 3.0], map_blocks=threaded_map(3)
    )
    for name in QUANTITIES + SOURCE_QUANTITIES:
        np.testing.assert_array_equal(getattr(threaded, name), getattr(serial, name), err_msg=name)
        np.testing.assert_array_equal(threaded.extra[name], serial.extra[name], err_msg=name)


def test_transport_workers_setting(monkeypatch) -> None:
    monkeypatch.setenv("GPUQD_TRANSPORT_WORKERS", "3")
    assert transport_workers() == 3
    monkeypatch.delenv("GPUQD_TRANSPORT_WORKERS")
    assert transport_workers() >= 1
    monkeypatch.setenv("GPUQD_TRANSPORT_WORKERS", "0")
    with pytest.raises(ValueError, match="GPUQD_TRANSPORT_WORKERS"):
        transport_workers()
    with pytest.raises(ValueError, match="workers"):
        threaded_map(0)

"""Quantum-dot spin-valve transport to O(Γ) and O(Γ²) (docs/physics.md §1–5)."""

from __future__ import annotations

from gpuqd.transport.spin_valve import SpinValve, TransportResult, drain_direction, stationary_state
from gpuqd.transport.torque_table import TorqueTable

__all__ = ["SpinValve", "TorqueTable", "TransportResult", "drain_direction", "stationary_state"]

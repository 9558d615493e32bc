"""EnsembleSpec is the one argument list of an ensemble: a spec and the same fields given to the runner
directly build the same engine configuration (same fingerprint) and the same trajectories; the call
forms that would be ambiguous are refused."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gpuqd.dynamics import ConstantTorque, EnsembleRunner, EnsembleSpec, Macrospin, run_ensemble
from gpuqd.dynamics.engine_config import build_config

MAGNET = Macrospin(S=1.0, KV=0.1, alpha=0.1, sigma2=0.01)
TORQUE = ConstantTorque(0.02, 0.01)


def _spec(**changes: object) -> EnsembleSpec:
    spec = EnsembleSpec(MAGNET, TORQUE, 6, 0.05, 2.0, 7, initial_theta=0.3, average_from=1.0)
    return dataclasses.replace(spec, **changes)


def test_spec_and_fields_give_the_same_run() -> None:
    spec = _spec()
    by_spec = EnsembleRunner(spec, backend="numpy")
    by_fields = EnsembleRunner(MAGNET, TORQUE, 6, 0.05, 2.0, 7, "numpy", initial_theta=0.3, average_from=1.0)
    assert by_spec.fingerprint == by_fields.fingerprint
    a = run_ensemble(spec, backend="numpy")
    b = run_ensemble(MAGNET, TORQUE, 6, 0.05, 2.0, 7, backend="numpy", initial_theta=0.3, average_from=1.0)
    np.testing.assert_array_equal(a.final_direction, b.final_direction)
    np.testing.assert_array_equal(a.mean_theta, b.mean_theta)


def test_build_config_takes_a_spec_or_its_fields_in_order() -> None:
    spec = _spec()
    fields = [getattr(spec, f.name) for f in dataclasses.fields(EnsembleSpec)]
    assert build_config(spec).steps_total == build_config(*fields).steps_total == 40


def test_validation_names_the_field() -> None:
    with pytest.raises(ValueError, match="t_end/dt must be an integer number of steps"):
        build_config(_spec(t_end=2.01))
    with pytest.raises(ValueError, match="switch_threshold"):
        EnsembleRunner(_spec(switch_threshold=1.0), backend="numpy")


def test_ambiguous_calls_are_refused() -> None:
    with pytest.raises(TypeError, match="not both"):
        EnsembleRunner(_spec(), 6, backend="numpy")
    with pytest.raises(TypeError, match="by name"):
        EnsembleRunner(MAGNET, TORQUE, 6, 0.05, 2.0, 7, "numpy", 0.3)

"""The tiny run configuration of the application-layer tests (3×3 grid, U = 100, T = 10, order 1; runs in
seconds) and variants of it. A plain module: tests use the conftest fixtures ``tiny_config`` /
``make_tiny_config``; modules that need a variant at import time (parametrisation, module constants) call
:func:`tiny_with`."""

from __future__ import annotations

import copy

TINY = {
    "name": "tiny",
    "seed": 3,
    "backend": "numpy",
    "transport": {
        "U": 100.0,
        "T": 10.0,
        "gamma_S": 0.6667,
        "gamma_D": 1.3333,
        "p_S": 0.9,
        "p_D": 0.9,
        "order": 1,
        "n_theta": 32,
    },
    "grid": {
        "unit": "U",
        "eps_tilde": {"start": -0.3, "stop": 0.3, "num": 3},
        "V": {"start": -0.4, "stop": 0.4, "num": 3},
    },
    "magnet": {"S": 1.0, "KV": 0.01, "alpha": 0.1, "sigma2": 1.0e-4},
    "dynamics": {"dt": 0.02, "t_end": 40.0, "average_from": 20.0, "trajectories_per_point": 2, "chunk_steps": 400},
    "figures": {"inset_eps_tilde": 0.2, "inset_V": [0.1, 0.175]},
    "outputs": ["switching_diagram", "readout", "torque_maps"],
}


def tiny_with(**sections: object) -> dict:
    """A fresh copy of :data:`TINY` with the given top-level keys replaced (``None`` removes a key)."""
    return copy.deepcopy({k: v for k, v in (TINY | sections).items() if v is not None})


#: the tiny configuration's transport on a 5×5 grid, stiffer magnet with a field along e_z, output fmr
TINY_FMR = {
    "name": "tiny_fmr",
    "grid": {
        "unit": "U",
        "eps_tilde": {"start": -0.3, "stop": 0.3, "num": 5},
        "V": {"start": -0.4, "stop": 0.4, "num": 5},
    },
    "magnet": {"S": 1.0, "KV": 0.05, "alpha": 0.1, "sigma2": 1.0e-4, "field": [0.0, 0.0, 0.01]},
    "fmr": {
        "spectra_eps_tilde": [0.25, -0.3],
        "spectra_V": [-0.15, 0.2],
        "n_omega": 51,
        "simulate": True,
        "simulate_omegas": 3,
        "periods": 4,
        "steps_per_period": 256,
        "settle_decays": 8,
    },
    "outputs": ["fmr"],
    "dynamics": None,
    "figures": None,
}

"""Tabulated torques I_FL(θ), I_DL(θ) and charge current I_C(θ) per (ε̃, V) grid point.

Layout (shared by the NumPy interpolation below and the CUDA kernel in ``gpuqd.dynamics``):

* The angle is mapped to ``s ∈ [0, 1]`` by :func:`s_of_theta` (logarithmic clustering at θ = 0 and
  θ = π, where the torque coefficients vary fastest: features of width (spin relaxation rate)/(exchange
  field), ≳ 1e-4 rad at the paper's parameters; uniform spacing in the middle).
* Nodes are cell centred: ``s_k = (k + 1/2) / M``, ``k = 0 … M−1`` (θ = 0, π themselves are never
  tabulated, so nothing is ever divided by sin²θ = 0; the ends are reached by the boundary stencil).
* Interpolation: 4-point Lagrange (cubic) on the uniform s grid; stencil start
  ``i0 = clip(floor(x) − 1, 0, M − 4)`` with ``x = s M − 1/2``, local coordinate ``t = x − i0``.
* Arrays ``field_like``, ``damping_like``, ``charge_current`` (and, for tables built from a transport
  model, ``source_field_like``, ``source_damping_like``) have shape ``(n_points, M)``;
  grid point ``j`` is ``(eps_tilde[j // n_V], V[j % n_V])`` when built on a rectangular grid.

Units: I_FL, I_DL in ħΓ (coefficients of the non-normalised e_FL, e_DL of spec §1); I_C in Γ
(particles per 1/Γ into the drain).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gpuqd.atomic_io import atomic_savez

QUANTITIES = ("field_like", "damping_like", "charge_current")
#: Optional source-torque arrays (same shape): coefficients of n_S × n_D and n_S × (n_S × n_D) in the
#: transverse spin current into the source (docs/physics.md §12.2), tabulated against the same θ nodes.
SOURCE_QUANTITIES = ("source_field_like", "source_damping_like")
#: Default number of θ nodes (see INTERPOLATION_ERROR_STATEMENT and tests/test_torque_table.py).
DEFAULT_N_THETA = 384
INTERPOLATION_ERROR_STATEMENT = (
    "worst measured 2e-5 of max|I| per point (bound 1e-4, tests/test_torque_table.py) "
    "at the paper's parameters (n_theta=384)"
)


#: Smallest angle scale resolved by the node spacing near θ = 0 and π (rad); features there have the
#: width (dot spin relaxation rate)/(exchange field), down to ~1e-4 rad at p = 0.99.
THETA_MIN = 1e-5
#: Node spacing scale in the middle of [0, π] (rad, before division by the node count).
THETA_MID = 0.1
MAP_SCALE = 2.0 * (0.5 * np.pi / THETA_MID + np.log((THETA_MIN + np.pi) / THETA_MIN))


def s_of_theta(theta: Any, xp: Any = np) -> Any:
    """Table coordinate s ∈ [0, 1] of θ ∈ [0, π]:
    s = ½ + [(θ − π/2)/θ_mid + ln((θ_min + θ)/(θ_min + π − θ))] / C, with s(0) = 0, s(π) = 1.

    Node density ∝ 1/θ_mid + 1/(θ_min + θ) + 1/(θ_min + π − θ): logarithmic near the collinear
    ends, uniform in the middle.
    """
    return 0.5 + ((theta - 0.5 * np.pi) / THETA_MID
                  + xp.log((THETA_MIN + theta) / (THETA_MIN + np.pi - theta))) / MAP_SCALE


def s_of_cos_theta(cos_theta: Any, xp: Any = np) -> Any:
    """Table coordinate s of cos θ."""
    return s_of_theta(xp.arccos(xp.clip(cos_theta, -1.0, 1.0)), xp)


def theta_of_s(s: Any) -> np.ndarray:
    """Angle θ (rad) of the table coordinate s ∈ [0, 1] (inverse of :func:`s_of_theta`, by bisection)."""
    s = np.asarray(s, dtype=float)
    lo, hi = np.zeros_like(s), np.full_like(s, np.pi)
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        below = s_of_theta(mid) < s
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def node_s(n_theta: int) -> np.ndarray:
    """Cell-centred table nodes s_k = (k + 1/2)/M."""
    return (np.arange(n_theta) + 0.5) / n_theta


def lagrange4_weights(s: Any, n_theta: int, xp: Any = np) -> tuple[Any, tuple[Any, Any, Any, Any]]:
    """Stencil start index and the four cubic Lagrange weights at table coordinate ``s``."""
    x = s * n_theta - 0.5
    i0 = xp.clip(xp.floor(x).astype(np.int64) - 1, 0, n_theta - 4)
    t = x - i0
    w0 = -(t - 1.0) * (t - 2.0) * (t - 3.0) / 6.0
    w1 = t * (t - 2.0) * (t - 3.0) / 2.0
    w2 = -t * (t - 1.0) * (t - 3.0) / 2.0
    w3 = t * (t - 1.0) * (t - 2.0) / 6.0
    return i0, (w0, w1, w2, w3)


@dataclass
class TorqueTable:
    """Per-grid-point tables of I_FL, I_DL, I_C versus θ (see module docstring for the layout).

    Attributes
    ----------
    field_like, damping_like, charge_current : (n_points, n_theta) float64 arrays (drain torque
        coefficients I_FL, I_DL and the charge current I_C).
    source_field_like, source_damping_like : (n_points, n_theta) float64 arrays or None: the source
        torque coefficients (n_S ↔ n_D in the definitions of I_FL, I_DL); None for synthetic tables.
    eps_tilde, V : 1-D grid axes (energy units of the transport model, usually Γ); may be empty
        for synthetic tables.
    metadata : free-form JSON-serialisable provenance (transport parameters, order, error estimate).
    """

    field_like: np.ndarray
    damping_like: np.ndarray
    charge_current: np.ndarray
    eps_tilde: np.ndarray = field(default_factory=lambda: np.zeros(0))
    V: np.ndarray = field(default_factory=lambda: np.zeros(0))
    metadata: dict = field(default_factory=dict)
    source_field_like: np.ndarray | None = None
    source_damping_like: np.ndarray | None = None

    def __post_init__(self) -> None:
        arrays = [np.ascontiguousarray(getattr(self, q), dtype=np.float64) for q in QUANTITIES]
        shape = arrays[0].shape
        if len(shape) != 2 or any(a.shape != shape for a in arrays):
            raise ValueError("field_like, damping_like, charge_current must share shape (n_points, n_theta)")
        if shape[1] < 4:
            raise ValueError(f"n_theta must be >= 4 for cubic interpolation, got {shape[1]}")
        for name, a in zip(QUANTITIES, arrays, strict=True):
            if not np.all(np.isfinite(a)):
                raise ValueError(f"TorqueTable.{name} contains non-finite values")
            setattr(self, name, a)
        sources = [getattr(self, q) for q in SOURCE_QUANTITIES]
        if (sources[0] is None) != (sources[1] is None):
            raise ValueError("source_field_like and source_damping_like must be given together")
        if sources[0] is not None:
            for name, value in zip(SOURCE_QUANTITIES, sources, strict=True):
                a = np.ascontiguousarray(value, dtype=np.float64)
                if a.shape != shape:
                    raise ValueError(f"TorqueTable.{name} must have the shape {shape} of field_like, got {a.shape}")
                if not np.all(np.isfinite(a)):
                    raise ValueError(f"TorqueTable.{name} contains non-finite values")
                setattr(self, name, a)
        self.eps_tilde = np.asarray(self.eps_tilde, dtype=float)
        self.V = np.asarray(self.V, dtype=float)

    @property
    def n_points(self) -> int:
        return self.field_like.shape[0]

    @property
    def n_theta(self) -> int:
        return self.field_like.shape[1]

    @property
    def theta_nodes(self) -> np.ndarray:
        """θ of the table nodes (rad)."""
        return theta_of_s(node_s(self.n_theta))

    def stacked(self) -> np.ndarray:
        """(n_points, 3, n_theta) array [I_FL, I_DL, I_C], the layout the CUDA kernel reads."""
        return np.stack([self.field_like, self.damping_like, self.charge_current], axis=1)

    @property
    def has_source(self) -> bool:
        """Whether the table carries the source torque coefficients."""
        return self.source_field_like is not None

    def evaluate(self, point_index: Any, cos_theta: Any, xp: Any = np) -> tuple[Any, Any, Any]:
        """Interpolated (I_FL, I_DL, I_C) at grid points ``point_index`` and angles ``cos_theta``.

        Both arguments broadcast; ``xp`` is the array module (NumPy or CuPy) of the inputs.
        """
        return self._interpolate(QUANTITIES, point_index, cos_theta, xp)

    def evaluate_source(self, point_index: Any, cos_theta: Any, xp: Any = np) -> tuple[Any, Any]:
        """Interpolated source coefficients (FL_S, DL_S) at ``point_index`` and cos θ = n_S·n_D, such that
        the transverse spin current into the source is (n_S × n_D) FL_S + (n_S × (n_S × n_D)) DL_S."""
        if not self.has_source:
            raise ValueError("this TorqueTable carries no source torque (built without a transport model)")
        fl, dl = self._interpolate(SOURCE_QUANTITIES, point_index, cos_theta, xp)
        return fl, dl

    def _interpolate(self, names: tuple[str, ...], point_index: Any, cos_theta: Any, xp: Any) -> tuple:
        s = s_of_cos_theta(cos_theta, xp)
        i0, weights = lagrange4_weights(s, self.n_theta, xp)
        out = []
        for name in names:
            table = getattr(self, name)
            if xp is not np:
                table = xp.asarray(table)
            acc = 0.0
            for k, w in enumerate(weights):
                acc = acc + w * table[point_index, i0 + k]
            out.append(acc)
        return tuple(out)

    # ------------------------------------------------------------------ construction
    @classmethod
    def build(
        cls,
        spin_valve: Any,
        eps_tilde: Any,
        V: Any,
        order: int = 2,
        n_theta: int = DEFAULT_N_THETA,
        progress: Any = None,
        chunk_points: int = 64,
    ) -> TorqueTable:
        """Tabulate I_FL, I_DL, I_C of ``spin_valve`` (a :class:`~gpuqd.transport.SpinValve`) on the
        rectangular grid ``eps_tilde × V`` (1-D arrays, the spin valve's energy unit).

        ``progress(done_points, total_points)`` is called after each chunk of grid points.
        """
        eps_axis = np.atleast_1d(np.asarray(eps_tilde, dtype=float))
        v_axis = np.atleast_1d(np.asarray(V, dtype=float))
        eps_points = np.repeat(eps_axis, v_axis.size)
        v_points = np.tile(v_axis, eps_axis.size)
        theta = theta_of_s(node_s(n_theta))
        data = np.empty((5, eps_points.size, n_theta))
        for start in range(0, eps_points.size, chunk_points):
            stop = min(start + chunk_points, eps_points.size)
            r = spin_valve.solve(eps_points[start:stop, None], v_points[start:stop, None], theta[None, :], order)
            data[0, start:stop] = r.torque_field_like
            data[1, start:stop] = r.torque_damping_like
            data[2, start:stop] = r.charge_current
            data[3, start:stop] = r.source_field_like
            data[4, start:stop] = r.source_damping_like
            if progress is not None:
                progress(stop, eps_points.size)
        metadata = {"transport": spin_valve.parameters, "order": order, "n_theta": n_theta,
                    "interpolation": "cubic Lagrange in s = s_of_theta(theta)",
                    "theta_min": THETA_MIN, "theta_mid": THETA_MID,
                    "interpolation_error_bound": INTERPOLATION_ERROR_STATEMENT}
        return cls(field_like=data[0], damping_like=data[1], charge_current=data[2],
                   eps_tilde=eps_axis, V=v_axis, metadata=metadata,
                   source_field_like=data[3], source_damping_like=data[4])

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the table to ``path`` (.npz, readable with NumPy alone) atomically."""
        path = Path(path)
        sources = {q: getattr(self, q) for q in SOURCE_QUANTITIES} if self.has_source else {}
        atomic_savez(
            path,
            **sources,
            field_like=self.field_like,
            damping_like=self.damping_like,
            charge_current=self.charge_current,
            eps_tilde=self.eps_tilde,
            V=self.V,
            theta_nodes=self.theta_nodes,
            metadata=np.array(json.dumps(self.metadata)),
        )
        return path

    @classmethod
    def load(cls, path: str | Path) -> TorqueTable:
        """Read a table written by :meth:`save`."""
        with np.load(Path(path), allow_pickle=False) as data:
            return cls(
                field_like=data["field_like"],
                damping_like=data["damping_like"],
                charge_current=data["charge_current"],
                eps_tilde=data["eps_tilde"],
                V=data["V"],
                metadata=json.loads(str(data["metadata"])),
                **{q: data[q] for q in SOURCE_QUANTITIES if q in data.files},
            )

    @classmethod
    def from_functions(cls, functions: list, n_theta: int = DEFAULT_N_THETA, **kwargs: Any) -> TorqueTable:
        """Synthetic table: ``functions[j](theta) -> (I_FL, I_DL, I_C)`` for each grid point j."""
        theta = theta_of_s(node_s(n_theta))
        rows = [np.broadcast_to(np.asarray(f(theta), dtype=float), (3, n_theta)) for f in functions]
        data = np.stack(rows, axis=0)
        return cls(field_like=data[:, 0], damping_like=data[:, 1], charge_current=data[:, 2], **kwargs)

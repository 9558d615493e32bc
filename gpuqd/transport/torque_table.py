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

Units: I_FL, I_DL in ħΓ (coefficients of the non-normalised e_FL, e_DL of docs/physics.md §1); I_C in Γ
(particles per 1/Γ into the drain).
"""

from __future__ import annotations

import json
import os
import warnings
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gpuqd.atomic_io import atomic_save_arrays, atomic_savez, checksum_ok
from gpuqd.version import __version__

QUANTITIES = ("field_like", "damping_like", "charge_current")
#: Optional source-torque arrays (same shape): coefficients of n_S × n_D and n_S × (n_S × n_D) in the
#: transverse spin current into the source (docs/physics.md §12.2), tabulated against the same θ nodes.
SOURCE_QUANTITIES = ("source_field_like", "source_damping_like")
#: TransportResult attribute of each tabulated quantity.
RESULT_NAMES = {
    "field_like": "torque_field_like",
    "damping_like": "torque_damping_like",
    "charge_current": "charge_current",
    "source_field_like": "source_field_like",
    "source_damping_like": "source_damping_like",
}
#: Grid points per block of :meth:`TorqueTable.build` (progress and block cache granularity).
DEFAULT_BLOCK_POINTS = 256
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
    return (
        0.5
        + ((theta - 0.5 * np.pi) / THETA_MID + xp.log((THETA_MIN + theta) / (THETA_MIN + np.pi - theta))) / MAP_SCALE
    )


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
    extra : optional values at angles off the table nodes (``build(extra_theta=…)``): ``extra["theta"]``
        (k,) and, for each quantity of the table, an (n_points, k) array under its name.
    """

    field_like: np.ndarray
    damping_like: np.ndarray
    charge_current: np.ndarray
    eps_tilde: np.ndarray = field(default_factory=lambda: np.zeros(0))
    V: np.ndarray = field(default_factory=lambda: np.zeros(0))
    metadata: dict = field(default_factory=dict)
    source_field_like: np.ndarray | None = None
    source_damping_like: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

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
        block_points: int = DEFAULT_BLOCK_POINTS,
        extra_theta: Any = (),
        cache_dir: str | Path | None = None,
        cache_key: str | None = None,
        map_blocks: Any = None,
        on_block_saved: Any = None,
    ) -> TorqueTable:
        """Tabulate I_FL, I_DL, I_C and the source coefficients of ``spin_valve`` (a
        :class:`~gpuqd.transport.SpinValve`, on its backend) on the rectangular grid ``eps_tilde × V``
        (1-D arrays, the spin valve's energy unit); grid point j = (eps_tilde[j // n_V], V[j % n_V]).

        The grid is solved in blocks of ``block_points`` points (each (ε̃, V) kernel built once, at all
        n_theta nodes and the ``extra_theta`` angles together); ``progress(done_points, total_points)`` is
        called after each block. With ``cache_dir`` every block is stored there (``block_NNNNN.npz``) and a
        later call with the same arguments reuses it (resume); the caller owns the directory and removes it.
        Results do not depend on ``block_points``. ``cache_key`` is recorded in the metadata.
        ``map_blocks(fn, items)`` (default: the built-in ``map``) computes the missing blocks, results in
        item order — a run passes its executor's ``map`` here so blocks can go to other processes;
        ``on_block_saved(n)`` is called after the n-th newly computed block has been stored.
        """
        eps_axis = np.atleast_1d(np.asarray(eps_tilde, dtype=float))
        v_axis = np.atleast_1d(np.asarray(V, dtype=float))
        if int(block_points) < 1:
            raise ValueError(f"block_points must be >= 1, got {block_points}")
        if int(n_theta) < 4:
            raise ValueError(f"n_theta must be >= 4 for cubic interpolation, got {n_theta}")
        eps_points = np.repeat(eps_axis, v_axis.size)
        v_points = np.tile(v_axis, eps_axis.size)
        extra = np.atleast_1d(np.asarray(extra_theta, dtype=float))
        theta = np.concatenate([theta_of_s(node_s(n_theta)), extra])
        names = QUANTITIES + SOURCE_QUANTITIES
        data = {name: np.empty((eps_points.size, theta.size)) for name in names}
        cache = None if cache_dir is None else Path(cache_dir)
        bounds = [
            (start, min(start + int(block_points), eps_points.size))
            for start in range(0, eps_points.size, int(block_points))
        ]
        stamps = [
            {"eps_tilde": eps_points[a:b], "V": v_points[a:b], "theta": theta, "order": np.array(order)}
            for a, b in bounds
        ]
        stored = [_read_block(cache, i, stamps[i], names) for i in range(len(bounds))]
        items = (
            (spin_valve, eps_points[a:b], v_points[a:b], theta, order)
            for (a, b), block in zip(bounds, stored, strict=True)
            if block is None
        )
        computed = (map if map_blocks is None else map_blocks)(solve_table_block, items)
        n_saved = 0
        for i, (start, stop) in enumerate(bounds):
            block = stored[i]
            if block is None:
                block = next(computed)
                if cache is not None:
                    cache.mkdir(parents=True, exist_ok=True)
                    atomic_save_arrays(
                        cache / f"block_{i:05d}.npz",
                        block | {f"stamp_{k}": v for k, v in stamps[i].items()},
                        checksum=True,
                    )
                    n_saved += 1
                    if on_block_saved is not None:
                        on_block_saved(n_saved)
            for name in names:
                data[name][start:stop] = block[name]
            if progress is not None:
                progress(stop, eps_points.size)
        table = {name: np.ascontiguousarray(data[name][:, :n_theta]) for name in names}
        extras = {"theta": extra, **{name: np.ascontiguousarray(data[name][:, n_theta:]) for name in names}}
        return cls(
            **table,
            eps_tilde=eps_axis,
            V=v_axis,
            extra=extras if extra.size else {},
            metadata=table_metadata(spin_valve, order, n_theta, extra, cache_key),
        )

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path, checksum: bool = False) -> Path:
        """Write the table to ``path`` (.npz, readable with NumPy alone) atomically; ``checksum``: and
        ``<path>.sha256`` beside it (:func:`gpuqd.atomic_io.checksum_ok`)."""
        path = Path(path)
        sources = {q: getattr(self, q) for q in SOURCE_QUANTITIES} if self.has_source else {}
        extras = {f"extra_{k}": v for k, v in self.extra.items()}
        atomic_savez(
            path,
            checksum=checksum,
            **sources,
            **extras,
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
                extra={k[len("extra_") :]: data[k] for k in data.files if k.startswith("extra_")},
            )

    @classmethod
    def from_functions(cls, functions: list, n_theta: int = DEFAULT_N_THETA, **kwargs: Any) -> TorqueTable:
        """Synthetic table: ``functions[j](theta) -> (I_FL, I_DL, I_C)`` for each grid point j."""
        theta = theta_of_s(node_s(n_theta))
        rows = [np.broadcast_to(np.asarray(f(theta), dtype=float), (3, n_theta)) for f in functions]
        data = np.stack(rows, axis=0)
        return cls(field_like=data[:, 0], damping_like=data[:, 1], charge_current=data[:, 2], **kwargs)


def table_metadata(
    spin_valve: Any, order: int, n_theta: int, extra_theta: Any = (), cache_key: str | None = None
) -> dict:
    """The metadata of a built table (the same keys for tests, benchmarks and runs)."""
    return {
        "transport": spin_valve.parameters,
        "order": order,
        "n_theta": n_theta,
        "units": "Gamma",
        "layout": "point j = (eps[j // n_V], V[j % n_V])",
        "gpuqd": __version__,
        "cache_key": cache_key,
        "built_by": "gpuqd.transport.TorqueTable.build",
        "backend": getattr(spin_valve, "backend", "numpy"),
        "theta_min": THETA_MIN,
        "theta_mid": THETA_MID,
        "interpolation": "cubic Lagrange in s = s_of_theta(theta)",
        "interpolation_error_statement": INTERPOLATION_ERROR_STATEMENT,
        "extra_theta": [float(t) for t in np.atleast_1d(extra_theta)],
        "source_torque": True,
    }


def solve_table_block(item: tuple) -> dict[str, np.ndarray]:
    """One block of :meth:`TorqueTable.build`: (spin_valve, ε̃ points, V points, θ (rad), order) → the
    tabulated quantities (drain and source coefficients, I_C) of shape (points, n_θ); picklable."""
    spin_valve, eps_points, v_points, theta, order = item
    r = spin_valve.solve(eps_points[:, None], v_points[:, None], theta[None, :], order)
    return {name: getattr(r, RESULT_NAMES[name]) for name in QUANTITIES + SOURCE_QUANTITIES}


def _read_block(cache: Path | None, index: int, stamp: dict, names: tuple[str, ...]) -> dict | None:
    """A cached block if it exists and was computed for the same points, angles and order."""
    if cache is None:
        return None
    path = cache / f"block_{index:05d}.npz"
    if not path.exists():
        return None
    if not checksum_ok(path):  # truncated, edited or foreign: recomputed, never used
        warnings.warn(f"partial table block {path} is damaged (checksum mismatch); recomputing it", stacklevel=2)
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if not all(np.array_equal(data[f"stamp_{k}"], v) for k, v in stamp.items()):
                return None
            return {name: data[name] for name in names}
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None


def usable_cores() -> int:
    """CPUs this process may run on (the affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def threaded_map(workers: int) -> Callable[[Callable[[Any], Any], Iterable[Any]], Iterator[Any]]:
    """A ``map_blocks`` for :meth:`TorqueTable.build` that computes the blocks on ``workers`` threads of
    this process (NumPy releases the GIL in the array operations of a block's solve), results in item
    order, at most 2·workers blocks in flight. Every block is the same computation as on one thread, so
    the table is bit-identical for any ``workers``."""
    if int(workers) < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")

    def map_blocks(fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        with ThreadPoolExecutor(max_workers=int(workers), thread_name_prefix="gpuqd-transport") as pool:
            pending: deque = deque()
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= 2 * int(workers):
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    return map_blocks

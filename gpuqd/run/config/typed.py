"""Typed, validated run configuration: frozen dataclasses with attribute access (``cfg.transport.U``).

Why frozen dataclasses (and not pydantic): the core dependencies stay numpy, scipy, pyyaml and rich;
the schema in :mod:`gpuqd.run.config.schema` already carries ranges, units, documentation and the error
messages (file, key path, allowed range, did-you-mean), so a validation library would add a
dependency without adding a check. Frozen instances cannot be changed by a stage after validation,
and they pickle (an executor can ship them to worker processes).

One place for each convention:

* :class:`Grid` — the (ε̃, V) grid: axes in Γ and in units of U, flat index, nearest point, and the
  unit of the ``figures.*`` / ``statistics.*`` / ``fmr.*`` points (:attr:`Grid.point_unit`: U, or Γ if
  U = 0);
* :func:`thermal_field_variance` — σ² from ``magnet.sigma2`` / ``magnet.T_m`` (σ² = 2α T_m,
  docs/physics.md §6.2; :data:`~gpuqd.run.config.schema.DEFAULT_SIGMA2` if both are null);
* :func:`check_step_count` — "t_end is a multiple of dt", with the engine's one tolerance
  (:func:`gpuqd.dynamics.engine_config.step_count`).

Units: energies in Γ, times in 1/Γ, angles in rad (docs/physics.md §1).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from gpuqd.dynamics.engine_config import step_count
from gpuqd.run.config.execution_settings import ExecutionSettings, execution_settings
from gpuqd.run.config.schema import DEFAULT_SIGMA2, fmt_number

__all__ = [
    "TransportConfig",
    "AxisConfig",
    "Grid",
    "MagnetConfig",
    "TorqueConfig",
    "DynamicsConfig",
    "FiguresConfig",
    "RunConfig",
    "check_step_count",
    "section_from_mapping",
    "thermal_field_variance",
]


def check_step_count(
    t_end: float, dt: float, fail: Callable[[str, str], None], key_dt: str, key_t_end: str, dt_name: str = "dt"
) -> None:
    """Step-count checks of a window ``t_end`` at time step ``dt`` (at most 1e11 steps, a whole number)."""
    n_steps = t_end / dt
    if n_steps > 1e11:
        fail(key_dt, f"t_end/dt = {n_steps:.3g} steps is too many (allowed <= 1e11)")
    try:
        step_count(t_end, dt)
    except ValueError:
        fail(key_t_end, f"t_end = {fmt_number(t_end)} must be a multiple of {dt_name} = {fmt_number(dt)}")


def _frozen(value: Any) -> Any:
    """Lists → tuples (hashable, immutable), recursively."""
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


def section_from_mapping(cls: type, data: Mapping[str, Any]) -> Any:
    """Instance of the frozen dataclass ``cls`` from a validated section mapping (lists become tuples)."""
    return cls(**{f.name: _frozen(data[f.name]) for f in dataclasses.fields(cls)})


@dataclass(frozen=True)
class TransportConfig:
    """Quantum-dot spin valve (docs/physics.md §2): energies in Γ, polarisations p ∈ [0, 1)."""

    U: float
    T: float
    gamma_S: float
    gamma_D: float
    p_S: float
    p_D: float
    order: int
    n_theta: int


@dataclass(frozen=True)
class AxisConfig:
    """One grid axis as written in the YAML (values in units of ``grid.unit``)."""

    start: float
    stop: float
    num: int

    def values(self) -> np.ndarray:
        """The axis in units of ``grid.unit`` (num = 1 uses start)."""
        return np.linspace(self.start, self.stop, self.num) if self.num > 1 else np.array([self.start], float)


@dataclass(frozen=True)
class Grid:
    """The (ε̃, V) grid of a run. Arrays in Γ (``eps_tilde``, ``V``) and in units of U (``*_over_U``,
    NaN if U = 0); grid point (i, j) has the flat index i·n_V + j (the torque-table layout)."""

    unit: str
    eps_tilde_axis: AxisConfig
    V_axis: AxisConfig
    U: float

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Grid:
        """The grid of a validated configuration mapping (sections ``grid`` and ``transport``)."""
        g = data["grid"]
        return cls(
            g["unit"],
            section_from_mapping(AxisConfig, g["eps_tilde"]),
            section_from_mapping(AxisConfig, g["V"]),
            float(data["transport"]["U"]),
        )

    @property
    def axis_unit(self) -> float:
        """Γ per unit of the grid axes (U for ``grid.unit: U``, 1 for Gamma)."""
        return self.U if self.unit == "U" else 1.0

    @property
    def point_unit(self) -> float:
        """Γ per unit of the requested points (``figures.*``, ``statistics.*``, ``fmr.*``): U, or Γ if U = 0."""
        return self.U if self.U > 0 else 1.0

    def over_U(self, values: Any) -> np.ndarray:
        """Energies (Γ) in units of U; NaN if U = 0."""
        values = np.asarray(values, dtype=float)
        return values / self.U if self.U > 0 else values * np.nan

    def points_over_U(self, points: Any) -> np.ndarray:
        """Requested points given in :attr:`point_unit` (U, or Γ if U = 0) expressed over U; NaN if U = 0."""
        points = np.asarray(points, dtype=float)
        return points if self.U > 0 else points * np.nan

    @functools.cached_property
    def eps_tilde(self) -> np.ndarray:
        """ε̃ axis (Γ)."""
        return self.eps_tilde_axis.values() * self.axis_unit

    @functools.cached_property
    def V(self) -> np.ndarray:
        """V axis (Γ)."""
        return self.V_axis.values() * self.axis_unit

    @property
    def eps_tilde_over_U(self) -> np.ndarray:
        return self.eps_tilde / self.U if self.U > 0 else np.full_like(self.eps_tilde, np.nan)

    @property
    def V_over_U(self) -> np.ndarray:
        return self.V / self.U if self.U > 0 else np.full_like(self.V, np.nan)

    @property
    def shape(self) -> tuple[int, int]:
        return self.eps_tilde.size, self.V.size

    @property
    def n_points(self) -> int:
        return self.eps_tilde.size * self.V.size

    def flat_index(self, i: int, j: int) -> int:
        """Flat index of grid point (i_eps, i_V)."""
        return i * self.V.size + j

    def nearest(self, eps_tilde: float, V: float) -> tuple[int, int]:
        """Indices (i_eps, i_V) of the grid point nearest to (ε̃, V) given in Γ."""
        return int(np.argmin(np.abs(self.eps_tilde - eps_tilde))), int(np.argmin(np.abs(self.V - V)))

    def nearest_points(self, eps_tilde: float, V_values: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Grid points nearest to (eps_tilde, v) for v in ``V_values`` (all in :attr:`point_unit`).

        Returns (flat indices, requested points over U, used grid points over U) — the latter two
        of shape (n, 2), NaN if U = 0.
        """
        unit = self.point_unit
        idx, req, used = [], [], []
        for v in V_values:
            e_req, v_req = eps_tilde * unit, v * unit
            i, j = self.nearest(e_req, v_req)
            idx.append(self.flat_index(i, j))
            req.append((e_req, v_req))
            used.append((self.eps_tilde[i], self.V[j]))
        norm = self.U if self.U > 0 else np.nan
        return np.array(idx, dtype=np.int64), np.array(req) / norm, np.array(used) / norm

    def axes(self) -> dict[str, np.ndarray]:
        """The four axis arrays of the results (``eps_tilde_over_U``, ``V_over_U``, ``eps_tilde``, ``V``)."""
        return {
            "eps_tilde_over_U": self.eps_tilde_over_U,
            "V_over_U": self.V_over_U,
            "eps_tilde": self.eps_tilde,
            "V": self.V,
        }


@dataclass(frozen=True)
class MagnetConfig:
    """Drain macrospin (docs/physics.md §6): S in ħ, energies in Γ; σ² via :func:`thermal_field_variance`."""

    S: float
    KV: float
    alpha: float
    sigma2: float | None
    T_m: float | None
    anisotropy: str
    K_cubic: float
    field: tuple[float, ...]
    free: str

    @property
    def cubic_anisotropy(self) -> float:
        """K_cubic if ``anisotropy: cubic``, else 0 (Γ)."""
        return self.K_cubic if self.anisotropy == "cubic" else 0.0


def thermal_field_variance(magnet: MagnetConfig) -> float:
    """σ² (Γ²/Γ): ``magnet.sigma2`` if given, else 2α T_m if T_m is given, else DEFAULT_SIGMA2 (both null)."""
    if magnet.sigma2 is not None:
        return magnet.sigma2
    if magnet.T_m is not None:
        return 2.0 * magnet.alpha * magnet.T_m
    return DEFAULT_SIGMA2


@dataclass(frozen=True)
class TorqueConfig:
    """Torque model: ``transport`` (tabulated O(Γ²) torques) or ``constant`` coefficients (Γ)."""

    model: str
    field_like: float
    damping_like: float
    source_field_like: float | None = None
    source_damping_like: float | None = None


@dataclass(frozen=True)
class DynamicsConfig:
    """Ensemble dynamics of the switching diagram (times in 1/Γ)."""

    dt: float
    t_end: float
    average_from: float
    trajectories_per_point: int
    initial_theta: float
    switch_threshold: float
    crossing_correction: bool
    chunk_steps: int
    sample_every: int | None

    @property
    def steps(self) -> int:
        """t_end/dt (validated to be an integer)."""
        return step_count(self.t_end, self.dt)


@dataclass(frozen=True)
class FiguresConfig:
    """Points and scales of Figs. 2–4 (points in units of U, Γ if U = 0)."""

    inset_eps_tilde: float
    inset_V: tuple[float, ...]
    torque_inset_eps_tilde: float
    torque_inset_V: float
    readout_inset_eps_tilde: float
    width: str | float
    style: str
    current_clip_decades: float


@dataclass(frozen=True)
class RunConfig:
    """A validated, fully resolved configuration.

    Core sections are attributes (``cfg.transport.U``, ``cfg.grid.V``); the sections that stages
    declare are in ``sections`` and also attributes (``cfg.statistics.t_end``). ``data`` is the
    resolved mapping (defaults filled in) as written to config.yaml; treat it as read-only.
    """

    name: str
    seed: int
    backend: str
    runs_dir: Path
    outputs: tuple[str, ...]
    transport: TransportConfig
    grid: Grid
    magnet: MagnetConfig
    torque: TorqueConfig
    dynamics: DynamicsConfig
    figures: FiguresConfig
    sections: Mapping[str, Any]
    stages: tuple[str, ...]
    data: dict
    source: str = "<dict>"
    warnings: tuple[str, ...] = ()
    execution: ExecutionSettings = ExecutionSettings()

    @classmethod
    def from_data(
        cls,
        data: dict,
        section_classes: Mapping[str, type],
        stages: tuple[str, ...],
        source: str = "<dict>",
        warnings: tuple[str, ...] = (),
    ) -> RunConfig:
        """Typed view of a validated mapping; ``section_classes`` maps stage section keys to dataclasses,
        ``stages`` names the stages the outputs need, in run order."""
        tr = data["transport"]
        grid = Grid.from_data(data)
        return cls(
            name=data["name"],
            seed=data["seed"],
            backend=data["backend"],
            runs_dir=Path(data["runs_dir"]),
            outputs=tuple(data["outputs"]),
            transport=section_from_mapping(TransportConfig, tr),
            grid=grid,
            magnet=section_from_mapping(MagnetConfig, data["magnet"]),
            torque=section_from_mapping(TorqueConfig, data["torque"]),
            dynamics=section_from_mapping(DynamicsConfig, data["dynamics"]),
            figures=section_from_mapping(FiguresConfig, data["figures"]),
            sections={k: section_from_mapping(c, data[k]) for k, c in section_classes.items()},
            stages=tuple(stages),
            data=data,
            source=source,
            warnings=tuple(warnings),
            execution=execution_settings(data),
        )

    def __getattr__(self, name: str) -> Any:
        sections = self.__dict__.get("sections", {})
        if name in sections:
            return sections[name]
        raise AttributeError(name)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    @property
    def run_dir(self) -> Path:
        return self.runs_dir / self.name

    @property
    def needs_dynamics(self) -> bool:
        """True if the switching-diagram ensemble (stage ``dynamics``) runs."""
        return "dynamics" in self.stages

    @property
    def sigma2(self) -> float:
        """Thermal-field variance σ² (Γ²/Γ), :func:`thermal_field_variance`."""
        return thermal_field_variance(self.magnet)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.data, sort_keys=False, allow_unicode=True)

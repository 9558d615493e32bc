"""Schema of the YAML run configuration: node types, the core sections, and the full schema assembled
with the sections that stages declare (:func:`build_schema`).

Units: energies in Γ = (Γ_S + Γ_D)/2, times in 1/Γ (docs/physics.md §1); grid axes in units of
``grid.unit``; ``figures.*`` / ``statistics.*`` / ``fmr.*`` points in units of U (Γ if U = 0).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gpuqd.dynamics.engines.registry import CHOICES

__all__ = [
    "REQUIRED",
    "BACKENDS",
    "DEFAULT_SIGMA2",
    "Num",
    "Choice",
    "Str",
    "Vec3",
    "Flag",
    "OutputList",
    "Section",
    "CORE_SCHEMA",
    "build_schema",
    "fmt_number",
    "schema_reference",
]

BACKENDS = CHOICES  # auto, numpy, cpu, cupy (gpuqd.dynamics.engines.registry)
REQUIRED = object()
#: σ² (Γ²/Γ) used when neither magnet.sigma2 nor magnet.T_m is given (see config.thermal_field_variance)
DEFAULT_SIGMA2 = 1.0e-4


@dataclass
class Num:
    """A real (``kind='float'``) or integer (``kind='int'``) scalar with an optional range."""

    kind: str = "float"
    default: Any = REQUIRED
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    unit: str = ""
    doc: str = ""
    nullable: bool = False
    note: str = ""  # appended to out-of-range messages

    def range_text(self, name: str) -> str:
        parts = []
        if self.lo is not None:
            parts.append(f"{fmt_number(self.lo)} {'<' if self.lo_open else '<='} ")
        parts.append(name)
        if self.hi is not None:
            parts.append(f" {'<' if self.hi_open else '<='} {fmt_number(self.hi)}")
        text = "".join(parts)
        return text if (self.lo is not None or self.hi is not None) else f"any finite {self.kind}"


@dataclass
class Choice:
    """One of ``choices`` (strings), or, where ``number`` is given, a number in its range."""

    choices: tuple
    default: Any = REQUIRED
    doc: str = ""
    number: Num | None = None

    def allowed(self, name: str) -> str:
        """The allowed values in words, e.g. ``double | single | a number 2 <= width <= 12``."""
        number = f" | a number {self.number.range_text(name)}" if self.number is not None else ""
        return " | ".join(self.choices) + number


@dataclass
class Str:
    default: Any = REQUIRED
    pattern: str = r".+"
    doc: str = ""
    nullable: bool = False


@dataclass
class Vec3:
    default: Any = REQUIRED
    unit: str = ""
    doc: str = ""
    bound: float = 1e6
    length: int | None = 3  # None: any length >= 1


@dataclass
class Flag:
    """A boolean (YAML true/false)."""

    default: Any = REQUIRED
    doc: str = ""


@dataclass
class OutputList:
    choices: tuple = ()
    default: Any = REQUIRED
    doc: str = ""


@dataclass
class Section:
    fields: dict
    doc: str = ""
    optional: bool = False  # whole section may be omitted (defaults apply)


def fmt_number(x: float) -> str:
    """Short text of a number for messages (integers without a decimal point)."""
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e15):
        return str(int(x))
    return f"{x:g}"


_AXIS = Section(
    {
        "start": Num(doc="first grid value", unit="grid.unit", lo=-1e6, hi=1e6),
        "stop": Num(doc="last grid value (inclusive; start <= stop)", unit="grid.unit", lo=-1e6, hi=1e6),
        "num": Num(
            "int", lo=1, hi=4001, doc="number of grid points (num = 1 uses start)", note="num < 1 gives an empty grid"
        ),
    }
)

CORE_SCHEMA = Section(
    {
        "name": Str(pattern=r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", doc="run name; results go to <runs_dir>/<name>/"),
        "seed": Num("int", default=0, lo=0, hi=2**64 - 1, doc="64-bit seed of the counter-based noise"),
        "backend": Choice(
            BACKENDS, default="auto", doc="compute backend: auto (cupy → cpu → numpy, first usable), numpy, cpu, cupy"
        ),
        "runs_dir": Str(default="runs", doc="parent directory of run directories (relative to the CWD)"),
        "transport": Section(
            {
                "U": Num(lo=0, hi=1e6, unit="Γ", doc="charging energy"),
                "T": Num(
                    lo=0,
                    hi=1e6,
                    lo_open=True,
                    unit="Γ",
                    doc="electron temperature of both leads",
                    note="the perturbative expansion needs T > 0",
                ),
                "gamma_S": Num(
                    lo=0,
                    hi=2,
                    lo_open=True,
                    hi_open=True,
                    unit="Γ",
                    doc="source coupling Γ_S (Γ_S + Γ_D = 2 since Γ is the unit)",
                ),
                "gamma_D": Num(lo=0, hi=2, lo_open=True, hi_open=True, unit="Γ", doc="drain coupling Γ_D"),
                "p_S": Num(
                    lo=0,
                    hi=1,
                    hi_open=True,
                    doc="source spin polarisation (p = 1 is singular)",
                    note="p = 1, a fully polarised lead, makes the minority channel vanish and the kernel singular",
                ),
                "p_D": Num(
                    lo=0,
                    hi=1,
                    hi_open=True,
                    doc="drain spin polarisation",
                    note="p = 1, a fully polarised lead, makes the minority channel vanish and the kernel singular",
                ),
                "order": Num("int", default=2, lo=1, hi=2, doc="perturbative order in Γ: 1 or 2"),
                "n_theta": Num(
                    "int",
                    default=384,
                    lo=8,
                    hi=4096,
                    doc="θ nodes of the torque table (log-clustered at θ = 0, π; 384 keeps "
                    "the interpolation error ≲ 1e-4 of max|I|)",
                ),
            }
        ),
        "grid": Section(
            {
                "unit": Choice(("U", "Gamma"), default="U", doc="unit of the grid axes: U or Gamma (Γ)"),
                "eps_tilde": _AXIS,
                "V": _AXIS,
            }
        ),
        "magnet": Section(
            {
                "S": Num(default=1.0, lo=0, hi=1e9, lo_open=True, unit="ħ", doc="macrospin length"),
                "KV": Num(default=0.01, lo=0, hi=1e6, unit="Γ", doc="uniaxial anisotropy energy (easy axis e_z)"),
                "alpha": Num(default=0.1, lo=0, hi=100, lo_open=True, doc="Gilbert damping ([G] form)"),
                "sigma2": Num(
                    default=None,
                    lo=0,
                    hi=1e3,
                    nullable=True,
                    unit="Γ²/Γ",
                    doc="thermal-field variance σ² = 2α T_m (give sigma2 or T_m; null: 2α T_m, "
                    "or 1e-4 if T_m is null too)",
                ),
                "T_m": Num(default=None, lo=0, hi=1e3, nullable=True, unit="Γ", doc="magnet temperature"),
                "anisotropy": Choice(
                    ("uniaxial", "cubic"), default="uniaxial", doc="uniaxial: KV only; cubic: adds K_cubic"
                ),
                "K_cubic": Num(default=0.0, lo=-1e6, hi=1e6, unit="Γ", doc="cubic anisotropy (anisotropy: cubic)"),
                "field": Vec3(default=[0.0, 0.0, 0.0], unit="Γ", doc="external field (energy units) [hx, hy, hz]"),
                "free": Choice(
                    ("drain", "both"),
                    default="drain",
                    doc="drain: source fixed along e_z; both: source free too (approximation)",
                ),
            },
            optional=True,
        ),
        "torque": Section(
            {
                "model": Choice(
                    ("transport", "constant"),
                    default="transport",
                    doc="transport: tabulated O(Γ²) torques; constant: fixed coefficients",
                ),
                "field_like": Num(default=0.0, lo=-1e6, hi=1e6, unit="Γ", doc="I_FL for model: constant"),
                "damping_like": Num(default=0.0, lo=-1e6, hi=1e6, unit="Γ", doc="I_DL for model: constant"),
                "source_field_like": Num(
                    default=None,
                    lo=-1e6,
                    hi=1e6,
                    nullable=True,
                    unit="Γ",
                    doc="source's I_FL for model: constant with magnet.free: both",
                ),
                "source_damping_like": Num(
                    default=None,
                    lo=-1e6,
                    hi=1e6,
                    nullable=True,
                    unit="Γ",
                    doc="source's I_DL for model: constant with magnet.free: both",
                ),
            },
            optional=True,
        ),
        "dynamics": Section(
            {
                "dt": Num(default=0.01, lo=0, hi=1e3, lo_open=True, unit="1/Γ", doc="time step"),
                "t_end": Num(default=2.0e4, lo=0, hi=1e9, lo_open=True, unit="1/Γ", doc="end time"),
                "average_from": Num(
                    default=1.0e4, lo=0, hi=1e9, unit="1/Γ", doc="start of the averaging window [average_from, t_end)"
                ),
                "trajectories_per_point": Num(
                    "int", default=1, lo=1, hi=100000, doc="noise realisations per (ε̃, V) point"
                ),
                "initial_theta": Num(default=0.0, lo=0, hi=math.pi, unit="rad", doc="initial polar angle"),
                "switch_threshold": Num(
                    default=0.5,
                    lo=0,
                    hi=1,
                    lo_open=True,
                    hi_open=True,
                    doc="u_s: P if n_z > u_s, AP if n_z < −u_s (docs/physics.md §10)",
                ),
                "crossing_correction": Flag(
                    default=True,
                    doc="switching_times: test the thresholds moved by β σ_u √dt so that first passages of the "
                    "continuous path are detected (docs/physics.md §16)",
                ),
                "chunk_steps": Num("int", default=20000, lo=1, hi=10**9, doc="steps between checkpoints"),
                "sample_every": Num(
                    "int",
                    default=None,
                    lo=1,
                    hi=10**9,
                    nullable=True,
                    doc="steps between stored θ(t) samples of the inset trajectories "
                    "(default: ~2000 samples per trajectory)",
                ),
            },
            optional=True,
        ),
        "figures": Section(
            {
                "inset_eps_tilde": Num(
                    default=0.2,
                    lo=-1e6,
                    hi=1e6,
                    unit="U",
                    doc="ε̃ of the Fig. 2 inset trajectories (nearest grid point)",
                ),
                "inset_V": Vec3(
                    default=[0.1, 0.175],
                    unit="U",
                    length=None,
                    doc="V values of the Fig. 2 inset trajectories (nearest grid points)",
                ),
                "torque_inset_eps_tilde": Num(
                    default=0.25, lo=-1e6, hi=1e6, unit="U", doc="ε̃ of the Fig. 4 insets I(θ)"
                ),
                "torque_inset_V": Num(default=-0.15, lo=-1e6, hi=1e6, unit="U", doc="V of the Fig. 4 insets"),
                "readout_inset_eps_tilde": Num(
                    default=-0.3, lo=-1e6, hi=1e6, unit="U", doc="ε̃ of the Fig. 3 insets I_FL, I_DL vs V (nearest row)"
                ),
                "width": Choice(
                    ("double", "single"),
                    default="double",
                    number=Num(lo=2.0, hi=12.0, unit="in"),
                    doc="figure width: double (7.0 in, a double-column journal figure), single (3.4 in; "
                    "figures with many panels draw a reduced set and say so in their caption), or inches",
                ),
                "style": Choice(("sans", "serif"), default="sans", doc="font family of the figures"),
                "current_clip_decades": Num(
                    default=0.5,
                    lo=0,
                    hi=30,
                    doc="Fig. 3 colour-scale top = largest log10(I_C/V) inside the "
                    "Coulomb diamond + this many decades (clips the rest)",
                ),
            },
            optional=True,
        ),
        # execution engine and cpu threads (gpuqd.run.config.execution_settings); results do not depend on
        # them (not hashed)
        "execution": Section(
            {
                "engine": Choice(
                    ("local", "dask"),
                    default="local",
                    doc="local: in this process; dask: work units on a Dask cluster (gpuqd[dask])",
                ),
                "scheduler": Str(
                    default=None,
                    nullable=True,
                    pattern=r"\S+",
                    doc="dask: address of an existing scheduler, e.g. tcp://host:8786 (null: start "
                    "a local cluster on 127.0.0.1)",
                ),
                "workers": Num(
                    "int",
                    default=2,
                    lo=1,
                    hi=4096,
                    doc="dask without a scheduler: worker processes of the local cluster (1 thread "
                    "each; backend cupy: one per visible GPU)",
                ),
                "threads": Num(
                    "int",
                    default=None,
                    lo=1,
                    hi=4096,
                    nullable=True,
                    doc="OpenMP threads of each cpu-backend engine, and the threads of a local run's torque "
                    "table and write-error map (null: OMP_NUM_THREADS, resp. GPUQD_TRANSPORT_WORKERS, if set, "
                    "else all usable cores; on local Dask workers 1); results do not depend on it",
                ),
            },
            optional=True,
        ),
        # the stages add their own sections (statistics, fmr, ...) and the allowed outputs: build_schema
        "outputs": OutputList(default=["switching_diagram", "readout", "torque_maps"], doc="outputs to compute"),
    }
)


def build_schema(sections: Iterable[tuple[str, Section]], outputs: tuple[str, ...]) -> Section:
    """The full schema: :data:`CORE_SCHEMA` plus the stage ``sections`` and the allowed ``outputs``."""
    fields = dict(CORE_SCHEMA.fields)
    fields["outputs"] = OutputList(
        choices=tuple(outputs), default=fields["outputs"].default, doc="subset of " + ", ".join(outputs)
    )
    for key, section in sections:
        if key in fields:
            raise ValueError(f"configuration section {key!r} declared twice")
        fields[key] = section
    return Section(fields)


def schema_reference(spec: Section, prefix: str = "") -> list[tuple[str, str, str, str, str]]:
    """Rows (key, default, unit, allowed, description) documenting every key (used for the README)."""
    rows = []
    for key, sub in spec.fields.items():
        kp = f"{prefix}.{key}" if prefix else key
        if isinstance(sub, Section):
            rows.extend(schema_reference(sub, kp))
            continue
        default = getattr(sub, "default", REQUIRED)
        dtext = "required" if default is REQUIRED else repr(default)
        unit = getattr(sub, "unit", "")
        if isinstance(sub, Num):
            allowed = sub.range_text(key) + (" or null" if sub.nullable else "")
        elif isinstance(sub, Choice):
            allowed = sub.allowed(key)
        elif isinstance(sub, OutputList):
            allowed = "subset of " + ", ".join(sub.choices)
        elif isinstance(sub, Vec3):
            allowed = "list of numbers"
        elif isinstance(sub, Flag):
            allowed = "true | false"
        else:
            allowed = f"string matching {sub.pattern}"
        rows.append((kp, dtext, unit, allowed, sub.doc))
    return rows

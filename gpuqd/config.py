"""YAML run configuration: schema, defaults, validation and ``--set`` overrides.

A configuration is validated completely *before* any computation or any file is written.
Every problem raises :class:`ConfigError` whose one-line message names the file, the key path and
the allowed range (unknown keys get a did-you-mean suggestion).  Units: all energies in units of
Γ = (Γ_S + Γ_D)/2, times in 1/Γ (physics-spec §1); grid axes in units of ``grid.unit``.

Usage::

    cfg = load_config("configs/fig2.yaml", overrides=["transport.T=5"], runs_dir="runs")
    cfg.data["transport"]["T"]   # resolved, defaults filled in
    cfg.warnings                 # list of non-fatal remarks (e.g. Γ/T not small)
"""

from __future__ import annotations

import copy
import difflib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "ConfigError",
    "Config",
    "SCHEMA",
    "OUTPUTS",
    "load_config",
    "validate_config",
    "apply_override",
    "parse_yaml",
    "dt_limit",
    "grid_axes",
    "schema_reference",
]

OUTPUTS = ("switching_diagram", "readout", "torque_maps", "fmr", "switching_times")
BACKENDS = ("auto", "numpy", "cupy")
REQUIRED = object()


class ConfigError(ValueError):
    """Invalid configuration or command-line input (message is one line, user-facing)."""


# --------------------------------------------------------------------------------------- YAML
class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-4`` / ``2e4`` (no dot) as floats (YAML 1.2 behaviour)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def parse_yaml(text: str, source: str = "<string>") -> Any:
    """Parse YAML text (safe loader, ``1e-4`` is a float); syntax errors become ConfigError."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{source}: invalid YAML{where}: {problem}") from None


# --------------------------------------------------------------------------------------- schema
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
            parts.append(f"{_fmt(self.lo)} {'<' if self.lo_open else '<='} ")
        parts.append(name)
        if self.hi is not None:
            parts.append(f" {'<' if self.hi_open else '<='} {_fmt(self.hi)}")
        text = "".join(parts)
        return text if (self.lo is not None or self.hi is not None) else f"any finite {self.kind}"


@dataclass
class Choice:
    choices: tuple
    default: Any = REQUIRED
    doc: str = ""


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
    choices: tuple = OUTPUTS
    default: Any = REQUIRED
    doc: str = ""


@dataclass
class Section:
    fields: dict
    doc: str = ""
    optional: bool = False  # whole section may be omitted (defaults apply)


def _fmt(x: float) -> str:
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e15):
        return str(int(x))
    return f"{x:g}"


_AXIS = Section(
    {
        "start": Num(doc="first grid value", unit="grid.unit", lo=-1e6, hi=1e6),
        "stop": Num(doc="last grid value (inclusive; start <= stop)", unit="grid.unit", lo=-1e6, hi=1e6),
        "num": Num("int", lo=1, hi=4001, doc="number of grid points (num = 1 uses start)",
                   note="num < 1 gives an empty grid"),
    }
)

SCHEMA = Section(
    {
        "name": Str(pattern=r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}",
                    doc="run name; results go to <runs_dir>/<name>/"),
        "seed": Num("int", default=0, lo=0, hi=2**64 - 1, doc="64-bit seed of the counter-based noise"),
        "backend": Choice(BACKENDS, default="auto",
                          doc="array backend: auto (cupy if a GPU is usable), numpy, cupy"),
        "runs_dir": Str(default="runs", doc="parent directory of run directories (relative to the CWD)"),
        "transport": Section(
            {
                "U": Num(lo=0, hi=1e6, unit="Γ", doc="charging energy"),
                "T": Num(lo=0, hi=1e6, lo_open=True, unit="Γ", doc="electron temperature of both leads",
                         note="the perturbative expansion needs T > 0"),
                "gamma_S": Num(lo=0, hi=2, lo_open=True, hi_open=True, unit="Γ",
                               doc="source coupling Γ_S (Γ_S + Γ_D = 2 since Γ is the unit)"),
                "gamma_D": Num(lo=0, hi=2, lo_open=True, hi_open=True, unit="Γ", doc="drain coupling Γ_D"),
                "p_S": Num(lo=0, hi=1, hi_open=True, doc="source spin polarisation (p = 1 is singular)",
                           note="p = 1, a fully polarised lead, makes the minority channel vanish and the "
                                "kernel singular"),
                "p_D": Num(lo=0, hi=1, hi_open=True, doc="drain spin polarisation",
                           note="p = 1, a fully polarised lead, makes the minority channel vanish and the "
                                "kernel singular"),
                "order": Num("int", default=2, lo=1, hi=2, doc="perturbative order in Γ: 1 or 2"),
                "n_theta": Num("int", default=384, lo=8, hi=4096,
                               doc="θ nodes of the torque table (log-clustered at θ = 0, π; 384 keeps "
                                   "the interpolation error ≲ 1e-4 of max|I|)"),
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
                "KV": Num(default=0.01, lo=0, hi=1e6, unit="Γ",
                          doc="uniaxial anisotropy energy (easy axis e_z)"),
                "alpha": Num(default=0.1, lo=0, hi=100, lo_open=True, doc="Gilbert damping ([G] form)"),
                "sigma2": Num(default=None, lo=0, hi=1e3, nullable=True, unit="Γ²/Γ",
                              doc="thermal-field variance σ² = 2α T_m (give sigma2 or T_m)"),
                "T_m": Num(default=None, lo=0, hi=1e3, nullable=True, unit="Γ", doc="magnet temperature"),
                "anisotropy": Choice(("uniaxial", "cubic"), default="uniaxial",
                                     doc="uniaxial: KV only; cubic: adds K_cubic"),
                "K_cubic": Num(default=0.0, lo=-1e6, hi=1e6, unit="Γ",
                               doc="cubic anisotropy (anisotropy: cubic)"),
                "field": Vec3(default=[0.0, 0.0, 0.0], unit="Γ",
                              doc="external field (energy units) [hx, hy, hz]"),
                "free": Choice(("drain", "both"), default="drain",
                               doc="drain: source fixed along e_z; both: source free too (approximation)"),
            },
            optional=True,
        ),
        "torque": Section(
            {
                "model": Choice(("transport", "constant"), default="transport",
                                doc="transport: tabulated O(Γ²) torques; constant: fixed coefficients"),
                "field_like": Num(default=0.0, lo=-1e6, hi=1e6, unit="Γ", doc="I_FL for model: constant"),
                "damping_like": Num(default=0.0, lo=-1e6, hi=1e6, unit="Γ", doc="I_DL for model: constant"),
            },
            optional=True,
        ),
        "dynamics": Section(
            {
                "dt": Num(default=0.01, lo=0, hi=1e3, lo_open=True, unit="1/Γ", doc="time step"),
                "t_end": Num(default=2.0e4, lo=0, hi=1e9, lo_open=True, unit="1/Γ", doc="end time"),
                "average_from": Num(default=1.0e4, lo=0, hi=1e9, unit="1/Γ",
                                    doc="start of the averaging window [average_from, t_end)"),
                "trajectories_per_point": Num("int", default=1, lo=1, hi=100000,
                                              doc="noise realisations per (ε̃, V) point"),
                "initial_theta": Num(default=0.0, lo=0, hi=math.pi, unit="rad", doc="initial polar angle"),
                "switch_threshold": Num(default=0.5, lo=0, hi=1, lo_open=True, hi_open=True,
                                        doc="u_s: P if n_z > u_s, AP if n_z < −u_s (spec §10)"),
                "chunk_steps": Num("int", default=20000, lo=1, hi=10**9, doc="steps between checkpoints"),
                "sample_every": Num("int", default=None, lo=1, hi=10**9, nullable=True,
                                    doc="steps between stored θ(t) samples of the inset trajectories "
                                        "(default: ~2000 samples per trajectory)"),
            },
            optional=True,
        ),
        "figures": Section(
            {
                "inset_eps_tilde": Num(default=0.2, lo=-1e6, hi=1e6, unit="U",
                                       doc="ε̃ of the Fig. 2 inset trajectories (nearest grid point)"),
                "inset_V": Vec3(default=[0.1, 0.175], unit="U", length=None,
                                doc="V values of the Fig. 2 inset trajectories (nearest grid points)"),
                "torque_inset_eps_tilde": Num(default=0.25, lo=-1e6, hi=1e6, unit="U",
                                              doc="ε̃ of the Fig. 4 insets I(θ)"),
                "torque_inset_V": Num(default=-0.15, lo=-1e6, hi=1e6, unit="U", doc="V of the Fig. 4 insets"),
                "readout_inset_eps_tilde": Num(default=-0.3, lo=-1e6, hi=1e6, unit="U",
                                               doc="ε̃ of the Fig. 3 insets I_FL, I_DL vs V (nearest row)"),
                "current_clip_decades": Num(default=0.5, lo=0, hi=30,
                                            doc="Fig. 3 colour-scale top = largest log10(I_C/V) inside the "
                                                "Coulomb diamond + this many decades (clips the rest)"),
            },
            optional=True,
        ),
        # switching-time statistics (output `switching_times`, gpuqd.switching_times); cross-key checks in
        # gpuqd.switching_times.check_statistics_config
        "statistics": Section(
            {
                "protocol": Choice(("P_to_AP", "AP_to_P", "both"), default="P_to_AP",
                                   doc="P_to_AP: start at θ = 0; AP_to_P: start at θ = π; both"),
                "trajectories_per_point": Num("int", default=100, lo=1, hi=100000,
                                              doc="trajectories per grid point and protocol (adaptive: round 0)"),
                "t_end": Num(default=None, lo=0, hi=1e9, lo_open=True, nullable=True, unit="1/Γ",
                             doc="observation window, first passages later are censored (null: dynamics.t_end)"),
                "chunk_steps": Num("int", default=5000, lo=1, hi=10**9,
                                   doc="steps between compactions and checkpoints"),
                "compaction": Flag(default=True, doc="stop stepping trajectories once they have switched"),
                "confidence": Num(default=0.95, lo=0, hi=1, lo_open=True, hi_open=True,
                                  doc="confidence level of all intervals"),
                "min_switched_fraction": Num(default=1.0, lo=0.5, hi=1,
                                             doc="report the mean time (not the restricted mean) where at least "
                                                 "this fraction switched"),
                "probability_fractions": Vec3(default=[0.1, 0.3, 1.0], length=None,
                                              doc="times t/t_end at which P(switched by t) is reported"),
                "survival_eps_tilde": Num(default=0.2, lo=-1e6, hi=1e6, unit="U",
                                          doc="ε̃ of the survival curves / histograms (nearest grid point)"),
                "survival_V": Vec3(default=[0.1, 0.175], unit="U", length=None,
                                   doc="V values of the survival curves / histograms (nearest grid points)"),
                "adaptive": Flag(default=False, doc="add trajectories where the CI target is not met"),
                "target": Choice(("mean_time", "rate"), default="mean_time",
                                 doc="quantity whose relative CI width drives the adaptive rounds"),
                "target_relative_ci_width": Num(default=0.2, lo=0, hi=100, lo_open=True,
                                                doc="adaptive target: CI width / estimate"),
                "max_trajectories_per_point": Num("int", default=1000, lo=1, hi=100000,
                                                  doc="adaptive cap per grid point and protocol"),
                "max_rounds": Num("int", default=8, lo=1, hi=1000, doc="adaptive cap on rounds (incl. round 0)"),
            },
            optional=True,
        ),
        # execution engine (gpuqd.run.execution); results do not depend on it (not part of the config hash)
        "execution": Section(
            {
                "engine": Choice(("local", "dask"), default="local",
                                 doc="local: in this process; dask: work units on a Dask cluster (gpuqd[dask])"),
                "scheduler": Str(default=None, nullable=True, pattern=r"\S+",
                                 doc="dask: address of an existing scheduler, e.g. tcp://host:8786 (null: start "
                                     "a local cluster on 127.0.0.1)"),
                "workers": Num("int", default=2, lo=1, hi=4096,
                               doc="dask without a scheduler: worker processes of the local cluster (1 thread "
                                   "each; backend cupy: one per visible GPU)"),
            },
            optional=True,
        ),
        "outputs": OutputList(default=["switching_diagram", "readout", "torque_maps"],
                              doc="subset of switching_diagram, readout, torque_maps, fmr, switching_times"),
        # FMR readout (output `fmr`, gpuqd.fmr_run); cross-key checks in gpuqd.fmr_run.check_fmr_config
        "fmr": Section(
            {
                "spectra_eps_tilde": Vec3(default=[0.25, -0.3], unit="U", length=None,
                                          doc="ε̃ of the χ(Ω) spectra points (exact points, paired with spectra_V)"),
                "spectra_V": Vec3(default=[-0.15, 0.1], unit="U", length=None,
                                  doc="V of the spectra points (same length as spectra_eps_tilde)"),
                "span": Num(default=8.0, lo=0, hi=1e6, lo_open=True,
                            doc="spectrum window |Ω_R| ± span·Γ_relax (Γ_relax ≈ linewidth), clipped at 0"),
                "omega_min": Num(default=None, lo=0, hi=1e6, nullable=True, unit="Γ",
                                 doc="fixed lower end of every spectrum window (null: automatic)"),
                "omega_max": Num(default=None, lo=0, hi=1e6, lo_open=True, nullable=True, unit="Γ",
                                 doc="fixed upper end of every spectrum window (null: automatic)"),
                "n_omega": Num("int", default=401, lo=2, hi=100000, doc="formula points per spectrum"),
                "simulate": Flag(default=False, doc="also simulate FMR with the ensemble engine at the spectra "
                                                    "points (markers over the formula)"),
                "simulate_omegas": Num("int", default=7, lo=1, hi=200,
                                       doc="simulated frequencies per spectrum (one engine run each)"),
                "drive_angle": Num(default=1e-6, lo=0, hi=0.01, lo_open=True, unit="rad",
                                   doc="drive amplitude, as the cone angle it causes at resonance: "
                                       "h_x = drive_angle / max|χ|"),
                "periods": Num("int", default=20, lo=1, hi=100000, doc="lock-in periods (whole periods)"),
                "settle_decays": Num(default=12.0, lo=0, hi=1000,
                                     doc="wait before the lock-in, in relaxation times 1/Γ_relax "
                                         "(transient suppressed by e^-settle_decays)"),
                "steps_per_period": Num("int", default=800, lo=64, hi=10**6,
                                        doc="time steps per drive period (dt = 2π/(Ω·steps_per_period))"),
                "noise": Flag(default=False, doc="simulate at the magnet temperature (magnet.sigma2 / T_m), "
                                                 "averaging over fmr.trajectories; false: σ² = 0"),
                "trajectories": Num("int", default=1, lo=1, hi=100000,
                                    doc="trajectories per simulated point (for noise: true)"),
            },
            optional=True,
        ),
    }
)


# --------------------------------------------------------------------------------------- result
@dataclass
class Config:
    """A validated, fully resolved configuration."""

    data: dict
    source: str = "<dict>"
    warnings: list = field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def runs_dir(self) -> Path:
        return Path(self.data["runs_dir"])

    @property
    def run_dir(self) -> Path:
        return self.runs_dir / self.data["name"]

    @property
    def needs_dynamics(self) -> bool:
        return bool({"switching_diagram", "readout"} & set(self.data["outputs"]))

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.data, sort_keys=False, allow_unicode=True)


# --------------------------------------------------------------------------------------- helpers
class _Ctx:
    def __init__(self, source: str, override_keys: set[str]):
        self.source = source
        self.override_keys = override_keys

    def where(self, path: str) -> str:
        if path in self.override_keys:
            return f"{self.source}: {path} (from --set/command line)"
        return f"{self.source}: {path}" if path else self.source

    def fail(self, path: str, msg: str) -> None:
        raise ConfigError(f"{self.where(path)}: {msg}")


def _suggest(key: str, options) -> str:
    close = difflib.get_close_matches(str(key), list(options), n=1, cutoff=0.6)
    if not close:
        close = [o for o in options if str(o).lower() == str(key).lower()]
    return f"; did you mean '{close[0]}'?" if close else f"; allowed keys: {', '.join(options)}"


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _check_num(spec: Num, value: Any, path: str, ctx: _Ctx) -> Any:
    name = path.rsplit(".", 1)[-1]
    if value is None:
        if spec.nullable:
            return None
        ctx.fail(path, f"missing value; expected a number in the range {spec.range_text(name)}")
    if not _is_number(value):
        ctx.fail(path, f"expected a{'n integer' if spec.kind == 'int' else ' number'}, got "
                       f"{type(value).__name__} {value!r} (allowed: {spec.range_text(name)})")
    if not math.isfinite(value):
        ctx.fail(path, f"must be finite, got {value!r} (allowed: {spec.range_text(name)})")
    if spec.kind == "int":
        if isinstance(value, float):
            if not value.is_integer():
                ctx.fail(path, f"expected an integer, got {value!r} (allowed: {spec.range_text(name)})")
            value = int(value)
    else:
        value = float(value)
    bad = False
    if spec.lo is not None and (value < spec.lo or (spec.lo_open and value == spec.lo)):
        bad = True
    if spec.hi is not None and (value > spec.hi or (spec.hi_open and value == spec.hi)):
        bad = True
    if bad:
        note = f" ({spec.note})" if spec.note else ""
        ctx.fail(path, f"value {_fmt(value)} out of range; allowed: {spec.range_text(name)}{note}")
    return value


def _check(spec: Any, value: Any, path: str, ctx: _Ctx, present: bool) -> Any:
    if isinstance(spec, Section):
        if not present or value is None:
            subs = spec.fields.values()
            if not spec.optional and any(getattr(s, "default", None) is REQUIRED or isinstance(s, Section)
                                         for s in subs):
                ctx.fail(path, f"missing required section '{path}' (keys: {', '.join(spec.fields)})")
            value = {}
        if not isinstance(value, Mapping):
            ctx.fail(path, f"expected a mapping with keys {', '.join(spec.fields)}, got "
                           f"{type(value).__name__} {value!r}")
        for key in value:
            if key not in spec.fields:
                kp = f"{path}.{key}" if path else str(key)
                ctx.fail(kp, f"unknown key '{key}'{_suggest(key, spec.fields)}")
        out = {}
        for key, sub in spec.fields.items():
            kp = f"{path}.{key}" if path else key
            out[key] = _check(sub, value.get(key), kp, ctx, key in value)
        return out
    if not present:
        default = getattr(spec, "default", REQUIRED)
        if default is REQUIRED:
            ctx.fail(path, "missing required key" + (f" ({spec.doc})" if getattr(spec, "doc", "") else ""))
        return copy.deepcopy(default)
    if isinstance(spec, Num):
        return _check_num(spec, value, path, ctx)
    if isinstance(spec, Choice):
        if not isinstance(value, str) or value not in spec.choices:
            hint = ""
            if isinstance(value, str):
                close = difflib.get_close_matches(value, spec.choices, n=1, cutoff=0.5)
                hint = f"; did you mean '{close[0]}'?" if close else ""
            ctx.fail(path, f"invalid value {value!r}; allowed: {' | '.join(spec.choices)}{hint}")
        return value
    if isinstance(spec, Str):
        if value is None and spec.nullable:
            return None
        if not isinstance(value, str) or not re.fullmatch(spec.pattern, value):
            ctx.fail(path, f"expected a string matching {spec.pattern!r}, got {value!r}")
        return value
    if isinstance(spec, Vec3):
        length = spec.length
        ok = isinstance(value, list | tuple) and all(_is_number(v) and math.isfinite(v) for v in value)
        ok = ok and (len(value) == length if length else len(value) >= 1)
        if not ok:
            want = f"a list of {length} numbers" if length else "a non-empty list of numbers"
            ctx.fail(path, f"expected {want} ({spec.unit}), got {value!r}")
        if any(abs(v) > spec.bound for v in value):
            ctx.fail(path, f"components must satisfy |x| <= {_fmt(spec.bound)}, got {value!r}")
        return [float(v) for v in value]
    if isinstance(spec, Flag):
        if not isinstance(value, bool):
            ctx.fail(path, f"expected true or false, got {value!r}")
        return value
    if isinstance(spec, OutputList):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not value:
            ctx.fail(path, f"expected a non-empty list from {', '.join(spec.choices)}, got {value!r}")
        for v in value:
            if v not in spec.choices:
                hint = _suggest(v, spec.choices) if isinstance(v, str) else ""
                ctx.fail(path, f"unknown output {v!r}; allowed: {', '.join(spec.choices)}{hint}")
        return list(dict.fromkeys(value))
    raise AssertionError(f"unhandled schema node at {path}")  # pragma: no cover


# --------------------------------------------------------------------------------------- physics
def _max_torque(tr: dict, tq: dict) -> float:
    """Upper bound on |I_FL| + |I_DL| (units of Γ) used for the time-step limit."""
    if tq["model"] == "constant":
        return abs(tq["field_like"]) + abs(tq["damping_like"])
    # the transverse spin current into the drain is bounded by the spin-resolved tunnel rates
    return (1.0 + max(tr["p_S"], tr["p_D"])) * max(tr["gamma_S"], tr["gamma_D"])


def dt_limit(data: dict) -> tuple[float, str]:
    """Largest allowed dt (1/Γ) and a human-readable explanation of the bound.

    Uses :func:`gpuqd.dynamics.config.time_step_limits` (the engine's own guard) with a bound on the
    torque coefficients: the constant torques, or (1 + p)·max(Γ_r) for transport torques. The engine
    repeats the check with the actual table maxima before the dynamics stage starts.
    """
    from gpuqd.dynamics.config import MAX_NOISE_ANGLE, MAX_RATE_DT, time_step_limits
    from gpuqd.dynamics.model import Macrospin

    mg, tr, tq = data["magnet"], data["transport"], data["torque"]
    kc = mg["K_cubic"] if mg["anisotropy"] == "cubic" else 0.0
    magnet = Macrospin(S=mg["S"], KV=mg["KV"], alpha=mg["alpha"], sigma2=_sigma2(mg), K_cubic=kc,
                       field=tuple(mg["field"]))
    i_max = _max_torque(tr, tq)
    rate, lim_det, _, lim_noise = time_step_limits(magnet, i_max)
    if lim_det <= lim_noise:
        why = (f"dt <= {MAX_RATE_DT}/ω_max = {lim_det:.4g} with ω_max = (KV + |field| + 4|K_cubic| + I_max)/S"
               f" = {rate:.4g}/Γ, I_max = {i_max:.4g}")
        return lim_det, why
    why = f"dt <= {lim_noise:.4g} (thermal kick per step sqrt(σ² dt)/sqrt(S²+α²) <= {MAX_NOISE_ANGLE} rad)"
    return lim_noise, why


def _sigma2(mg: dict) -> float:
    if mg["sigma2"] is not None:
        return mg["sigma2"]
    return 2.0 * mg["alpha"] * mg["T_m"]


def grid_axes(data: dict) -> dict:
    """1-D grid axes: ``eps_tilde``/``V`` in Γ and ``*_over_U`` (NaN if U = 0)."""
    import numpy as np

    tr, g = data["transport"], data["grid"]
    scale = tr["U"] if g["unit"] == "U" else 1.0
    out = {}
    for ax in ("eps_tilde", "V"):
        a = g[ax]
        vals = np.linspace(a["start"], a["stop"], a["num"]) if a["num"] > 1 else np.array([a["start"]], float)
        gam = vals * scale
        out[ax] = gam
        out[f"{ax}_over_U"] = gam / tr["U"] if tr["U"] > 0 else np.full_like(gam, np.nan)
    return out


def _check_writable(runs_dir: str, ctx: _Ctx, path: str) -> None:
    p = Path(runs_dir).expanduser()
    probe = p
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        ctx.fail(path, f"output directory {str(p)!r} is not writable: {str(probe)!r} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        ctx.fail(path, f"output directory {str(p)!r} is not writable (no write permission on {str(probe)!r})")


def _physics_checks(data: dict, ctx: _Ctx, check_output: bool) -> list[str]:
    warnings: list[str] = []
    tr, g, mg, dyn = data["transport"], data["grid"], data["magnet"], data["dynamics"]
    gsum = tr["gamma_S"] + tr["gamma_D"]
    if abs(gsum - 2.0) > 2e-3:
        ctx.fail("transport.gamma_D", f"Γ_S + Γ_D = {gsum:.6g} but must equal 2 (energies are in units of "
                                      f"Γ = (Γ_S+Γ_D)/2); e.g. gamma_S: 0.6667, gamma_D: 1.3333 "
                                      "for Γ_D = 2Γ_S")
    ratio = max(tr["gamma_S"], tr["gamma_D"]) / tr["T"]
    if ratio > 0.2:
        warnings.append(f"{ctx.source}: transport: max(Γ_S, Γ_D)/T = {ratio:.3g} > 0.2 — the expansion in Γ "
                        f"(order {tr['order']}) needs Γ ≪ T; results may be inaccurate")
    if g["unit"] == "U" and tr["U"] <= 0:
        ctx.fail("grid.unit", "grid.unit = U needs transport.U > 0 (use unit: Gamma for U = 0)")
    for ax in ("eps_tilde", "V"):
        a = g[ax]
        if a["stop"] < a["start"]:
            ctx.fail(f"grid.{ax}.stop", f"stop = {_fmt(a['stop'])} < start = {_fmt(a['start'])}; "
                                        f"allowed: start <= stop")
    n_points = g["eps_tilde"]["num"] * g["V"]["num"]
    if n_points > 4_000_000:
        ctx.fail("grid", f"{n_points} grid points is too many (allowed: eps_tilde.num * V.num <= 4000000)")
    if mg["sigma2"] is not None and mg["T_m"] is not None:
        ctx.fail("magnet.T_m", "give either magnet.sigma2 or magnet.T_m, not both (σ² = 2 α T_m)")
    if mg["sigma2"] is None and mg["T_m"] is None:
        mg["sigma2"] = 1.0e-4
    if mg["anisotropy"] == "uniaxial" and mg["K_cubic"] != 0.0:
        ctx.fail("magnet.K_cubic", "K_cubic is set but anisotropy is 'uniaxial'; set anisotropy: cubic")
    tq = data["torque"]
    if tq["model"] == "transport" and (tq["field_like"] or tq["damping_like"]):
        ctx.fail("torque.model", "field_like/damping_like are only used with model: constant")
    if dyn["average_from"] >= dyn["t_end"]:
        ctx.fail("dynamics.average_from", f"average_from = {_fmt(dyn['average_from'])} must lie in "
                                          f"[0, t_end) = [0, {_fmt(dyn['t_end'])})")
    n_steps = dyn["t_end"] / dyn["dt"]
    if n_steps > 1e11:
        ctx.fail("dynamics.dt", f"t_end/dt = {n_steps:.3g} steps is too many (allowed <= 1e11)")
    if abs(n_steps - round(n_steps)) > 1e-6 * max(1.0, n_steps):
        ctx.fail("dynamics.t_end",
                 f"t_end = {_fmt(dyn['t_end'])} must be a multiple of dt = {_fmt(dyn['dt'])}")
    limit, why = dt_limit(data)
    if dyn["dt"] > limit:
        ctx.fail("dynamics.dt", f"dt = {_fmt(dyn['dt'])} is too large for stable, accurate integration; "
                                f"allowed: {why}")
    from gpuqd.fmr_run import check_fmr_config  # FMR readout hook

    check_fmr_config(data, ctx.fail)
    from gpuqd.switching_times import check_statistics_config  # switching-time statistics hook

    check_statistics_config(data, ctx.fail)
    from gpuqd.run.execution import check_execution_config  # execution engine hook

    check_execution_config(data, ctx.fail)
    if check_output:
        _check_writable(data["runs_dir"], ctx, "runs_dir")
    return warnings


# --------------------------------------------------------------------------------------- overrides
def apply_override(raw: dict, item: str, source: str = "--set") -> str:
    """Apply ``key.path=value`` (value parsed as YAML) to ``raw`` in place; returns the key path."""
    if "=" not in item:
        raise ConfigError(f"{source} {item!r}: expected KEY.PATH=VALUE (e.g. --set transport.T=5)")
    key, text = item.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"{source} {item!r}: empty key path")
    value = parse_yaml(text, source=f"{source} {key}") if text.strip() else None
    node = raw
    parts = key.split(".")
    for i, part in enumerate(parts[:-1]):
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
        if not isinstance(nxt, dict):
            raise ConfigError(f"{source} {key}: '{'.'.join(parts[: i + 1])}' is not a section")
        node = nxt
    node[parts[-1]] = value
    return key


# --------------------------------------------------------------------------------------- entry points
def validate_config(
    raw: Any,
    source: str = "<dict>",
    overrides: list[str] | None = None,
    runs_dir: str | None = None,
    backend: str | None = None,
    check_output: bool = True,
) -> Config:
    """Validate a raw mapping (plus overrides) and return the resolved :class:`Config`."""
    if raw is None:
        raise ConfigError(f"{source}: empty configuration")
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: top level must be a mapping of keys, got {type(raw).__name__}")
    raw = copy.deepcopy(dict(raw))
    keys = set()
    for item in overrides or []:
        keys.add(apply_override(raw, item))
    if runs_dir is not None:
        raw["runs_dir"] = str(runs_dir)
        keys.add("runs_dir")
    if backend is not None:
        raw["backend"] = backend
        keys.add("backend")
    ctx = _Ctx(source, keys)
    data = _check(SCHEMA, raw, "", ctx, True)
    warnings = _physics_checks(data, ctx, check_output)
    return Config(data=data, source=source, warnings=warnings)


def load_config(
    path: str | os.PathLike,
    overrides: list[str] | None = None,
    runs_dir: str | None = None,
    backend: str | None = None,
    check_output: bool = True,
) -> Config:
    """Read and validate a YAML configuration file (raises :class:`ConfigError`)."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: configuration file not found")
    if not p.is_file():
        raise ConfigError(f"{p}: not a file")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read configuration ({exc})") from None
    raw = parse_yaml(text, source=str(p))
    return validate_config(raw, str(p), overrides, runs_dir, backend, check_output)


def schema_reference(spec: Section = SCHEMA, prefix: str = "") -> list[tuple[str, str, str, str, str]]:
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
            allowed = " | ".join(sub.choices)
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

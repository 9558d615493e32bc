"""Loading and validating a YAML run configuration: schema, defaults, cross-key checks, ``--set``.

A configuration is validated completely *before* any computation or any file is written. Every
problem raises :class:`~gpuqd.run.errors.ConfigError` whose one-line message names the file, the key
path and the allowed range (unknown keys get a did-you-mean suggestion). The schema is
:data:`gpuqd.run.config.schema.CORE_SCHEMA` plus the sections the stages declare (:mod:`gpuqd.run.stages`).

Usage::

    cfg = load_config("configs/fig2.yaml", overrides=["transport.T=5"], runs_dir="runs")
    cfg.transport.T, cfg.grid.V      # typed, resolved (gpuqd.run.config.typed.RunConfig)
    cfg.warnings                     # non-fatal remarks (e.g. Γ/T not small)
"""

from __future__ import annotations

import copy
import difflib
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gpuqd.run import stages as registry
from gpuqd.run.config.execution_settings import check_execution_config
from gpuqd.run.config.placement import check_insets, check_writable
from gpuqd.run.config.schema import REQUIRED, Choice, Flag, Num, OutputList, Section, Str, Vec3, fmt_number
from gpuqd.run.config.time_step import check_dt, dt_limit
from gpuqd.run.config.typed import (
    RunConfig,
    check_step_count,
)
from gpuqd.run.config.yaml_input import describe_type, load_yaml, quote_hint, short_repr, suggest_key_path
from gpuqd.run.errors import ConfigError

__all__ = [
    "ConfigError",
    "load_config",
    "validate_config",
    "apply_override",
    "parse_yaml",
    "dt_limit",
    "check_time_step",
    "full_schema",
    "schema_reference",
]


# --------------------------------------------------------------------------------------- YAML
def parse_yaml(text: str, source: str = "<string>") -> Any:
    """Parse YAML text (safe loader, ``1e-4`` is a float); syntax errors and duplicate keys (with both
    line numbers) become ConfigError (:func:`gpuqd.run.config.yaml_input.load_yaml`)."""
    return load_yaml(text, source, error=ConfigError)


def full_schema() -> Section:
    """The schema of a configuration: core sections plus the stages' sections and outputs."""
    return registry.schema()


def schema_reference() -> list[tuple[str, str, str, str, str]]:
    """Rows (key, default, unit, allowed, description) documenting every key (used for the README)."""
    from gpuqd.run.config.schema import schema_reference as rows

    return rows(full_schema())


# --------------------------------------------------------------------------------------- helpers
class _Ctx:
    def __init__(self, source: str, override_keys: set[str]):
        self.source = source
        self.override_keys = override_keys

    def where(self, path: str) -> str:
        path = short_repr(path, quote=False)
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
        ctx.fail(
            path,
            f"expected a{'n integer' if spec.kind == 'int' else ' number'}, got "
            f"{type(value).__name__} {short_repr(value)} (allowed: {spec.range_text(name)})",
        )
    if not math.isfinite(value):
        ctx.fail(path, f"must be finite, got {short_repr(value)} (allowed: {spec.range_text(name)})")
    if spec.kind == "int":
        if isinstance(value, float):
            if not value.is_integer():
                ctx.fail(path, f"expected an integer, got {short_repr(value)} (allowed: {spec.range_text(name)})")
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
        ctx.fail(path, f"value {fmt_number(value)} out of range; allowed: {spec.range_text(name)}{note}")
    return value


def _check(spec: Any, value: Any, path: str, ctx: _Ctx, present: bool) -> Any:
    if isinstance(spec, Section):
        if not present or value is None:
            subs = spec.fields.values()
            if not spec.optional and any(
                getattr(s, "default", None) is REQUIRED or isinstance(s, Section) for s in subs
            ):
                ctx.fail(path, f"missing required section '{path}' (keys: {', '.join(spec.fields)})")
            value = {}
        if not isinstance(value, Mapping):
            ctx.fail(
                path,
                f"expected a mapping with keys {', '.join(spec.fields)}, "
                f"got {type(value).__name__} {short_repr(value)}",
            )
        for key in value:
            if key not in spec.fields:
                kp = f"{path}.{key}" if path else str(key)
                full = suggest_key_path(kp, _key_paths(full_schema()))
                if full and full.rsplit(".", 1)[-1] == str(key):  # the right key at the wrong level
                    ctx.fail(
                        kp,
                        f"unknown key {short_repr(str(key))} {'here' if path else 'at the top level'}; "
                        f"did you mean '{full}'?",
                    )
                ctx.fail(kp, f"unknown key {short_repr(str(key))}{_suggest(key, spec.fields)}")
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
        if spec.number is not None and _is_number(value):
            return _check_num(spec.number, value, path, ctx)
        if not isinstance(value, str) or value not in spec.choices:
            close = difflib.get_close_matches(value, spec.choices, n=1, cutoff=0.5) if isinstance(value, str) else []
            hint = f"; did you mean '{close[0]}'?" if close else ""
            ctx.fail(path, f"invalid value {short_repr(value)}; allowed: {spec.allowed(path.rsplit('.', 1)[-1])}{hint}")
        return value
    if isinstance(spec, Str):
        if value is None and spec.nullable:
            return None
        if not isinstance(value, str):
            name = path.rsplit(".", 1)[-1]
            ctx.fail(
                path,
                f"expected a string matching {spec.pattern!r}, got {describe_type(value)} {short_repr(value)}"
                f"{quote_hint(name, value)}",
            )
        if not re.fullmatch(spec.pattern, value):
            ctx.fail(path, f"expected a string matching {spec.pattern!r}, got {short_repr(value)}")
        return value
    if isinstance(spec, Vec3):
        length = spec.length
        ok = isinstance(value, list | tuple) and all(_is_number(v) and math.isfinite(v) for v in value)
        ok = ok and (len(value) == length if length else len(value) >= 1)
        if not ok:
            want = f"a list of {length} numbers" if length else "a non-empty list of numbers"
            ctx.fail(path, f"expected {want} ({spec.unit}), got {short_repr(value)}")
        if any(abs(v) > spec.bound for v in value):
            ctx.fail(path, f"components must satisfy |x| <= {fmt_number(spec.bound)}, got {short_repr(value)}")
        return [float(v) for v in value]
    if isinstance(spec, Flag):
        if not isinstance(value, bool):
            ctx.fail(path, f"expected true or false, got {short_repr(value)}")
        return value
    if isinstance(spec, OutputList):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not value:
            ctx.fail(path, f"expected a non-empty list from {', '.join(spec.choices)}, got {short_repr(value)}")
        for v in value:
            if v not in spec.choices:
                hint = _suggest(v, spec.choices) if isinstance(v, str) else ""
                ctx.fail(path, f"unknown output {short_repr(v)}; allowed: {', '.join(spec.choices)}{hint}")
        return list(dict.fromkeys(value))
    raise AssertionError(f"unhandled schema node at {path}")  # pragma: no cover


# --------------------------------------------------------------------------------------- physics
#: Stages that integrate the LLG with ``dynamics.dt`` (the time-step guard applies to them).
DT_STAGES = ("dynamics", "switching_times")


def check_time_step(cfg: RunConfig) -> None:
    """The time-step guard of a loaded configuration whose stages integrate with ``dynamics.dt``.

    For transport torques it solves the table's end regions at every grid point
    (:func:`gpuqd.run.config.factories.torque_bound`, about as costly as the table's kernels), so ``validate``
    and ``run`` call it after the memory check and before any other work; ConfigError naming
    ``dynamics.dt``. Constant torques are checked at load time already.
    """
    if cfg.torque.model == "transport" and any(name in cfg.stages for name in DT_STAGES):
        check_dt(cfg.data, _Ctx(cfg.source, set()).fail)


def _key_paths(spec: Section, prefix: str = "") -> list[str]:
    """Every key path of the schema (``dynamics.dt``, ``grid.V.num``, ...)."""
    out: list[str] = []
    for key, sub in spec.fields.items():
        kp = f"{prefix}.{key}" if prefix else key
        out += _key_paths(sub, kp) if isinstance(sub, Section) else [kp]
    return out


def _check_gamma_sum(tr: Any, ctx: _Ctx) -> None:
    """Γ_S + Γ_D = 2 (Γ is the energy unit). Checked on the raw input before the per-key ranges, so
    that Γ_S = 1, Γ_D = 2 (a ratio in other units) gets this message rather than a range error."""
    if not isinstance(tr, Mapping) or not all(
        _is_number(tr.get(k)) and 0 < tr[k] < math.inf for k in ("gamma_S", "gamma_D")
    ):
        return  # missing, non-numeric or non-positive values get the per-key messages
    gsum = tr["gamma_S"] + tr["gamma_D"]
    if abs(gsum - 2.0) > 2e-3:
        ctx.fail(
            "transport.gamma_D",
            f"Γ_S + Γ_D = {gsum:.6g} but must equal 2 (energies are in units of "
            f"Γ = (Γ_S+Γ_D)/2); e.g. gamma_S: 0.6667, gamma_D: 1.3333 "
            "for Γ_D = 2Γ_S",
        )


def _physics_checks(data: dict, ctx: _Ctx, check_output: bool) -> list[str]:
    warnings: list[str] = []
    tr, g, mg, dyn = data["transport"], data["grid"], data["magnet"], data["dynamics"]
    _check_gamma_sum(tr, ctx)
    ratio = max(tr["gamma_S"], tr["gamma_D"]) / tr["T"]
    if ratio > 0.2:
        warnings.append(
            f"{ctx.source}: transport: max(Γ_S, Γ_D)/T = {ratio:.3g} > 0.2 — the expansion in Γ "
            f"(order {tr['order']}) needs Γ ≪ T; results may be inaccurate"
        )
    if g["unit"] == "U" and tr["U"] <= 0:
        ctx.fail("grid.unit", "grid.unit = U needs transport.U > 0 (use unit: Gamma for U = 0)")
    for ax in ("eps_tilde", "V"):
        a = g[ax]
        if a["stop"] < a["start"]:
            ctx.fail(
                f"grid.{ax}.stop",
                f"stop = {fmt_number(a['stop'])} < start = {fmt_number(a['start'])}; allowed: start <= stop",
            )
    n_points = g["eps_tilde"]["num"] * g["V"]["num"]
    if n_points > 4_000_000:
        ctx.fail("grid", f"{n_points} grid points is too many (allowed: eps_tilde.num * V.num <= 4000000)")
    if mg["sigma2"] is not None and mg["T_m"] is not None:
        ctx.fail("magnet.T_m", "give either magnet.sigma2 or magnet.T_m, not both (σ² = 2 α T_m)")
    if mg["anisotropy"] == "uniaxial" and mg["K_cubic"] != 0.0:
        ctx.fail("magnet.K_cubic", "K_cubic is set but anisotropy is 'uniaxial'; set anisotropy: cubic")
    tq = data["torque"]
    if tq["model"] == "transport" and (tq["field_like"] or tq["damping_like"]):
        ctx.fail("torque.model", "field_like/damping_like are only used with model: constant")
    sources = (tq["source_field_like"], tq["source_damping_like"])
    if tq["model"] == "transport" and sources != (None, None):
        ctx.fail(
            "torque.model",
            "source_field_like/source_damping_like are only used with model: constant "
            "(the transport model computes the source torque)",
        )
    if tq["model"] == "constant" and (sources[0] is None) != (sources[1] is None):
        ctx.fail(
            "torque.source_damping_like",
            "give both torque.source_field_like and torque.source_damping_like, or neither",
        )
    if tq["model"] == "constant" and mg["free"] == "both" and None in sources:
        ctx.fail(
            "magnet.free",
            "magnet.free = both with torque.model = constant needs "
            "torque.source_field_like and torque.source_damping_like (the source's torque)",
        )
    if dyn["average_from"] >= dyn["t_end"]:
        ctx.fail(
            "dynamics.average_from",
            f"average_from = {fmt_number(dyn['average_from'])} must lie in "
            f"[0, t_end) = [0, {fmt_number(dyn['t_end'])})",
        )
    check_step_count(dyn["t_end"], dyn["dt"], ctx.fail, "dynamics.dt", "dynamics.t_end")
    if data["torque"]["model"] == "constant":  # transport torques: check_time_step, after the memory check
        check_dt(data, ctx.fail)
    for stage in registry.all_stages():  # the cross-key checks each stage declares
        if stage.check is not None:
            stage.check(data, ctx.fail)
    check_execution_config(data, ctx.fail)
    check_insets(data, ctx.fail, tuple(s.name for s in registry.stages_for(data["outputs"])))
    if check_output:
        check_writable(data["runs_dir"], ctx.fail, "runs_dir")
    return warnings


# --------------------------------------------------------------------------------------- overrides
def apply_override(raw: dict, item: str, source: str = "--set") -> str:
    """Apply ``key.path=value`` (value parsed as YAML) to ``raw`` in place; returns the key path."""
    if "=" not in item:
        raise ConfigError(f"{source} {short_repr(item)}: expected KEY.PATH=VALUE (e.g. --set transport.T=5)")
    key, text = item.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"{source} {short_repr(item)}: empty key path")
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
) -> RunConfig:
    """Validate a raw mapping (plus overrides) and return the resolved :class:`~gpuqd.run.config.typed.RunConfig`."""
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
    _check_gamma_sum(raw.get("transport"), ctx)
    data = _check(full_schema(), raw, "", ctx, True)
    warnings = _physics_checks(data, ctx, check_output)
    stages = registry.stages_for(data["outputs"])
    return RunConfig.from_data(data, registry.section_classes(), tuple(s.name for s in stages), source, tuple(warnings))


def check_section_keys(section: str, values: Mapping[str, Any], source: str = "<command line>") -> dict:
    """Keys of one section validated as in a configuration file (``ConfigError``: key, value, allowed range)."""
    f = full_schema().fields[section].fields
    return {k: v for k, v in _check(Section(f), values, section, _Ctx(source, set()), True).items() if k in values}


def load_config(
    path: str | os.PathLike,
    overrides: list[str] | None = None,
    runs_dir: str | None = None,
    backend: str | None = None,
    check_output: bool = True,
) -> RunConfig:
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

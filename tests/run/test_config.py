"""Configuration validation: schema, ranges, physics checks, overrides and the bad-input battery.

Every bad configuration must make ``gpuqd run`` exit non-zero with a one-line message that names the
offending key, before any computation, leaving no run directory behind.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import yaml

from gpuqd import cli
from gpuqd.run.config.validate import ConfigError, apply_override, dt_limit, load_config, parse_yaml, schema_reference
from gpuqd.run.config.validate import validate_config as validate
from gpuqd.run.stages import dynamics as dynamics_stage
from gpuqd.run.stages import fmr as fmr_stage
from gpuqd.run.stages import transport as transport_stage

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def base(tiny_config):
    """The tiny configuration with an explicit torque section and 16 θ nodes (validation only)."""
    tiny_config["transport"]["n_theta"] = 16
    tiny_config["torque"] = {"model": "transport"}
    tiny_config["dynamics"]["chunk_steps"] = 500
    return tiny_config


def _set(d: dict, path: str, value) -> dict:
    d = copy.deepcopy(d)
    node = d
    keys = path.split(".")
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    node[keys[-1]] = value
    return d


def _del(d: dict, path: str) -> dict:
    d = copy.deepcopy(d)
    node = d
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[k]
    del node[keys[-1]]
    return d


# --------------------------------------------------------------------------------------- good input
def test_base_config_resolves_with_defaults(tmp_path, base):
    cfg = validate(base, "base.yaml", runs_dir=str(tmp_path))
    assert cfg.data["magnet"]["free"] == "drain"
    assert cfg.data["dynamics"]["switch_threshold"] == 0.5
    assert cfg.data["figures"]["inset_V"] == [0.1, 0.175]
    assert cfg.run_dir == tmp_path / "tiny"
    assert cfg.needs_dynamics
    # resolved config round-trips through YAML and validates to the same data
    again = validate(yaml.safe_load(cfg.to_yaml()), "again.yaml")
    assert again.data == cfg.data


def test_yaml_exponent_without_dot_is_a_float(base):
    assert parse_yaml("a: 1e-4\nb: 2e4\nc: 5") == {"a": 1e-4, "b": 2e4, "c": 5}
    cfg = validate(_set(base, "magnet.sigma2", parse_yaml("x: 1e-4")["x"]), runs_dir=None)
    assert cfg.data["magnet"]["sigma2"] == 1e-4


def test_integer_valued_float_accepted_for_int_keys(base):
    cfg = validate(_set(base, "dynamics.chunk_steps", 2e3))
    assert cfg.data["dynamics"]["chunk_steps"] == 2000 and isinstance(cfg.data["dynamics"]["chunk_steps"], int)


def test_overrides_are_yaml_parsed_and_validated(base):
    cfg = validate(base, overrides=["transport.T=20", "outputs=[torque_maps]", "magnet.field=[0, 0, 0.001]"])
    assert cfg.data["transport"]["T"] == 20.0
    assert cfg.data["outputs"] == ["torque_maps"] and not cfg.needs_dynamics
    assert cfg.data["magnet"]["field"] == [0.0, 0.0, 0.001]
    with pytest.raises(ConfigError, match=r"transport\.T.*from --set.*0 < T"):
        validate(base, "x.yaml", overrides=["transport.T=-1"])
    raw: dict = {}
    assert apply_override(raw, "a.b.c=1.5") == "a.b.c" and raw == {"a": {"b": {"c": 1.5}}}


def test_gamma_over_T_warning(base):
    cfg = validate(_set(base, "transport.T", 1.0))
    assert any("max(Γ_S, Γ_D)/T" in w for w in cfg.warnings)
    assert not validate(base).warnings


@pytest.mark.slow
def test_dt_limit_paper_parameters():
    cfg = load_config(REPO / "configs" / "fig2.yaml", check_output=False)
    limit, why = dt_limit(cfg.data)
    assert 0.01 <= limit < 1.0 and "ω_max" in why  # the paper's dt = 0.01/Γ is admitted


def test_grid_axes_units(base):
    cfg = validate(base)
    ax = cfg.grid.axes()
    assert ax["eps_tilde"].tolist() == pytest.approx([-30.0, 0.0, 30.0])
    assert ax["V_over_U"].tolist() == pytest.approx([-0.4, 0.0, 0.4])
    cfg = validate(_set(_set(base, "grid.unit", "Gamma"), "grid.V.num", 1))
    ax = cfg.grid.axes()
    assert ax["V"].tolist() == [-0.4] and ax["eps_tilde"].tolist() == pytest.approx([-0.3, 0.0, 0.3])


@pytest.mark.parametrize("path", sorted((REPO / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_validate(path):
    cfg = load_config(path, check_output=False)
    assert cfg.name == path.stem
    assert not cfg.warnings


def test_fig4_config_skips_dynamics():
    cfg = load_config(REPO / "configs" / "fig4.yaml", check_output=False)
    assert cfg.data["outputs"] == ["torque_maps"] and not cfg.needs_dynamics


def test_schema_reference_documents_every_key():
    rows = schema_reference()
    keys = {r[0] for r in rows}
    for k in ("transport.U", "grid.eps_tilde.num", "magnet.sigma2", "dynamics.average_from", "outputs"):
        assert k in keys
    assert all(r[4] for r in rows), "every key needs a description"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [k for k in keys if f"`{k}`" not in readme]
    assert not missing, f"README config reference lacks {missing}"


def test_units_helper():
    from gpuqd import units

    assert units.time_unit_ps(8.0) == pytest.approx(0.0822765, rel=1e-5)
    assert units.time_to_ps(2e4, 8.0) == pytest.approx(1645.53, rel=1e-4)
    assert units.time_from_ps(units.time_to_ps(123.0, 3.0), 3.0) == pytest.approx(123.0)
    with pytest.raises(ValueError):
        units.time_unit_ps(0.0)


# --------------------------------------------------------------------------------------- bad input
def _file_under_file(tmp_path: Path) -> str:
    f = tmp_path / "a_file"
    f.write_text("x")
    return str(f / "runs")


BAD = [
    # (id, callable(base config, tmp_path) -> raw config, extra CLI args, substrings the message must contain)
    ("typo_top", lambda b, tmp: _set(b, "seeed", 1), [], ["seeed", "did you mean 'seed'"]),
    (
        "typo_transport",
        lambda b, tmp: _set(_del(b, "transport.gamma_S"), "transport.gama_S", 0.6667),
        [],
        ["transport.gama_S", "did you mean 'gamma_S'"],
    ),
    ("typo_magnet", lambda b, tmp: _set(b, "magnet.alpah", 0.1), [], ["magnet.alpah", "did you mean 'alpha'"]),
    ("typo_dynamics", lambda b, tmp: _set(b, "dynamics.t_ned", 10.0), [], ["dynamics.t_ned", "did you mean 't_end'"]),
    ("type_T_string", lambda b, tmp: _set(b, "transport.T", "ten"), [], ["transport.T", "expected a number"]),
    ("type_num_float", lambda b, tmp: _set(b, "grid.V.num", 2.5), [], ["grid.V.num", "integer"]),
    ("type_alpha_bool", lambda b, tmp: _set(b, "magnet.alpha", True), [], ["magnet.alpha", "bool"]),
    ("type_section", lambda b, tmp: _set(b, "transport", 5), [], ["transport", "mapping"]),
    ("p_S_one", lambda b, tmp: _set(b, "transport.p_S", 1.0), [], ["transport.p_S", "0 <= p_S < 1"]),
    ("p_D_negative", lambda b, tmp: _set(b, "transport.p_D", -0.1), [], ["transport.p_D", "0 <= p_D < 1"]),
    ("T_zero", lambda b, tmp: _set(b, "transport.T", 0.0), [], ["transport.T", "0 < T"]),
    ("T_negative", lambda b, tmp: _set(b, "transport.T", -5.0), [], ["transport.T", "0 < T"]),
    ("gamma_zero", lambda b, tmp: _set(b, "transport.gamma_S", 0.0), [], ["transport.gamma_S", "0 < gamma_S"]),
    (
        "gamma_sum",
        lambda b, tmp: _set(b, "transport.gamma_D", 2.0 - 0.6667 + 0.5),
        [],
        ["transport.gamma_D", "Γ_S + Γ_D"],
    ),
    ("order_3", lambda b, tmp: _set(b, "transport.order", 3), [], ["transport.order", "1 <= order <= 2"]),
    (
        "dt_too_large",
        lambda b, tmp: _set(_set(b, "dynamics.dt", 20.0), "dynamics.t_end", 40.0),
        [],
        ["dynamics.dt", "too large", "dt <="],
    ),
    ("dt_zero", lambda b, tmp: _set(b, "dynamics.dt", 0.0), [], ["dynamics.dt", "0 < dt"]),
    ("empty_grid", lambda b, tmp: _set(b, "grid.eps_tilde.num", 0), [], ["grid.eps_tilde.num", "empty grid"]),
    ("grid_reversed", lambda b, tmp: _set(b, "grid.V.stop", -0.5), [], ["grid.V.stop", "start <= stop"]),
    ("unknown_backend", lambda b, tmp: _set(b, "backend", "gpu"), [], ["backend", "auto | numpy | cpu | cupy"]),
    (
        "average_from_eq_t_end",
        lambda b, tmp: _set(b, "dynamics.average_from", 40.0),
        [],
        ["dynamics.average_from", "[0, t_end)"],
    ),
    ("average_from_negative", lambda b, tmp: _set(b, "dynamics.average_from", -1.0), [], ["dynamics.average_from"]),
    ("t_end_not_multiple", lambda b, tmp: _set(b, "dynamics.t_end", 40.01), [], ["dynamics.t_end", "multiple of dt"]),
    (
        "switch_threshold_one",
        lambda b, tmp: _set(b, "dynamics.switch_threshold", 1.0),
        [],
        ["dynamics.switch_threshold"],
    ),
    ("missing_U", lambda b, tmp: _del(b, "transport.U"), [], ["transport.U", "missing"]),
    ("missing_grid", lambda b, tmp: _del(b, "grid"), [], ["grid", "missing"]),
    ("sigma2_and_T_m", lambda b, tmp: _set(b, "magnet.T_m", 1e-3), [], ["magnet.T_m", "either"]),
    ("unknown_output", lambda b, tmp: _set(b, "outputs", ["switching"]), [], ["outputs", "did you mean 'switching_"]),
    (
        "unknown_torque_model",
        lambda b, tmp: _set(b, "torque.model", "constnt"),
        [],
        ["torque.model", "did you mean 'constant'"],
    ),
    (
        "anisotropy_typo",
        lambda b, tmp: _set(b, "magnet.anisotropy", "cubik"),
        [],
        ["magnet.anisotropy", "did you mean 'cubic'"],
    ),
    ("bad_name", lambda b, tmp: _set(b, "name", "../evil"), [], ["name", "expected a string"]),
    ("seed_negative", lambda b, tmp: _set(b, "seed", -1), [], ["seed", "0 <= seed"]),
    ("nan_value", lambda b, tmp: _set(b, "magnet.KV", float("nan")), [], ["magnet.KV", "finite"]),
    (
        "unwritable_runs_dir",
        lambda b, tmp: _set(b, "runs_dir", _file_under_file(tmp)),
        [],
        ["runs_dir", "not writable"],
    ),
    ("set_unknown_key", lambda b, tmp: b, ["--set", "transport.UU=3"], ["transport.UU", "did you mean 'U'"]),
    ("set_malformed", lambda b, tmp: b, ["--set", "transport.T"], ["--set", "KEY.PATH=VALUE"]),
    ("set_out_of_range", lambda b, tmp: b, ["--set", "magnet.alpha=-1"], ["magnet.alpha", "0 < alpha"]),
    ("top_level_list", lambda b, tmp: [1, 2], [], ["top level must be a mapping"]),
    # statistics: (switching_times output)
    (
        "stats_protocol_typo",
        lambda b, tmp: _set(b, "statistics.protocol", "P_to_A"),
        [],
        ["statistics.protocol", "did you mean 'P_to_AP'"],
    ),
    (
        "stats_key_typo",
        lambda b, tmp: _set(b, "statistics.trajectory_per_point", 10),
        [],
        ["statistics.trajectory_per_point", "did you mean 'trajectories_per_point'"],
    ),
    (
        "stats_trajectories_zero",
        lambda b, tmp: _set(b, "statistics.trajectories_per_point", 0),
        [],
        ["statistics.trajectories_per_point", "1 <= trajectories_per_point"],
    ),
    (
        "stats_trajectories_too_many",
        lambda b, tmp: _set(b, "statistics.trajectories_per_point", 100001),
        [],
        ["statistics.trajectories_per_point", "<= 100000"],
    ),
    (
        "stats_t_end_not_multiple",
        lambda b, tmp: _set(b, "statistics.t_end", 10.01),
        [],
        ["statistics.t_end", "multiple of"],
    ),
    ("stats_t_end_zero", lambda b, tmp: _set(b, "statistics.t_end", 0.0), [], ["statistics.t_end", "0 < t_end"]),
    (
        "stats_compaction_not_bool",
        lambda b, tmp: _set(b, "statistics.compaction", "yes"),
        [],
        ["statistics.compaction", "true or false"],
    ),
    (
        "stats_confidence_one",
        lambda b, tmp: _set(b, "statistics.confidence", 1.0),
        [],
        ["statistics.confidence", "< 1"],
    ),
    ("stats_target_typo", lambda b, tmp: _set(b, "statistics.target", "mean"), [], ["statistics.target", "mean_time"]),
    (
        "stats_width_zero",
        lambda b, tmp: _set(b, "statistics.target_relative_ci_width", 0.0),
        [],
        ["statistics.target_relative_ci_width", "0 < target_relative_ci_width"],
    ),
    (
        "stats_cap_below_initial",
        lambda b, tmp: _set(
            _set(_set(b, "statistics.adaptive", True), "statistics.trajectories_per_point", 50),
            "statistics.max_trajectories_per_point",
            20,
        ),
        [],
        ["statistics.max_trajectories_per_point", ">= trajectories_per_point"],
    ),
    (
        "stats_fraction_out_of_range",
        lambda b, tmp: _set(b, "statistics.probability_fractions", [0.5, 1.5]),
        [],
        ["statistics.probability_fractions", "(0, 1]"],
    ),
    (
        "stats_survival_V_empty",
        lambda b, tmp: _set(b, "statistics.survival_V", []),
        [],
        ["statistics.survival_V", "non-empty"],
    ),
    (
        "stats_set_out_of_range",
        lambda b, tmp: b,
        ["--set", "statistics.min_switched_fraction=0.2"],
        ["statistics.min_switched_fraction", "0.5 <= min_switched_fraction"],
    ),
    # FMR readout (`fmr:` section, output fmr)
    ("fmr_typo", lambda b, tmp: _set(b, "fmr.simulat", True), [], ["fmr.simulat", "did you mean 'simulate'"]),
    ("fmr_simulate_not_bool", lambda b, tmp: _set(b, "fmr.simulate", "yes"), [], ["fmr.simulate", "true or false"]),
    ("fmr_span_zero", lambda b, tmp: _set(b, "fmr.span", 0.0), [], ["fmr.span", "0 < span"]),
    (
        "fmr_drive_angle_large",
        lambda b, tmp: _set(b, "fmr.drive_angle", 0.5),
        [],
        ["fmr.drive_angle", "drive_angle <= 0.01"],
    ),
    ("fmr_periods_zero", lambda b, tmp: _set(b, "fmr.periods", 0), [], ["fmr.periods", "1 <= periods"]),
    (
        "fmr_steps_per_period_small",
        lambda b, tmp: _set(b, "fmr.steps_per_period", 10),
        [],
        ["fmr.steps_per_period", "64 <="],
    ),
    ("fmr_n_omega_float", lambda b, tmp: _set(b, "fmr.n_omega", 10.5), [], ["fmr.n_omega", "integer"]),
    ("fmr_spectra_lengths", lambda b, tmp: _set(b, "fmr.spectra_V", [0.1]), [], ["fmr.spectra_V", "equal length"]),
    (
        "fmr_spectra_not_list",
        lambda b, tmp: _set(b, "fmr.spectra_eps_tilde", "0.2"),
        [],
        ["fmr.spectra_eps_tilde", "list"],
    ),
    (
        "fmr_omega_window",
        lambda b, tmp: _set(_set(b, "fmr.omega_min", 0.5), "fmr.omega_max", 0.1),
        [],
        ["fmr.omega_max", "must be > omega_min"],
    ),
    (
        "fmr_field_transverse",
        lambda b, tmp: _set(_set(b, "outputs", ["fmr"]), "magnet.field", [0.01, 0.0, 0.0]),
        [],
        ["magnet.field", "along e_z"],
    ),
    (
        "fmr_free_both",
        lambda b, tmp: _set(_set(b, "outputs", ["fmr"]), "magnet.free", "both"),
        [],
        ["magnet.free", "drain"],
    ),
    (
        "set_fmr_trajectories",
        lambda b, tmp: b,
        ["--set", "fmr.trajectories=0"],
        ["fmr.trajectories", "1 <= trajectories"],
    ),
]


@pytest.fixture
def no_compute(monkeypatch):
    """Any computation during a bad-input run is a test failure."""

    def boom(*a, **k):
        raise AssertionError("computation started despite invalid input")

    monkeypatch.setattr(transport_stage.TorqueTable, "build", boom)
    monkeypatch.setattr(dynamics_stage.DynamicsWork, "start", boom)
    monkeypatch.setattr(transport_stage, "make_spin_valve", boom)
    monkeypatch.setattr(fmr_stage, "make_spin_valve", boom)


def _run_cli(args, capsys) -> tuple[int, str]:
    rc = cli.main(args)
    err = capsys.readouterr().err
    return rc, err


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input_battery(case, tmp_path, capsys, no_compute, base):
    name, make_raw, extra, needles = case
    raw = make_raw(base, tmp_path)
    cfg_path = tmp_path / f"{name}.yaml"
    cfg_path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    runs = tmp_path / "runs"
    args = ["run", str(cfg_path), "--quiet", "--no-figures"] + extra
    if not (isinstance(raw, dict) and "runs_dir" in raw):
        args += ["--runs-dir", str(runs)]
    rc, err = _run_cli(args, capsys)
    assert rc != 0
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("gpuqd: error")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    assert str(cfg_path) in lines[0] or "--set" in lines[0]  # the message names the file
    assert not runs.exists() or not any(runs.iterdir()), "no (partial) run directory may be left"
    # `validate` reports the same problem
    vargs = ["validate", str(cfg_path)] + [a for a in extra if a != "--quiet"]
    rc2, err2 = _run_cli(vargs + (["--runs-dir", str(runs)] if "runs_dir" not in str(raw) else []), capsys)
    assert rc2 != 0 and needles[0] in err2


def test_missing_file(tmp_path, capsys, no_compute):
    rc, err = _run_cli(["run", str(tmp_path / "nope.yaml"), "--runs-dir", str(tmp_path / "runs")], capsys)
    assert rc != 0 and "not found" in err and "nope.yaml" in err
    assert not (tmp_path / "runs").exists()


def test_invalid_yaml_syntax(tmp_path, capsys, no_compute):
    p = tmp_path / "broken.yaml"
    p.write_text("name: x\ntransport: {U: 1, T: [\n")
    rc, err = _run_cli(["validate", str(p)], capsys)
    assert rc != 0 and "invalid YAML" in err and "line" in err


def test_unwritable_runs_dir_permissions(tmp_path, capsys, no_compute, base):
    import os

    if os.geteuid() == 0:
        pytest.skip("root can write anywhere")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        p = tmp_path / "c.yaml"
        p.write_text(yaml.safe_dump(base))
        rc, err = _run_cli(["run", str(p), "--runs-dir", str(ro / "runs")], capsys)
        assert rc != 0 and "not writable" in err
    finally:
        ro.chmod(0o700)


def test_cupy_backend_unavailable_is_clean_error(tmp_path, capsys, monkeypatch, no_compute, base):
    from gpuqd.dynamics.engines import registry as backends  # gpuqd.run.execute.device asks it

    backends.clear_cache()
    unusable = backends.Availability("cupy", False, "no CUDA device", backends.NO_GPU_HINT)
    monkeypatch.setitem(backends.PROBES, "cupy", lambda: unusable)
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(base))
    rc, err = _run_cli(["run", str(p), "--backend", "cupy", "--runs-dir", str(tmp_path / "runs")], capsys)
    backends.clear_cache()
    assert rc != 0 and "cupy" in err and "Traceback" not in err
    assert not (tmp_path / "runs" / "tiny").exists()


def test_pi_bound_on_initial_theta(base):
    with pytest.raises(ConfigError, match="initial_theta"):
        validate(_set(base, "dynamics.initial_theta", math.pi + 0.1))

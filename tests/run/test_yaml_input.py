"""YAML input helpers: duplicate keys with both lines, wrong-level key paths, type descriptions, command line."""

from __future__ import annotations

import pytest

from gpuqd.run.config.yaml_input import (
    YAMLInputError,
    command_line,
    describe_type,
    load_yaml,
    quote_hint,
    suggest_key_path,
)

PATHS = [
    "name",
    "seed",
    "transport.U",
    "transport.T",
    "dynamics.dt",
    "dynamics.t_end",
    "magnet.alpha",
    "grid.eps_tilde.num",
    "grid.V.num",
]


def test_duplicate_keys_name_both_lines():
    text = "name: a\ntransport:\n  U: 1\n  T: 2\n  U: 3\n"
    with pytest.raises(YAMLInputError) as e:
        load_yaml(text, "c.yaml")
    msg = str(e.value)
    assert msg.startswith("c.yaml: duplicate key 'U' at line 5 (first given at line 3)") and "\n" not in msg


def test_duplicate_top_level_and_flow_mapping():
    with pytest.raises(YAMLInputError, match="line 2 .*line 1"):
        load_yaml("seed: 1\nseed: 2\n")
    with pytest.raises(YAMLInputError, match="duplicate key 'num'"):
        load_yaml("grid: {V: {num: 3, num: 4}}\n")


def test_floats_without_dot_and_syntax_error():
    assert load_yaml("a: 1e-4\nb: 2e4\nc: 3\n") == {"a": 1e-4, "b": 2e4, "c": 3}
    with pytest.raises(YAMLInputError, match=r"invalid YAML \(line 3"):
        load_yaml("a: [1,\nb: 2\n", error=YAMLInputError)


def test_suggest_key_path():
    assert suggest_key_path("dt", PATHS) == "dynamics.dt"
    assert suggest_key_path("magnet.dt", PATHS) == "dynamics.dt"
    assert suggest_key_path("t_ned", PATHS) == "dynamics.t_end"
    assert suggest_key_path("num", PATHS) == "grid.eps_tilde.num or grid.V.num"
    assert suggest_key_path("zzz", PATHS) is None


def test_describe_type_and_quote_hint():
    assert describe_type(123) == "an integer" and describe_type(True) == "a boolean"
    assert describe_type(1.5) == "a number" and describe_type(None) == "null (empty)"
    assert quote_hint("name", 123) == '; 123 is an integer in YAML, quote it: name: "123"'
    assert quote_hint("name", True).endswith('name: "true"')
    assert quote_hint("name", [1]) == ""


def test_command_line_keeps_set_flags():
    argv = ["run", "configs/quickstart.yaml", "--set", "dynamics.dt=0.01", "--set", "name=a b"]
    assert (
        command_line(argv, add=["--resume"])
        == "gpuqd run configs/quickstart.yaml --set dynamics.dt=0.01 --set 'name=a b' --resume"
    )
    assert command_line(argv + ["--force"], add=["--resume"], drop=["--force"]).endswith("--resume")

"""Numbers in README.md and in the configs' comments that come from a configuration must match it.

Checked phrases (anywhere on a line of a config's comments, and in every README paragraph or table
row that names exactly one ``configs/<name>.yaml``; a line naming another config is checked against
that one): grids ``N×M``, ``t_end = X/Γ``, ``dt = X`` / ``Δt = X``, ``X steps`` (t_end/dt),
``every X steps`` (chunk_steps), ``X trajectories per point``, ``X trajectories`` (all of them),
``X trajectory-steps`` and ``X θ nodes``. A written number must equal the configured one rounded to
the written significant digits. Times must say where they were measured ("measured on").
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from number_text import NUM, matches, parse_number

REPO = Path(__file__).resolve().parent.parent
CONFIGS = sorted((REPO / "configs").glob("*.yaml"))


def facts(cfg: dict) -> dict[str, float | tuple]:
    g, dyn = cfg.get("grid", {}), cfg.get("dynamics", {}) or {}
    st = cfg.get("statistics", {}) or {}
    n_pts = g["eps_tilde"]["num"] * g["V"]["num"]
    out: dict[str, float | tuple] = {"grid": (g["eps_tilde"]["num"], g["V"]["num"])}
    if "n_theta" in cfg.get("transport", {}):
        out["n_theta"] = cfg["transport"]["n_theta"]
    dt = dyn.get("dt")
    t_end = st.get("t_end") if "switching_times" in cfg.get("outputs", []) and st.get("t_end") else dyn.get("t_end")
    if dt:
        out["dt"] = dt
    if dt and t_end:
        out["t_end"] = t_end
        out["steps"] = round(t_end / dt)
    tpp = (
        st.get("trajectories_per_point")
        if "switching_times" in cfg.get("outputs", [])
        else dyn.get("trajectories_per_point")
    )
    if tpp:
        prot = 2 if st.get("protocol") == "both" else 1
        out["tpp"] = tpp
        out["trajectories"] = n_pts * tpp * (prot if st else 1)
        if "steps" in out:
            out["trajectory_steps"] = out["trajectories"] * out["steps"]
    chunk = st.get("chunk_steps") if st else dyn.get("chunk_steps")
    if chunk:
        out["chunk"] = chunk
    return out


PATTERNS = [
    ("grid", re.compile(r"(?<![×x]\s)(?<![×x])\b(\d+)\s*[×x]\s*(\d+)\b(?!\s*[×x]\s*\d)")),  # not a × b × c sizes
    ("t_end", re.compile(r"t_end\s*=\s*" + NUM + r"\s*/\s*Γ")),
    ("dt", re.compile(r"(?:\bdt|Δt)\s*=\s*" + NUM)),
    ("chunk", re.compile(r"every\s+" + NUM + r"\s+steps")),
    ("steps", re.compile(r"(?<!every )(?<![\w.·])" + NUM + r"\s+steps\b")),
    ("tpp", re.compile(NUM + r"\s+trajector(?:y|ies)\s*(?:per point|/\s*point)")),
    ("trajectories", re.compile(NUM + r"\s+trajectories\b(?!\s*(?:per point|/\s*point))")),
    ("trajectory_steps", re.compile(NUM + r"\s+trajectory-steps")),
    ("n_theta", re.compile(r"\b(\d+)\s+θ nodes")),
]


def check_text(text: str, cfg: dict, where: str) -> list[str]:
    text = re.sub(r"--set\s+\S+", "", text)  # suggestions to the user, not what the file sets
    f = facts(cfg)
    errors = []
    for key, pat in PATTERNS:
        if key not in f:
            continue
        for m in pat.finditer(text):
            if key == "grid":
                got = (int(m.group(1)), int(m.group(2)))
                if got != f["grid"] and not (got[0] == got[1] == 1):
                    errors.append(f"{where}: grid {got[0]}×{got[1]} but the config sets {f['grid'][0]}×{f['grid'][1]}")
                continue
            if not matches(m.group(1), float(f[key])):
                errors.append(f"{where}: {key} written {m.group(1)!r} but the config gives {f[key]:g}")
    return errors


def _named(text: str) -> list[str]:
    return sorted({n for n in re.findall(r"configs/([\w-]+)\.yaml", text) if (REPO / "configs" / f"{n}.yaml").exists()})


def _load(name: str) -> dict:
    return yaml.safe_load((REPO / "configs" / f"{name}.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_comments_state_what_the_file_sets(path):
    own = yaml.safe_load(path.read_text(encoding="utf-8"))
    errors = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if "#" not in line:
            continue
        comment = line[line.index("#") :]
        named = [n for n in _named(comment) if n != path.stem]
        cfg = _load(named[0]) if len(named) == 1 else own
        if len(named) > 1:
            continue
        errors += check_text(comment, cfg, f"{path.name}:{i}")
    assert not errors, "\n".join(errors)


def _readme_blocks() -> list[tuple[int, str]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks, start, cur = [], 1, []
    for i, line in enumerate(text.splitlines(), 1):
        if line.startswith("|") or not line.strip():
            if cur:
                blocks.append((start, " ".join(cur)))
                cur = []
            if line.startswith("|"):
                blocks.append((i, line))
            start = i + 1
            continue
        if not cur:
            start = i
        cur.append(line)
    if cur:
        blocks.append((start, " ".join(cur)))
    return blocks


def test_readme_numbers_match_the_configs():
    errors = []
    for line, block in _readme_blocks():
        named = _named(block)
        if len(named) != 1:
            continue
        errors += check_text(block, _load(named[0]), f"README.md:{line} ({named[0]})")
    assert not errors, "\n".join(errors)


def test_readme_times_say_where_they_were_measured():
    for line, block in _readme_blocks():
        if _named(block) and re.search(r"≈\s*[\d.–-]+\s*(?:min|h|hours|minutes|s)\b", block):
            assert "measured on" in block or "estimate" in block, f"README.md:{line}: a time without its source"


def test_number_parser():
    assert parse_number("2·10⁶") == (2e6, 1) and parse_number("10⁴") == (1e4, 1)
    assert parse_number("2.5·10⁻³")[0] == pytest.approx(2.5e-3) and parse_number("4800") == (4800.0, 2)
    assert matches("8.1·10¹⁰", 40401 * 2e6) and not matches("3.2·10¹¹", 40401 * 2e6)


@pytest.mark.slow
def test_readme_dt_bound_is_the_validation_bound():
    from gpuqd.dynamics.stability import MAX_NOISE_ANGLE, max_rate_dt
    from gpuqd.run.config.validate import dt_limit, load_config

    text = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    m = re.search(r"x_max = ([\d.]+) at α/S = ([\d.]+); dt ≤ ([\d.]+)/Γ at the paper's parameters", text)
    assert m, "README: the dt bound sentence is missing"
    assert matches(m.group(1), max_rate_dt(float(m.group(2))))
    cfg = load_config(REPO / "configs" / "fig2.yaml", check_output=False)
    assert float(m.group(2)) == cfg.magnet.alpha / cfg.magnet.S
    limit, _ = dt_limit(cfg.data)
    assert matches(m.group(3), limit)
    k = re.search(r"√\(σ² dt\)/√\(S²\+α²\) ≤ ([\d.]+) rad", text)
    assert k and float(k.group(1)) == MAX_NOISE_ANGLE

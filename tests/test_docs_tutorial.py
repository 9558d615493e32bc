"""docs/tutorial.md: every ```python block runs, in order, in one namespace (as a reader pasting them
into one Python session would), in a fresh directory; also the README's self-contained Python examples."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TUTORIAL = REPO / "docs" / "tutorial.md"
README = REPO / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
#: README blocks that run on their own (found by a phrase they contain); the others show fragments
README_SELF_CONTAINED = ("AxialFokkerPlanck", "units.time_unit_ps(8.0)")


def python_blocks(path: Path) -> list[str]:
    return BLOCK.findall(path.read_text(encoding="utf-8"))


def _run_blocks(blocks: list[str], source: Path) -> dict:
    namespace: dict = {"__name__": "__tutorial__"}
    for k, code in enumerate(blocks):
        try:
            exec(compile(code, f"{source.name}[python block {k + 1}]", "exec"), namespace)
        except Exception as exc:  # name the block, keep the traceback
            raise AssertionError(f"{source.name}: python block {k + 1} failed:\n{code}") from exc
    return namespace


def test_tutorial_has_the_promised_sections():
    text = TUTORIAL.read_text(encoding="utf-8")
    for topic in ("One point", "Switching statistics", "One map", "xarray", "FMR", "Fokker–Planck", "paper"):
        assert topic in text, topic
    assert len(python_blocks(TUTORIAL)) >= 10


def test_readme_first_screen_links_the_tutorial():
    first_screen = "\n".join(README.read_text(encoding="utf-8").splitlines()[:25])
    assert "docs/tutorial.md" in first_screen


@pytest.mark.slow
def test_tutorial_python_blocks_run_in_order(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    pytest.importorskip("xarray")
    monkeypatch.chdir(tmp_path)
    ns = _run_blocks(python_blocks(TUTORIAL), TUTORIAL)
    for figure in ("torque_curve.png", "survival.png", "theta_map.png", "fmr_spectrum.png"):
        assert (tmp_path / figure).stat().st_size > 1000, figure
    # what the text says the blocks show
    assert ns["near_pi"].field_like.round(2).tolist() == [-0.17, -2.15, -2.44]
    assert abs(ns["quiet"].mean_theta(0.0, 1e4, 2e4) / 3.141592653589793 - 0.095) < 0.005
    assert ns["fp"].mean_first_passage_time(1.0, -0.5) == pytest.approx(ns["stats"].fokker_planck_mean_time, rel=1e-9)


def test_readme_self_contained_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = [b for b in python_blocks(README) if any(p in b for p in README_SELF_CONTAINED)]
    assert len(blocks) == len(README_SELF_CONTAINED)
    _run_blocks(blocks, README)

"""Every figure of every output at journal size, checked on the Agg renderer (tests/plots/layout_checks.py):
width ≤ the configured width (figure and saved PNG), no overlapping or touching texts, no text off the
canvas, fonts ≥ :data:`gpuqd.plots.journal.MIN_FONT_PT`, maps at least half as wide as high, legends no
wider than what they explain, every line explained by a legend entry; and beside each figure the
one-line caption ``<stem>.txt`` and the run's parameters in the PNG/PDF metadata.

The figures are found, not listed: small runs (:data:`RUNS`, one per group of outputs; together they must
cover every output of :func:`gpuqd.run.stages.output_names`) are drawn with
:func:`gpuqd.plots.make_figures`, every ``savefig`` is inspected, and the stems written must be the
figures the stages declare. A new output fails :func:`test_every_output_has_a_layout_run` until it has a
small run here.
"""

from __future__ import annotations

import importlib.util
from collections import defaultdict
from pathlib import Path

import pytest
from layout_checks import layout_problems
from tiny_config import TINY_FMR

pytestmark = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib")

MAPS = {
    "name": "l_maps",
    "outputs": ["switching_diagram", "readout", "torque_maps", "fokker_planck"],
}
FMR = TINY_FMR | {"name": "l_fmr"}
STATS = {
    "name": "l_stats",
    "grid": {
        "unit": "U",
        "eps_tilde": {"start": -0.3, "stop": 0.3, "num": 3},
        "V": {"start": -0.4, "stop": 0.4, "num": 2},
    },
    "magnet": {"S": 1.0, "KV": 0.01, "alpha": 0.1, "sigma2": 1.0e-3, "anisotropy": "cubic", "K_cubic": 0.002},
    "dynamics": {"dt": 0.05, "t_end": 150.0, "average_from": 20.0},
    "statistics": {
        "protocol": "both",
        "trajectories_per_point": 8,
        "chunk_steps": 300,
        "survival_eps_tilde": 0.0,
        "survival_V": [0.4, -0.4],
    },
    "outputs": ["switching_times"],
    "figures": None,
}
WRITE_ERROR = {
    "name": "l_wer",
    "outputs": ["write_error"],
    "write_error": {
        "rest_eps_tilde": -0.3,
        "rest_V": 0.0,
        "write_eps_tilde": -0.3,
        "write_V": -0.4,
        "read_V": 0.4,
        "settle": 2.0,
        "widths": [1.0, 2.0, 4.0],
        "trajectories": 100,
        "chunk_trajectories": 100,
        "fp_degree": 32,
    },
}
WRITE_ERROR_MAP = {
    "name": "l_wer_map",
    "outputs": ["write_error"],
    "write_error": WRITE_ERROR["write_error"]
    | {"write_eps_tilde": None, "write_V": None, "trajectories": 0, "map_width": 4.0},
}
#: the small runs whose figures are checked (sections replaced in tests/tiny_config.py's tiny run)
RUNS = (MAPS, FMR, STATS, WRITE_ERROR, WRITE_ERROR_MAP)
#: widths checked: the default (no key: double, 7.0 in), single (3.4 in) and a width in between
WIDTHS = ((None, 7.0), ("single", 3.4), (5.0, 5.0))
MIN_PT = 7.0


def test_every_output_has_a_layout_run():
    from gpuqd.run.stages import output_names

    covered = {o for run in RUNS for o in run["outputs"]}
    missing = sorted(set(output_names()) - covered)
    assert not missing, f"add a small run drawing {missing} to tests/plots/test_layout.py RUNS"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, make_tiny_config):
    from gpuqd.run.config.validate import validate_config
    from gpuqd.run.pipeline import run_pipeline

    root = tmp_path_factory.mktemp("layout")
    out = []
    for sections in RUNS:
        cfg = validate_config(make_tiny_config(**sections), runs_dir=str(root))
        out.append((run_pipeline(cfg, make_figures=False), cfg))
    return out


def _png_width_in(path: Path) -> tuple[float, float]:
    """(width in inches, dots per inch) of a saved PNG, from its pixels and its pHYs resolution."""
    from PIL import Image

    with Image.open(path) as im:
        dpi = float(im.info.get("dpi", (72.0,))[0])
        return im.size[0] / dpi, dpi


@pytest.mark.slow  # three small whole runs (module fixture), then every figure at three widths
@pytest.mark.parametrize(("width", "width_in"), WIDTHS, ids=["double", "single", "5in"])
def test_every_figure_at_journal_size(runs, monkeypatch, width, width_in):
    from matplotlib.figure import Figure

    from gpuqd.plots import make_figures
    from gpuqd.run.stages import all_stages

    problems: dict[str, list[str]] = defaultdict(list)
    seen: list[str] = []
    original = Figure.savefig

    def inspect(self, fname, *args, **kwargs):  # noqa: ANN001, ANN202
        result = original(self, fname, *args, **kwargs)  # check the figure as it was saved
        name = Path(str(getattr(fname, "name", fname))).name  # a path or the open temporary file
        if kwargs.get("format", name.rsplit(".", 1)[-1]) == "png":
            seen.append(name)
            for check, message in layout_problems(self, width_in, MIN_PT):
                problems[check].append(f"{name}: {message}")
        return result

    monkeypatch.setattr(Figure, "savefig", inspect)
    all_declared: set[str] = set()
    all_written: set[str] = set()
    for run_dir, cfg in runs:
        written, skipped = make_figures(run_dir, width=width) if width is not None else make_figures(run_dir)
        assert not skipped
        declared = {f for s in all_stages() if set(s.outputs) & set(cfg.outputs) for f in s.figures}
        assert {p.stem for p in written} <= declared  # a figure a run's data do not call for is not drawn
        all_declared |= declared
        all_written |= {p.stem for p in written}
        for p in written:
            if p.suffix == ".png":
                saved_in, dpi = _png_width_in(p)
                if saved_in > width_in + 0.01 or dpi < 299:
                    problems["width"].append(f"{p.name}: saved {saved_in:.2f} in wide at {dpi:.0f} dpi")
                _check_caption_and_metadata(p, cfg.name, problems)
    assert all_written == all_declared, "every declared figure is drawn by one of the small runs"
    assert len(seen) >= len(all_declared), seen
    report = "\n".join(f"[{check}] {m}" for check, ms in sorted(problems.items()) for m in ms)
    assert not problems, f"layout checks failed: {sorted(problems)}\n{report}"


def _check_caption_and_metadata(png: Path, run_name: str, problems: dict) -> None:
    from PIL import Image

    caption = png.with_suffix(".txt")
    if not caption.exists():
        problems["caption"].append(f"{png.name}: no caption file {caption.name}")
        return
    text = caption.read_text(encoding="utf-8")
    if text.count("\n") != 1 or run_name not in text or "U = " not in text:
        problems["caption"].append(f"{caption.name}: not one line with the run name and parameters: {text!r}")
    with Image.open(png) as im:
        meta = dict(im.info)
    if run_name not in meta.get("Title", "") or "U = " not in meta.get("Comment", ""):
        problems["metadata"].append(f"{png.name}: run name / parameters missing from the PNG metadata {meta}")
    pdf = png.with_suffix(".pdf").read_bytes()
    if run_name.encode() not in pdf:
        problems["metadata"].append(f"{png.with_suffix('.pdf').name}: run name missing from the PDF metadata")


def test_width_is_validated():
    from gpuqd.plots.journal import check_figure_keys
    from gpuqd.run.errors import ConfigError

    assert check_figure_keys({"width": "single"}) == {"width": "single"}
    assert check_figure_keys({"width": 4}) == {"width": 4.0}
    for bad, words in ((30, "2 <= width <= 12"), ("wide", "double | single"), (True, "double | single")):
        with pytest.raises(ConfigError, match="figures.width") as info:
            check_figure_keys({"width": bad})
        assert words in str(info.value) and "\n" not in str(info.value)


@pytest.mark.slow  # uses the small runs of the module fixture
def test_plot_command_width(runs, capsys):
    from gpuqd.cli import main

    run_dir = runs[0][0]
    assert main(["plot", str(run_dir), "--width", "30"]) == 2
    err = capsys.readouterr().err.strip()
    assert "figures.width" in err and "2 <= width <= 12" in err and "\n" not in err
    assert main(["plot", str(run_dir), "--width", "single", "--style", "serif"]) == 0
    caption = (Path(run_dir) / "figures" / "fig4_torques.txt").read_text(encoding="utf-8")
    assert "width single (3.4 in)" in caption

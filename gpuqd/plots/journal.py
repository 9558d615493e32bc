"""Journal-size figures: the width and style of ``figures.width`` / ``figures.style``, the text sizes,
a new figure with a constrained layout at that width, and :func:`save` (PNG + PDF at exactly that width,
the run's key parameters in their metadata, and a one-line caption file ``<stem>.txt`` beside them).

A figure module builds its figure with :func:`new_figure` inside :func:`journal_style` and ends with
:func:`save`; it then gets the sizing, the caption file and the metadata without further code, and the
layout test (tests/plots/test_layout.py) checks it.
"""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpuqd.atomic_io import atomic_open, atomic_write_text

__all__ = [
    "matplotlib_available",
    "pyplot",
    "fitting_locator",
    "JOURNAL_WIDTHS_IN",
    "MIN_FONT_PT",
    "PRINT_DPI",
    "FigureFormat",
    "check_figure_keys",
    "figure_format",
    "journal_style",
    "new_figure",
    "run_parameters",
    "parameter_title",
    "wrap",
    "caption_line",
    "save",
]

#: named widths of ``figures.width`` (inches): a double-column and a single-column journal figure
JOURNAL_WIDTHS_IN = {"double": 7.0, "single": 3.4}
#: no text below this size (points) at the saved width
MIN_FONT_PT = 7.0
#: PNG resolution (dots per inch) at the saved width
PRINT_DPI = 300
#: widths below this (inches) get the narrow layouts (fewer columns; a reduced panel set where needed)
NARROW_BELOW_IN = 5.5

_FONT_FAMILY = {"sans": "DejaVu Sans", "serif": "DejaVu Serif"}


def matplotlib_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def fitting_locator(label_chars: int = 5, size: float = MIN_FONT_PT):  # noqa: ANN201
    """A tick locator for an x axis that puts only as many ticks as labels of ``label_chars`` characters
    at ``size`` points fit side by side (measured on the drawn axes at draw time; at least three ticks
    where possible)."""
    from matplotlib.ticker import MaxNLocator

    class FittingLocator(MaxNLocator):
        def tick_values(self, vmin: float, vmax: float):  # noqa: ANN202
            ax = getattr(self.axis, "axes", None)
            if ax is not None:
                width_pt = ax.get_window_extent().width * 72.0 / ax.figure.dpi
                self._nbins = max(1, int(width_pt / (size * (0.62 * label_chars + 1.2))))
            return super().tick_values(vmin, vmax)

    return FittingLocator(nbins=4, steps=[1, 2, 4, 5, 10], min_n_ticks=3)


@dataclass(frozen=True)
class FigureFormat:
    """Width (inches) and font family of the run's figures; ``narrow`` for single-column widths."""

    width_in: float
    style: str = "sans"

    @property
    def narrow(self) -> bool:
        return self.width_in < NARROW_BELOW_IN

    @property
    def name(self) -> str:
        for name, w in JOURNAL_WIDTHS_IN.items():
            if w == self.width_in:
                return name
        return f"{self.width_in:g} in"


def check_figure_keys(values: Mapping[str, Any]) -> dict:
    """``values`` (``width``, ``style``) validated as the configuration's ``figures`` keys (raises
    :class:`gpuqd.run.errors.ConfigError` with key, value and allowed range)."""
    from gpuqd.run.config.validate import check_section_keys

    return check_section_keys("figures", values)


def figure_format(config: Mapping[str, Any]) -> FigureFormat:
    """The :class:`FigureFormat` of a run's resolved configuration (``figures.width``, ``figures.style``)."""
    fig = config.get("figures") or {}
    width = fig.get("width", "double")
    width_in = JOURNAL_WIDTHS_IN[width] if isinstance(width, str) else float(width)
    return FigureFormat(width_in=width_in, style=fig.get("style", "sans"))


@contextlib.contextmanager
def journal_style(fmt: FigureFormat) -> Iterator[None]:
    """matplotlib settings of the journal figures (text sizes ≥ :data:`MIN_FONT_PT`) while drawing."""
    import matplotlib

    size = MIN_FONT_PT + 0.5
    rc: dict[str, Any] = {
        "font.family": _FONT_FAMILY.get(fmt.style, "DejaVu Sans"),
        "font.size": size,
        "axes.titlesize": size,
        "axes.labelsize": size,
        "xtick.labelsize": MIN_FONT_PT,
        "ytick.labelsize": MIN_FONT_PT,
        "legend.fontsize": MIN_FONT_PT,
        "legend.title_fontsize": MIN_FONT_PT,
        "figure.titlesize": size,
        "axes.titlepad": 5.0,
        "axes.labelpad": 2.0,
        "xtick.major.pad": 2.0,
        "ytick.major.pad": 2.0,
        "xtick.major.size": 2.5,
        "ytick.major.size": 2.5,
        "lines.linewidth": 1.0,
        "legend.handlelength": 1.6,
        "legend.borderpad": 0.3,
        "legend.labelspacing": 0.25,
        "legend.handletextpad": 0.4,
        "legend.columnspacing": 0.8,
        "legend.borderaxespad": 0.3,
        "figure.constrained_layout.h_pad": 0.03,
        "figure.constrained_layout.w_pad": 0.03,
        "figure.constrained_layout.hspace": 0.04,
        "figure.constrained_layout.wspace": 0.04,
        "pdf.fonttype": 42,
        "savefig.dpi": PRINT_DPI,
    }
    with matplotlib.rc_context(rc):  # type: ignore[arg-type]
        yield


def new_figure(fmt: FigureFormat, height_in: float, nrows: int = 1, ncols: int = 1, **kw: Any):  # noqa: ANN201
    """``(fig, axes)``: a figure ``fmt.width_in`` wide and ``height_in`` high with a constrained layout
    and an ``nrows × ncols`` grid of axes (always a 2-D array); ``kw`` go to ``plt.subplots``."""
    plt = pyplot()
    fig, axes = plt.subplots(nrows, ncols, figsize=(fmt.width_in, height_in), layout="constrained", squeeze=False, **kw)
    return fig, axes


def run_parameters(config: Mapping[str, Any]) -> str:
    """The run's key parameters in one line (energies in Γ): transport, order, magnet and anisotropy."""
    tr = config.get("transport", {})
    mg = config.get("magnet", {})
    parts = []
    if tr:
        ratio = tr["gamma_D"] / tr["gamma_S"] if tr.get("gamma_S") else float("nan")
        p = f"p = {tr['p_S']:g}" if tr["p_S"] == tr["p_D"] else f"p_S = {tr['p_S']:g}, p_D = {tr['p_D']:g}"
        parts.append(f"U = {tr['U']:g} Γ, T = {tr['T']:g} Γ, Γ_D/Γ_S = {ratio:.3g}, {p}, order {tr.get('order', 2)}")
    if mg:
        aniso = mg.get("anisotropy", "uniaxial")
        text = f"{aniso} anisotropy: KV = {mg.get('KV', 0):g} Γ"
        if aniso == "cubic":
            text += f", K_c = {mg.get('K_cubic', 0):g} Γ"
        parts.append(f"{text}, S = {mg.get('S', 1):g}, α = {mg.get('alpha', 0):g}")
        if mg.get("sigma2") is not None:
            parts.append(f"σ² = {mg['sigma2']:g} Γ")
        field = [float(b) for b in mg.get("field", (0, 0, 0))]
        if any(field):
            parts.append("B = (" + ", ".join(f"{b:g}" for b in field) + ") Γ")
    torque = config.get("torque", {})
    if torque.get("model") == "constant":
        parts.append(f"constant torques I_FL = {torque['field_like']:g} Γ, I_DL = {torque['damping_like']:g} Γ")
    return ", ".join(parts)


def wrap(text: str, width_in: float, font_pt: float = MIN_FONT_PT + 0.5) -> str:
    """``text`` broken into lines that fit ``width_in`` at ``font_pt`` (≈ 0.58 em per character),
    preferably after the commas of a list."""
    chars = max(20, int(width_in * 72.0 / (0.58 * font_pt)))
    out, line = [], ""
    for part in text.split(", "):
        candidate = f"{line}, {part}" if line else part
        if len(candidate) <= chars or not line:
            line = candidate
        else:
            out.append(line + ",")
            line = part
    out.append(line)
    return "\n".join(textwrap.fill(x, chars, break_on_hyphens=False) for x in out)


def parameter_title(fig, config: Mapping[str, Any], fmt: FigureFormat) -> None:  # noqa: ANN001
    """The run's key parameters (:func:`run_parameters`) as the figure's title, wrapped to its width."""
    fig.suptitle(wrap(run_parameters(config), fmt.width_in - 0.2, MIN_FONT_PT), fontsize=MIN_FONT_PT, color="0.25")


def caption_line(what: str, config: Mapping[str, Any], fmt: FigureFormat, notice: str = "") -> str:
    """The one-line caption: what the figure shows, the parameters, the run name, the width."""
    text = f"{what.strip().rstrip('.')}. Parameters: {run_parameters(config)}."
    if notice:
        text += f" {notice.strip().rstrip('.')}."
    return f"{text} Run: {config.get('name', '?')}; width {fmt.name} ({fmt.width_in:g} in)."


def save(fig, out: Path, stem: str, config: Mapping[str, Any], what: str, notice: str = "") -> list[Path]:  # noqa: ANN001
    """Write ``out/stem.png`` (at :data:`PRINT_DPI`), ``.pdf`` and the caption ``.txt`` atomically, at
    exactly the figure's width (no tight bounding box), with the caption and the run's parameters in
    the PNG/PDF metadata; close ``fig``. Linear x axes still on matplotlib's default locator get
    :func:`fitting_locator`. Returns the image paths (PNG, PDF)."""
    from matplotlib.ticker import AutoLocator

    for ax in fig.axes:  # x tick labels that cannot collide, on every linear x axis left on the default
        if type(ax.xaxis.get_major_locator()) is AutoLocator:
            ax.xaxis.set_major_locator(fitting_locator())
    fmt = figure_format(config)
    caption = caption_line(what, config, fmt, notice)
    params = run_parameters(config)
    title = f"{stem} ({config.get('name', '?')})"
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "png": {"Title": title, "Description": caption, "Comment": params, "Software": "gpuqd"},
        "pdf": {"Title": title, "Subject": caption, "Keywords": params, "Creator": "gpuqd"},
    }
    paths = []
    for ext in ("png", "pdf"):
        p = out / f"{stem}.{ext}"
        with atomic_open(p, suffix=f".{ext}") as tmp:  # unpredictable temporary name, no symlinks followed
            fig.savefig(tmp, dpi=PRINT_DPI, metadata=meta[ext], format=ext)
        paths.append(p)
    atomic_write_text(out / f"{stem}.txt", caption + "\n")
    pyplot().close(fig)
    return paths

"""Shared helpers of the figure modules (matplotlib is optional; imported only when drawing).

Maps are drawn with ε̃/U on x and V/U on y from a :class:`gpuqd.run.load.RunResults`. The journal
sizing (``figures.width``), the style, :func:`save` with its caption file and metadata are in
:mod:`gpuqd.plots.journal` and re-exported here: a new figure module needs only this module.
"""

from __future__ import annotations

import numpy as np

from gpuqd.plots.journal import (
    MIN_FONT_PT,
    PRINT_DPI,
    FigureFormat,
    caption_line,
    figure_format,
    fitting_locator,
    journal_style,
    matplotlib_available,
    new_figure,
    parameter_title,
    pyplot,
    run_parameters,
    save,
    wrap,
)

__all__ = [
    "MIN_FONT_PT",
    "PRINT_DPI",
    "FigureFormat",
    "caption_line",
    "figure_format",
    "journal_style",
    "new_figure",
    "parameter_title",
    "run_parameters",
    "save",
    "wrap",
    "matplotlib_available",
    "pyplot",
    "edges",
    "mesh",
    "lines",
    "diamond",
    "zero_line",
    "frame",
    "fitting_locator",
    "colorbar",
    "note",
    "shared_legend",
    "inset_cut",
    "curve_style",
    "label_panels",
    "inner_y_labels_off",
    "u_text",
    "cb_interior",
    "sym_limit",
]


def edges(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.size == 1:
        return np.array([x[0] - 0.5, x[0] + 0.5]) if x[0] == 0 else np.array([x[0] * 0.95, x[0] * 1.05])[::1]
    mid = 0.5 * (x[1:] + x[:-1])
    return np.concatenate([[x[0] - (mid[0] - x[0])], mid, [x[-1] + (x[-1] - mid[-1])]])


def mesh(ax, r, z, **kw):  # noqa: ANN001, ANN201
    """pcolormesh with ε̃/U on x and V/U on y; z has shape (n_eps, n_V)."""
    xe = np.sort(edges(r["eps_tilde_over_U"]))
    ye = np.sort(edges(r["V_over_U"]))
    return ax.pcolormesh(xe, ye, np.asarray(z).T, shading="flat", rasterized=True, **kw)


#: a line segment spanning less than this fraction of the ε̃ axis is drawn (and labelled) as a partial branch
PARTIAL_FRACTION = 0.5


def lines(ax, x, v, style, label=None, jump=0.05):
    """Plot NaN-padded root columns v(x), breaking where a branch jumps.

    Segments that span less than :data:`PARTIAL_FRACTION` of the ε̃ range (roots of the same equation
    that exist only over part of it, e.g. the short pieces near ε̃ ≈ ±0.45U) are drawn thinner and get
    their own legend entry ("partial branch"), so that every line drawn is explained.
    """
    xs_all = np.asarray(x, dtype=float)
    span = float(np.nanmax(xs_all) - np.nanmin(xs_all)) if xs_all.size > 1 else 0.0
    labelled = {"full": False, "partial": False}
    for k in range(v.shape[1]):
        y = v[:, k].astype(float)
        br = np.flatnonzero(np.abs(np.diff(y)) > jump) + 1
        for idx in np.split(np.arange(y.size), br):
            ok = idx[np.isfinite(y[idx])]
            if ok.size == 0:
                continue
            extent = float(xs_all[ok].max() - xs_all[ok].min())
            kind = "partial" if span > 0 and extent < PARTIAL_FRACTION * span else "full"
            text = None
            if label and not labelled[kind]:
                text = label if kind == "full" else f"{label} (partial branch)"
                labelled[kind] = True
            ax.plot(xs_all[idx], y[idx], style, lw=1.0 if kind == "full" else 0.6, label=text)


def zero_line(ax) -> None:
    """The horizontal zero line of a curve panel (explained in the legend)."""
    ax.axhline(0, color="0.7", lw=0.6, label="zero")


def diamond(ax, r, color="0.85"):
    e = np.linspace(-0.5, 0.5, 201)
    v = 1.0 - 2.0 * np.abs(e)
    ax.plot(e, v, ls=":", color=color, lw=1.0, label="CB edge |V|/2 = U/2 − |ε̃|")
    ax.plot(e, -v, ls=":", color=color, lw=1.0)


def frame(ax, r, title: str | None = None, nbins: int = 4) -> None:
    """Limits, labels (ε̃/U, V/U), ticks (x: as many as fit, y: at most ``nbins``) and the title of a map."""
    from matplotlib.ticker import MaxNLocator

    x, y = r["eps_tilde_over_U"], r["V_over_U"]
    ax.set_xlim(edges(x).min(), edges(x).max())
    ax.set_ylim(edges(y).min(), edges(y).max())
    ax.xaxis.set_major_locator(fitting_locator())
    ax.yaxis.set_major_locator(MaxNLocator(nbins=nbins, steps=[1, 2, 5, 10]))
    ax.set_xlabel("ε̃ / U")
    ax.set_ylabel("V / U")
    if title:
        ax.set_title(title)


def inner_y_labels_off(axes) -> None:  # noqa: ANN001
    """Hide the V/U label and tick labels of the maps ``axes`` that are not in the leftmost column of
    their row (maps of one run share the V axis; saves width in narrow figures)."""
    lefts: dict[float, float] = {}
    for ax in axes:
        box = ax.get_position()
        row = round(box.y1, 2)
        lefts[row] = min(lefts.get(row, box.x0), box.x0)
    for ax in axes:
        box = ax.get_position()
        if box.x0 > lefts[round(box.y1, 2)] + 1e-6:
            ax.set_ylabel("")
            ax.tick_params(labelleft=False)


def colorbar(fig, mappable, ax, label: str, nbins: int = 4, **kw):  # noqa: ANN001, ANN201
    """A vertical colour bar beside ``ax`` (at most ``nbins`` ticks unless ``ticks`` are given)."""
    from matplotlib.ticker import MaxNLocator

    bar = fig.colorbar(mappable, ax=ax, label=label, fraction=0.07, pad=0.03, aspect=25, **kw)
    if (
        "ticks" not in kw
        and not hasattr(mappable.norm, "linthresh")
        and mappable.norm.__class__.__name__
        not in (
            "LogNorm",
            "BoundaryNorm",
        )
    ):
        bar.locator = MaxNLocator(nbins=nbins)
        bar.update_ticks()
    if hasattr(mappable.norm, "linthresh"):
        bar.ax.minorticks_off()  # symmetric-log minor ticks crowd at 0
    return bar


def note(ax, text: str) -> None:  # noqa: ANN001
    """An empty panel that says why it is empty (no axes, the text centred, wrapped to the panel)."""
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.3", wrap=False)


def shared_legend(fig, axes, dark: bool = False, **kw):  # noqa: ANN001, ANN201
    """One legend below all panels for the labelled artists of ``axes`` (each label once), in as many
    columns as fit the figure width; ``dark``: a grey box (for white and light lines on the maps)."""
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if not handles:
        return None
    style = {"facecolor": "0.62", "framealpha": 1.0, "edgecolor": "0.62"} if dark else {}
    renderer = fig.canvas.get_renderer()
    width = fig.bbox.width
    for ncol in range(len(handles), 0, -1):
        leg = fig.legend(handles, labels, loc="outside lower center", ncol=ncol, **style, **kw)
        if leg.get_window_extent(renderer).width <= 0.98 * width or ncol == 1:
            return leg
        leg.remove()
    return None


def inset_cut(ax, x0: float, y_range: tuple[float, float], label: str = "cut of the insets") -> None:  # noqa: ANN001
    """The cut ε̃ = x0 drawn on a map as a dashed white line ([G] Fig. 3's caption)."""
    ax.plot([x0, x0], list(y_range), color="w", ls=(0, (4, 2)), lw=1.0, label=label)


def label_panels(axes) -> None:  # noqa: ANN001
    """Prefix the titles of the visible, titled ``axes`` with (a), (b), … in reading order (rows top to
    bottom, then columns left to right, by their place in the figure)."""

    def place(ax) -> tuple[float, float]:  # noqa: ANN001
        box = ax.get_position()  # the grid position before the layout: top edge, then left edge
        return (-round(box.y1, 2), round(box.x0, 2))

    titled = [ax for ax in axes if ax.get_visible() and ax.axison and ax.get_title()]
    for k, ax in enumerate(sorted(titled, key=place)):
        ax.set_title(f"({'abcdefghijklmnopqrstuvwxyz'[k % 26]}) {ax.get_title()}")


def u_text(x: float) -> str:
    """A value in units of U for a label: ``0`` (not ``0U``), else e.g. ``−0.3U``."""
    return "0" if x == 0 else f"{x:.3g}U".replace("-", "−")


def curve_style(n_samples: int) -> dict:
    """Plot keywords of a cut with ``n_samples`` points: markers with a thin line for coarse cuts
    (< 40 samples: a line alone would suggest structure between the samples), a line otherwise."""
    if n_samples < 40:
        return {"marker": "o", "ms": 2.5, "lw": 0.5}
    return {"lw": 1.0}


def cb_interior(r, margin):
    e = np.abs(r["eps_tilde_over_U"])[:, None]
    v = np.abs(r["V_over_U"])[None, :]
    return v / 2 < 0.5 - e - margin


def sym_limit(z):
    a = np.abs(np.asarray(z, dtype=float))
    a = a[np.isfinite(a)]
    if a.size == 0:
        return 1.0
    lim = float(np.percentile(a, 99.5))
    return lim if lim > 0 else (float(a.max()) or 1.0)

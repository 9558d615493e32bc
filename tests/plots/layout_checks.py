"""Layout checks of a drawn matplotlib figure, measured by the Agg renderer (a plain module of the tests).

:func:`layout_problems` returns ``(check, message)`` pairs; the checks are

* ``width``: the figure (and the saved PNG, see the test) is at most the configured width;
* ``overlap``: no two drawn texts overlap or sit side by side with less than :data:`OVERLAP_TOLERANCE_PX`
  between them (every tick label, axis label, title, legend text, colour-bar label, annotation and figure
  text is its own artist; texts that overlap vertically by at most that much do not count), and no legend
  box covers a text that is not its own;
* ``canvas``: every text lies inside the canvas;
* ``font``: every text is at least the minimum size;
* ``map``: every map axes (one holding a pcolormesh or an image, not a colour bar) is at least half as
  wide as it is high;
* ``legend``: an axes legend is no wider than its axes, a figure legend no wider than the figure;
* ``explained``: every line drawn has a legend entry of the same style.
"""

from __future__ import annotations

import numpy as np

#: overlaps smaller than this (pixels at the saved resolution) in x or y are ignored (anti-aliasing)
OVERLAP_TOLERANCE_PX = 1.0


def _drawn_texts(fig):  # noqa: ANN001, ANN202
    """Draw ``fig`` and return every non-empty text that was actually drawn (recorded by wrapping
    ``Text.draw``: tick labels outside the view limits, invisible artists and the labels of hidden axes
    are not drawn, so they are not checked), each once, in drawing order."""
    from matplotlib.text import Text

    drawn: dict[int, Text] = {}
    original = Text.draw

    def record(self, renderer):  # noqa: ANN001, ANN202
        if self.get_visible() and self.get_text().strip():
            drawn.setdefault(id(self), self)
        return original(self, renderer)

    fig.canvas.draw()  # the constrained layout settles over draws: measure the second
    Text.draw = record  # type: ignore[method-assign]
    try:
        fig.canvas.draw()
    finally:
        Text.draw = original  # type: ignore[method-assign]
    return list(drawn.values())


def _describe(t) -> str:  # noqa: ANN001
    ax = t.axes
    owner = "figure" if ax is None else ("colour bar" if ax.get_label() == "<colorbar>" else ax.get_title())
    return f"{t.get_text()[:40]!r} (in {owner[:30]!r})"


def _legends(fig):  # noqa: ANN001, ANN202
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    return legends + list(fig.legends)


def _style(line) -> tuple:  # noqa: ANN001
    from matplotlib.colors import to_rgba

    marker = line.get_marker() if line.get_marker() not in (None, "None", "", " ") else None
    ls = line.get_linestyle() if line.get_linestyle() not in ("None", "", " ") else None
    color = line.get_color() if ls else line.get_markeredgecolor()
    return (to_rgba(color), ls, marker, round(float(line.get_linewidth()), 2) if ls else None)


def _flatten(items) -> list:  # noqa: ANN001
    out = []
    for item in items:
        out += _flatten(item) if isinstance(item, tuple | list) else [item]
    return out


def _is_map(ax) -> bool:  # noqa: ANN001
    from matplotlib.collections import QuadMesh
    from matplotlib.image import AxesImage

    if ax.get_label() == "<colorbar>" or not ax.get_visible() or not ax.axison:
        return False
    return any(isinstance(c, QuadMesh | AxesImage) for c in (*ax.collections, *ax.images))


def layout_problems(fig, width_in: float, min_pt: float) -> list[tuple[str, str]]:  # noqa: ANN001
    """The layout problems of ``fig`` (drawn with Agg) as ``(check, message)`` pairs."""
    from matplotlib.lines import Line2D

    problems: list[tuple[str, str]] = []
    texts = _drawn_texts(fig)
    renderer = fig.canvas.get_renderer()
    w, h = fig.get_size_inches()
    if w > width_in + 1e-6:
        problems.append(("width", f"figure {w:.2f} in wide > {width_in:g} in"))
    boxes = [t.get_window_extent(renderer) for t in texts]
    canvas = fig.bbox
    tol = OVERLAP_TOLERANCE_PX
    for t, b in zip(texts, boxes, strict=True):
        if t.get_fontsize() < min_pt - 1e-6:
            problems.append(("font", f"{_describe(t)} at {t.get_fontsize():.1f} pt < {min_pt:g} pt"))
        if b.x0 < canvas.x0 - tol or b.y0 < canvas.y0 - tol or b.x1 > canvas.x1 + tol or b.y1 > canvas.y1 + tol:
            problems.append(("canvas", f"{_describe(t)} extends off the canvas"))
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            a, b = boxes[i], boxes[j]
            dx = min(a.x1, b.x1) - max(a.x0, b.x0)
            dy = min(a.y1, b.y1) - max(a.y0, b.y0)
            # overlapping, or side by side with less than ``tol`` between them ("−0.50.5", "0.1AP")
            if dx > -tol and dy > tol:
                problems.append(("overlap", f"{_describe(texts[i])} overlaps or touches {_describe(texts[j])}"))
    for leg in _legends(fig):
        box = leg.get_window_extent(renderer)
        own = {id(t) for t in leg.get_texts()} | {id(leg.get_title())}
        for t, b in zip(texts, boxes, strict=True):
            if id(t) in own:
                continue
            dx = min(box.x1, b.x1) - max(box.x0, b.x0)
            dy = min(box.y1, b.y1) - max(box.y0, b.y0)
            if dx > tol and dy > tol:
                problems.append(("overlap", f"legend box covers {_describe(t)}"))
        limit = leg.axes.get_window_extent(renderer).width if leg.axes is not None else canvas.width
        if box.width > limit + tol:
            where = "its axes" if leg.axes is not None else "the figure"
            problems.append(("legend", f"legend {box.width:.0f} px wider than {where} ({limit:.0f} px)"))
    for ax in fig.axes:
        if _is_map(ax):
            b = ax.get_window_extent(renderer)
            if b.width < 0.5 * b.height:
                problems.append(("map", f"map {ax.get_title()[:30]!r} is {b.width:.0f} px wide, {b.height:.0f} high"))
    explained = set()
    for leg in _legends(fig):
        explained |= {_style(h) for h in leg.legend_handles if isinstance(h, Line2D)}
    labels = {t.get_text() for leg in _legends(fig) for t in leg.get_texts()}
    for ax in fig.axes:
        # the lines of a labelled container (error bars: data line and caps) are explained by its entry
        in_entry = {id(x) for c in ax.containers if c.get_label() in labels for x in _flatten(c)}
        for line in ax.get_lines():
            x, y = (np.asarray(a, dtype=float) for a in line.get_data())
            if not line.get_visible() or not np.isfinite(x * y).any() or id(line) in in_entry:
                continue
            if _style(line) not in explained:
                problems.append(("explained", f"line {line.get_label()!r} in {ax.get_title()[:30]!r}: no legend entry"))
    return problems

"""Shared helpers of the figure modules (matplotlib is optional; imported only when drawing).

Maps are drawn with ε̃/U on x and V/U on y from a :class:`gpuqd.run.store.results.RunResults`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = [
    "matplotlib_available",
    "pyplot",
    "edges",
    "mesh",
    "lines",
    "diamond",
    "zero_line",
    "frame",
    "save",
    "print_size",
    "legend_below",
    "cb_interior",
    "sym_limit",
]


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
    their own legend entry, so that every line drawn is explained.
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
                text = label if kind == "full" else f"{label}: partial branch (a root over part of the ε̃ range)"
                labelled[kind] = True
            ax.plot(xs_all[idx], y[idx], style, lw=1.2 if kind == "full" else 0.7, label=text)


def zero_line(ax) -> None:
    """The horizontal zero line of a curve panel (explained in the legend)."""
    ax.axhline(0, color="0.7", lw=0.6, label="zero")


def diamond(ax, r, color="0.85"):
    e = np.linspace(-0.5, 0.5, 201)
    v = 1.0 - 2.0 * np.abs(e)
    ax.plot(e, v, ls=":", color=color, lw=1.0, label="CB edge |V|/2 = U/2 − |ε̃|")
    ax.plot(e, -v, ls=":", color=color, lw=1.0)


def frame(ax, r, title):
    x, y = r["eps_tilde_over_U"], r["V_over_U"]
    ax.set_xlim(edges(x).min(), edges(x).max())
    ax.set_ylim(edges(y).min(), edges(y).max())
    ax.set_xlabel("ε̃ / U")
    ax.set_ylabel("V / U")
    ax.set_title(title, fontsize=10)


#: print size: PNGs at 200 dpi, at most 12 in (2400 px) wide, no text below 8 pt
PRINT_DPI = 200
MAX_WIDTH_IN = 12.0
MIN_FONT_PT = 8.0


def print_size(fig) -> None:  # noqa: ANN001
    """Raise every text to ≥ MIN_FONT_PT and shrink the figure until its saved (tight) width is
    ≤ MAX_WIDTH_IN; the modules lay their figures out for that width, this is the guarantee."""
    import warnings

    from matplotlib.text import Text

    for t in fig.findobj(Text):
        if t.get_fontsize() < MIN_FONT_PT:
            t.set_fontsize(MIN_FONT_PT)
    for _ in range(4):
        fig.canvas.draw()
        width = fig.get_tightbbox(fig.canvas.get_renderer()).width + 0.2  # + pad_inches on both sides
        if width <= MAX_WIDTH_IN:
            return
        w, h = fig.get_size_inches()
        scale = 0.98 * MAX_WIDTH_IN / width
        fig.set_size_inches(w * scale, h * scale)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fig.tight_layout()


def save(fig, out: Path, stem: str) -> list[Path]:
    """Lay out ``fig``, write ``out/stem.png`` and ``.pdf`` atomically at print size, close it; the paths."""
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    print_size(fig)
    paths = []
    for ext in ("png", "pdf"):
        p = out / f"{stem}.{ext}"
        tmp = out / f".{stem}.tmp.{ext}"
        fig.savefig(tmp, dpi=PRINT_DPI, bbox_inches="tight")
        tmp.replace(p)
        paths.append(p)
    pyplot().close(fig)
    return paths


def legend_below(ax, ncol=2):
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=ncol, fontsize=MIN_FONT_PT, frameon=False)


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

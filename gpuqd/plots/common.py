"""Shared helpers of the figure modules (matplotlib is optional; imported only when drawing).

Maps are drawn with ε̃/U on x and V/U on y from a :class:`gpuqd.run.results.RunResults`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["matplotlib_available", "pyplot", "edges", "mesh", "lines", "diamond", "frame", "save", "legend_below",
           "cb_interior", "sym_limit"]


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


def lines(ax, x, v, style, label=None, jump=0.05):
    """Plot NaN-padded root columns v(x), breaking where a branch jumps."""
    first = True
    for k in range(v.shape[1]):
        y = v[:, k].astype(float).copy()
        xs = np.asarray(x, dtype=float).copy()
        br = np.flatnonzero(np.abs(np.diff(y)) > jump)
        y = np.insert(y, br + 1, np.nan)
        xs = np.insert(xs, br + 1, np.nan)
        ax.plot(xs, y, style, lw=1.2, label=label if first else None)
        first = False


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


def save(fig, out: Path, stem: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        p = out / f"{stem}.{ext}"
        tmp = out / f".{stem}.tmp.{ext}"
        fig.savefig(tmp, dpi=150, bbox_inches="tight")
        tmp.replace(p)
        paths.append(p)
    return paths


def legend_below(ax, ncol=2):
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=ncol, fontsize=7, frameon=False)


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

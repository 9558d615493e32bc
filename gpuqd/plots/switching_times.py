"""Figures of the switching-time statistics (output ``switching_times``, gpuqd.run.stages.switching_times).

* ``switching_times_maps``: one row per protocol over (ε̃, V): log₁₀ of the mean first-passage time
  (hatched where it is only the restricted mean, i.e. a lower bound), P(switched by t_end), log₁₀ of
  the memoryless rate, the relative width of its exact 95 % interval, and the regime label; resonance
  line and Coulomb-diamond edges as in Fig. 2; survival points circled.
* ``switching_times_survival``: per survival point, Kaplan–Meier S(t) with its pointwise band for
  each protocol (top) and the histogram of the switched first-passage times (bottom).

Times in ħ/Γ, rates in Γ/ħ, axes in units of U. Written as PNG and PDF into ``<run>/figures/``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gpuqd.plots.common import diamond, frame, lines, mesh, pyplot, save
from gpuqd.plots.common import edges as cell_edges

__all__ = ["OUTPUT", "REQUIRES", "draw"]

OUTPUT = "switching_times"
#: array that must be in the results for these figures
REQUIRES = "switching_mean_time"

_PROTOCOL_LABEL = {"P_to_AP": "P → AP (start θ = 0)", "AP_to_P": "AP → P (start θ = π)"}
_REGIME_COLOURS = ("0.85", "tab:orange", "tab:blue", "tab:purple", "0.55")


def draw(r, out: Path) -> list[Path]:
    """Both switching-time figures of a loaded run (:class:`gpuqd.run.store.results.RunResults`)."""
    return _maps(r, out) + _survival(r, out)


def _finite_range(z: np.ndarray, fallback: tuple[float, float]) -> tuple[float, float]:
    z = np.asarray(z, dtype=float)
    z = z[np.isfinite(z)]
    if z.size == 0:
        return fallback
    lo, hi = float(z.min()), float(z.max())
    return (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)


def _hatch(ax, x_edges: np.ndarray, y_edges: np.ndarray, mask: np.ndarray) -> None:
    """Hatch the cells (i_eps, i_V) where ``mask`` is True (x_edges, y_edges ascending)."""
    from matplotlib.patches import Rectangle

    for i, j in zip(*np.nonzero(np.asarray(mask, dtype=bool)), strict=True):
        ax.add_patch(
            Rectangle(
                (x_edges[i], y_edges[j]),
                x_edges[i + 1] - x_edges[i],
                y_edges[j + 1] - y_edges[j],
                fill=False,
                hatch="//",
                edgecolor="0.25",
                lw=0,
            )
        )


def _overlay(ax, r) -> None:
    diamond(ax, r, color="0.5")
    if "lines_resonance_V_over_U" in r:
        lines(ax, r["lines_eps_tilde_over_U"], r["lines_resonance_V_over_U"], "w--", "resonance")
    for k, (e, v) in enumerate(r["switching_survival_point_over_U"]):
        ax.plot(
            e,
            v,
            ls="none",
            marker="o",
            mfc="none",
            mec="r",
            color="r",
            ms=8,
            label="survival-curve points" if k == 0 else None,
        )


def _maps(r, out: Path) -> list[Path]:
    plt = pyplot()
    from matplotlib.colors import BoundaryNorm, ListedColormap

    protocols = [str(p) for p in r["switching_protocols"]]
    t_end = float(r["switching_t_end"])
    names = [str(n) for n in r["switching_regime_names"]]
    if len(protocols) == 1:  # 5 panels on a 3×2 grid at print width
        fig, grid = plt.subplots(3, 2, figsize=(12, 14))
        grid[2, 1].set_visible(False)
        axes = grid.ravel()[:5].reshape(1, 5)
    else:  # rows: quantity, columns: protocol
        fig, grid = plt.subplots(5, len(protocols), figsize=(6 * len(protocols), 23), squeeze=False)
        axes = grid.T
    log_mean = np.asarray(r["switching_log10_mean_time"], dtype=float)
    log_rate = np.where(
        r["switching_rate"] > 0, np.log10(np.where(r["switching_rate"] > 0, r["switching_rate"], 1)), np.nan
    )
    t_range = _finite_range(log_mean, (0.0, np.log10(t_end)))
    k_range = _finite_range(log_rate, (-np.log10(t_end) - 1, 0.0))
    x, y = r["eps_tilde_over_U"], r["V_over_U"]
    xe, ye = np.sort(cell_edges(x)), np.sort(cell_edges(y))
    for q, protocol in enumerate(protocols):
        label = _PROTOCOL_LABEL.get(protocol, protocol)
        n = r["switching_n_trajectories"][q]
        n_text = f"N = {int(n.min())}" if n.min() == n.max() else f"N = {int(n.min())}–{int(n.max())}"
        ax = axes[q, 0]
        m = mesh(ax, r, log_mean[q], cmap="viridis", vmin=t_range[0], vmax=t_range[1])
        fig.colorbar(m, ax=ax, label="log₁₀(mean first-passage time · Γ)")
        _hatch(ax, xe, ye, r["switching_mean_time_is_restricted"][q])
        _overlay(ax, r)
        ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8, facecolor="0.45", labelcolor="white"
        )  # explains the overlay lines of all panels (white: the resonance)
        frame(ax, r, f"{label}: log₁₀ mean first-passage time ({n_text})\nhatched: restricted mean (lower bound)")
        ax = axes[q, 1]
        m = mesh(ax, r, r["switching_probability_by_t_end"][q], cmap="magma", vmin=0, vmax=1)
        fig.colorbar(m, ax=ax, label="P(switched by t_end)")
        _overlay(ax, r)
        frame(ax, r, f"{label}:\nP(switched by t_end = {t_end:g} ħ/Γ)")
        ax = axes[q, 2]
        m = mesh(ax, r, log_rate[q], cmap="cividis", vmin=k_range[0], vmax=k_range[1])
        fig.colorbar(m, ax=ax, label="log₁₀(rate / Γ)   (grey: no switch)")
        ax.set_facecolor("0.8")
        _overlay(ax, r)
        frame(ax, r, f"{label}:\nrate k = switches / time at risk")
        ax = axes[q, 3]
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = (r["switching_rate_ci_high"][q] - r["switching_rate_ci_low"][q]) / r["switching_rate"][q]
        rel = np.where(np.isfinite(rel), rel, np.nan)
        m = mesh(
            ax, r, rel, cmap="plasma", vmin=0, vmax=max(1.0, float(np.nanmax(rel)) if np.isfinite(rel).any() else 1.0)
        )
        fig.colorbar(m, ax=ax, label="(k_high − k_low) / k   (exact χ² interval)")
        ax.set_facecolor("0.8")
        _overlay(ax, r)
        frame(ax, r, f"{label}:\nrelative width of the rate's CI")
        ax = axes[q, 4]
        cmap = ListedColormap(_REGIME_COLOURS[: len(names)])
        norm = BoundaryNorm(np.arange(len(names) + 1) - 0.5, cmap.N)
        m = mesh(ax, r, r["switching_regime"][q], cmap=cmap, norm=norm)
        bar = fig.colorbar(m, ax=ax, ticks=np.arange(len(names)))
        bar.ax.set_yticklabels(names)
        _overlay(ax, r)
        frame(ax, r, f"{label}:\nregime (from the CV of the switching times)")
    return save(fig, out, "switching_times_maps")


def _survival(r, out: Path) -> list[Path]:
    plt = pyplot()
    protocols = [str(p) for p in r["switching_protocols"]]
    points = np.asarray(r["switching_survival_point_over_U"])
    t = r["switching_survival_time"]
    edges = r["switching_histogram_edges"]
    n_pts = len(points)
    fig, axes = plt.subplots(2, n_pts, figsize=(min(12.0, 5.5 * n_pts), 8), squeeze=False)
    colours = ("tab:red", "tab:blue")
    for s, (e, v) in enumerate(points):
        ax, axh = axes[0, s], axes[1, s]
        for q, protocol in enumerate(protocols):
            c = colours[q % 2]
            label = _PROTOCOL_LABEL.get(protocol, protocol)
            ax.plot(t, r["switching_survival"][q, s], color=c, lw=1.2, label=label)
            ax.fill_between(
                t,
                r["switching_survival_ci_low"][q, s],
                r["switching_survival_ci_high"][q, s],
                color=c,
                alpha=0.25,
                lw=0,
            )
            counts = r["switching_histogram_counts"][q, s]
            censored = int(r["switching_histogram_censored"][q, s])
            axh.stairs(counts, edges, color=c, label=f"{label}: {int(counts.sum())} switched, {censored} censored")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlim(t[0], t[-1])
        ax.set_xlabel("t  (ħ/Γ)")
        ax.set_ylabel("S(t) = P(not switched by t)")
        ax.set_title(
            f"Kaplan–Meier survival, ε̃ = {e:.3g}U, V = {v:.3g}U\n(band: pointwise 95 % Greenwood)", fontsize=10
        )
        ax.legend(fontsize=8)
        axh.set_xlim(edges[0], edges[-1])
        axh.set_xlabel("first-passage time  (ħ/Γ)")
        axh.set_ylabel("trajectories per bin")
        axh.set_title(f"histogram of switching times, ε̃ = {e:.3g}U, V = {v:.3g}U", fontsize=10)
        axh.legend(fontsize=8)
    return save(fig, out, "switching_times_survival")

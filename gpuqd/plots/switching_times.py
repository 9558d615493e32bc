"""Figures of the switching-time statistics (output ``switching_times``, gpuqd.run.stages.switching_times).

* ``switching_times_maps``: one row per protocol over (ε̃, V): log₁₀ of the mean first-passage time
  (hatched where it is only the restricted mean, i.e. a lower bound), P(switched by t_end), log₁₀ of
  the memoryless rate, the relative width of its exact 95 % interval, and the regime label; resonance
  line and Coulomb-diamond edges as in Fig. 2; survival points circled.
* ``switching_times_survival``: per survival point, Kaplan–Meier S(t) with its pointwise band for
  each protocol (top) and the histogram of the switched first-passage times (bottom).

Times in ħ/Γ, rates in Γ/ħ, axes in units of U. Written as PNG, PDF and caption into ``<run>/figures/``;
at single width the maps are the mean time and P(switched) only, and at most two survival points are
drawn (the captions say so).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gpuqd.plots.common import (
    colorbar,
    diamond,
    figure_format,
    frame,
    inner_y_labels_off,
    journal_style,
    label_panels,
    lines,
    mesh,
    new_figure,
    note,
    parameter_title,
    save,
    shared_legend,
    u_text,
)
from gpuqd.plots.common import edges as cell_edges

__all__ = ["OUTPUT", "REQUIRES", "draw"]

OUTPUT = "switching_times"
#: array that must be in the results for these figures
REQUIRES = "switching_mean_time"

_PROTOCOL_LABEL = {"P_to_AP": "P → AP (start θ = 0)", "AP_to_P": "AP → P (start θ = π)"}
_PROTOCOL_SHORT = {"P_to_AP": "P→AP", "AP_to_P": "AP→P"}
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


def _hatch_proxy():  # noqa: ANN202
    """An empty hatched rectangle: the legend entry of the hatching."""
    from matplotlib.patches import Rectangle

    return Rectangle(
        (0, 0), 0, 0, fill=False, hatch="//", edgecolor="0.25", lw=0, label="restricted mean (lower bound)"
    )


def _overlay(ax, r) -> None:
    diamond(ax, r, color="0.5")
    if "lines_resonance_V_over_U" in r:
        lines(ax, r["lines_eps_tilde_over_U"], r["lines_resonance_V_over_U"], "w--", "resonance line")
    for k, (e, v) in enumerate(r["switching_survival_point_over_U"]):
        ax.plot(
            e,
            v,
            ls="none",
            marker="o",
            mfc="none",
            mec="r",
            color="r",
            ms=5,
            label="survival-curve points" if k == 0 else None,
        )


def _maps(r, out: Path) -> list[Path]:
    from matplotlib.colors import BoundaryNorm, ListedColormap

    fmt = figure_format(r.config)
    protocols = [str(p) for p in r["switching_protocols"]]
    t_end = float(r["switching_t_end"])
    names = [str(n) for n in r["switching_regime_names"]]
    log_mean = np.asarray(r["switching_log10_mean_time"], dtype=float)
    rate = np.asarray(r["switching_rate"], dtype=float)
    log_rate = np.where(rate > 0, np.log10(np.where(rate > 0, rate, 1)), np.nan)
    t_range = _finite_range(log_mean, (0.0, np.log10(t_end)))
    k_range = _finite_range(log_rate, (-np.log10(t_end) - 1, 0.0))
    x, y = r["eps_tilde_over_U"], r["V_over_U"]
    xe, ye = np.sort(cell_edges(x)), np.sort(cell_edges(y))
    n_q = len(protocols)
    with journal_style(fmt):
        if fmt.narrow:  # reduced set: mean time and P(switched by t_end) per protocol
            fig, grid = new_figure(fmt, 1.55 * n_q + 1.1, n_q, 2)
            rows = [list(grid[q]) for q in range(n_q)]
        else:  # per protocol two rows of three: five maps and a note
            fig, grid = new_figure(fmt, 2.05 * 2 * n_q + 0.7, 2 * n_q, 3)
            rows = [list(grid[2 * q]) + list(grid[2 * q + 1]) for q in range(n_q)]
        maps = []
        for q, protocol in enumerate(protocols):
            head = _PROTOCOL_SHORT.get(protocol, protocol)
            n = r["switching_n_trajectories"][q]
            n_text = f"N = {int(n.min())}" if n.min() == n.max() else f"N = {int(n.min())}–{int(n.max())}"
            axes = rows[q]
            ax = axes[0]
            m = mesh(ax, r, log_mean[q], cmap="viridis", vmin=t_range[0], vmax=t_range[1])
            colorbar(fig, m, ax, "" if fmt.narrow else "log₁₀(τ Γ)")
            _hatch(ax, xe, ye, r["switching_mean_time_is_restricted"][q])
            ax.add_patch(_hatch_proxy())
            ax = axes[1]
            m = mesh(ax, r, r["switching_probability_by_t_end"][q], cmap="magma", vmin=0, vmax=1)
            colorbar(fig, m, ax, "" if fmt.narrow else "probability", nbins=3 if fmt.narrow else 4)
            titles = [f"{head}: mean first-passage time", f"{head}: P(switched)"]
            if fmt.narrow:
                titles = [f"{head}: log₁₀(τ Γ)", f"{head}: P(switched)"]
            if not fmt.narrow:
                ax = axes[2]
                m = mesh(ax, r, log_rate[q], cmap="cividis", vmin=k_range[0], vmax=k_range[1])
                colorbar(fig, m, ax, "log₁₀(k / Γ)")
                ax.set_facecolor("0.8")
                ax = axes[3]
                with np.errstate(divide="ignore", invalid="ignore"):
                    rel = (r["switching_rate_ci_high"][q] - r["switching_rate_ci_low"][q]) / rate[q]
                rel = np.where(np.isfinite(rel), rel, np.nan)
                top = max(1.0, float(np.nanmax(rel)) if np.isfinite(rel).any() else 1.0)
                m = mesh(ax, r, rel, cmap="plasma", vmin=0, vmax=top)
                colorbar(fig, m, ax, "(k_high − k_low) / k")
                ax.set_facecolor("0.8")
                ax = axes[4]
                cmap = ListedColormap(_REGIME_COLOURS[: len(names)])
                norm = BoundaryNorm(np.arange(len(names) + 1) - 0.5, cmap.N)
                m = mesh(ax, r, r["switching_regime"][q], cmap=cmap, norm=norm)
                bar = colorbar(fig, m, ax, "", ticks=np.arange(len(names)))
                bar.ax.set_yticklabels([n.replace("_", " ") for n in names])
                titles += [f"{head}: rate k", f"{head}: 95 % CI width of k", f"{head}: regime"]
                note(
                    axes[5],
                    f"{_PROTOCOL_LABEL.get(protocol, protocol)}\n{n_text} per point\n"
                    f"t_end = {t_end:g} ħ/Γ\nhatched: restricted mean\n(a lower bound)\ngrey: no switch",
                )
            for ax, title in zip(axes, titles, strict=False):
                _overlay(ax, r)
                frame(ax, r, title, nbins=3 if fmt.narrow else 4)
                maps.append(ax)
        if fmt.narrow:
            inner_y_labels_off(maps)
        label_panels(maps)
        parameter_title(fig, r.config, fmt)
        shared_legend(fig, maps, dark=True)
    notice = ""
    if fmt.narrow:
        notice = "Narrow width: only the mean time and P(switched) maps (figures.width: double adds rate, CI, regime)"
    what = (
        "Switching-time statistics over (ε̃, V), per protocol (P → AP starts at θ = 0, AP → P at θ = π): log₁₀ "
        "of the mean first-passage time τ (ħ/Γ; hatched where it is only the restricted mean, a lower bound), "
        f"P(switched by t_end = {t_end:g} ħ/Γ), log₁₀ of the memoryless rate k = switches / time at risk, the "
        "relative width of its exact χ² 95 % interval, the regime from the CV of the switching times; resonance "
        "line dashed, Coulomb-diamond edges dotted, survival points circled"
    )
    return save(fig, out, "switching_times_maps", r.config, what, notice)


def _survival(r, out: Path) -> list[Path]:
    from matplotlib.ticker import MaxNLocator

    fmt = figure_format(r.config)
    protocols = [str(p) for p in r["switching_protocols"]]
    points = np.asarray(r["switching_survival_point_over_U"])
    t = r["switching_survival_time"]
    edges = r["switching_histogram_edges"]
    n_all = len(points)
    n_pts = min(n_all, 2 if fmt.narrow else 3)
    colours = ("tab:red", "tab:blue")
    with journal_style(fmt):
        fig, axes = new_figure(fmt, 4.3 if fmt.narrow else 4.2, 2, n_pts)
        for s, (e, v) in enumerate(points[:n_pts]):
            ax, axh = axes[0, s], axes[1, s]
            counts_text = []
            for q, protocol in enumerate(protocols):
                c = colours[q % 2]
                label = _PROTOCOL_LABEL.get(protocol, protocol)
                ax.plot(t, r["switching_survival"][q, s], color=c, lw=1.0, label=f"{label}: S(t)")
                ax.fill_between(
                    t,
                    r["switching_survival_ci_low"][q, s],
                    r["switching_survival_ci_high"][q, s],
                    color=c,
                    alpha=0.25,
                    lw=0,
                    label=f"{label}: 95 % band",
                )
                counts = r["switching_histogram_counts"][q, s]
                censored = int(r["switching_histogram_censored"][q, s])
                axh.stairs(counts, edges, color=c, label=f"{label}: histogram")
                counts_text.append(f"{_PROTOCOL_SHORT.get(protocol, protocol)} {int(counts.sum())}/{censored}")
            where = f"ε̃ = {u_text(e)}, V = {u_text(v)}"
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlim(t[0], t[-1])
            ax.set_xlabel("t  (ħ/Γ)")
            ax.set_ylabel("S(t) = P(not switched)")
            ax.set_title(f"survival, {where}" if not fmt.narrow else f"survival\n{where}")
            axh.set_xlim(edges[0], edges[-1])
            axh.set_xlabel("first-passage time  (ħ/Γ)")
            axh.set_ylabel("trajectories per bin")
            sep = "\n" if fmt.narrow or len(protocols) > 1 else ", "
            axh.set_title(f"switched/censored:{sep}" + ", ".join(counts_text))
            for a in (ax, axh):
                a.xaxis.set_major_locator(MaxNLocator(nbins=3 if fmt.narrow else 4))
        label_panels(list(axes.ravel()))
        shared_legend(fig, list(axes.ravel()))
    shown = "; ".join(f"ε̃ = {u_text(e)}, V = {u_text(v)}" for e, v in points[:n_pts])
    notice = f"Only the first {n_pts} of {n_all} survival points at this width" if n_pts < n_all else ""
    what = (
        f"Switching-time statistics at ({shown}): Kaplan–Meier survival S(t) with its pointwise 95 % Greenwood "
        "band per protocol (top) and the histogram of the switched first-passage times (bottom; titles: "
        "switched/censored trajectories)"
    )
    return save(fig, out, "switching_times_survival", r.config, what, notice)

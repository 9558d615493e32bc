"""Figures of the write-error rate (output ``write_error``, docs/physics.md §16), at journal size
(:mod:`gpuqd.plots.journal`): ``write_error_vs_width`` (ensemble estimate with its exact binomial
interval, splitting estimate, exact axial Fokker–Planck value, against the pulse width) and, when the run
computed it, ``write_error_map`` (exact rate over the write point (ε̃, V)). Each with its caption file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gpuqd.plots.common import (
    colorbar,
    diamond,
    figure_format,
    frame,
    journal_style,
    mesh,
    new_figure,
    parameter_title,
    save,
    shared_legend,
)

__all__ = ["OUTPUT", "REQUIRES", "draw"]

OUTPUT = "write_error"
#: array that must be in the results for this figure
REQUIRES = "pulse_width"
#: smallest rate drawn (the log axis stops here)
FLOOR = 1e-12


def _versus_width(r, out: Path) -> list[Path]:  # noqa: ANN001
    fmt = figure_format(r.config)
    with journal_style(fmt):
        fig, axes = new_figure(fmt, 3.0 if fmt.narrow else 3.2, 1, 1)
        ax = axes[0, 0]
        width = np.asarray(r["pulse_width"], dtype=float)
        exact = np.asarray(r["write_error_rate_fp"], dtype=float)
        if np.isfinite(exact).any():
            ax.plot(width, np.clip(exact, FLOOR, None), "k-", lw=1.0, label="exact (axial Fokker–Planck)")
        sim = np.asarray(r["write_error_rate"], dtype=float)
        shown = np.isfinite(sim) & (sim > 0)
        n = int(np.max(r["write_error_trajectories"]))
        if shown.any():
            lo = np.asarray(r["write_error_rate_lower"], dtype=float)[shown]
            hi = np.asarray(r["write_error_rate_upper"], dtype=float)[shown]
            y = sim[shown]
            ax.errorbar(
                width[shown],
                y,
                yerr=[y - np.clip(lo, FLOOR, None), hi - y],
                fmt="o",
                ms=3,
                capsize=2,
                color="C0",
                label=f"ensemble, {n} trajectories",
            )
        split = np.asarray(r["write_error_rate_splitting"], dtype=float)
        if np.isfinite(split).any():
            se = np.asarray(r["write_error_rate_splitting_se"], dtype=float)
            ok = np.isfinite(split) & (split > 0)
            ax.errorbar(
                width[ok],
                split[ok],
                yerr=[np.minimum(2 * se[ok], 0.999 * split[ok]), 2 * se[ok]],
                fmt="s",
                ms=3,
                capsize=2,
                color="C3",
                label="splitting (±2 SE)",
            )
        ax.set_yscale("log")
        ax.set_xlabel("pulse width  (ħ/Γ)")
        ax.set_ylabel("write-error rate")
        ax.grid(True, which="both", lw=0.3, alpha=0.5)
        ax.set_title("write-error rate against pulse width")
        parameter_title(fig, r.config, fmt)
        shared_legend(fig, [ax])
    what = (
        "Write-error rate against the pulse width: ensemble estimate with its exact binomial 95 % interval "
        f"({n} trajectories per width), splitting estimate (±2 SE) and the exact axial Fokker–Planck value"
    )
    return save(fig, out, "write_error_vs_width", r.config, what)


def _map(r, out: Path) -> list[Path]:  # noqa: ANN001
    fmt = figure_format(r.config)
    with journal_style(fmt):
        if fmt.narrow:
            fig, axes = new_figure(fmt, 3.4, 1, 1)
            ax = axes[0, 0]
        else:  # one map, centred: empty side columns keep it about square
            fig, axes = new_figure(fmt, 3.8, 1, 3, width_ratios=[0.6, 2, 0.6])
            axes[0, 0].set_visible(False)
            axes[0, 2].set_visible(False)
            ax = axes[0, 1]
        with np.errstate(divide="ignore"):
            z = np.log10(np.clip(np.asarray(r["write_error_rate_fp_map"], dtype=float), FLOOR, 1.0))
        m = mesh(ax, r, z, cmap="viridis", vmin=np.log10(FLOOR), vmax=0.0)
        colorbar(fig, m, ax, "log₁₀ write-error rate")
        diamond(ax, r)
        rest = np.asarray(r["write_error_points"], dtype=float)[0]
        scaled = np.asarray(r["eps_tilde_over_U"], dtype=float)
        k = int(np.argmax(np.abs(scaled)))
        if scaled[k] != 0:
            u = float(r["eps_tilde"][k]) / float(scaled[k])  # U in Γ
            ax.plot(rest[0] / u, rest[1] / u, "r*", ms=7, ls="none", label="rest point")
        frame(ax, r, "exact write-error rate over the write point")
        parameter_title(fig, r.config, fmt)
        shared_legend(fig, [ax], dark=True)
    what = (
        "Exact (axial Fokker–Planck) write-error rate over the write point (ε̃, V), log₁₀, floor "
        f"{FLOOR:g}; Coulomb-diamond edges dotted, the rest point starred"
    )
    return save(fig, out, "write_error_map", r.config, what)


def draw(r, out: Path) -> list[Path]:  # noqa: ANN001
    """The write-error figures of a loaded run (:class:`gpuqd.run.load.RunResults`) into ``out``."""
    paths = _versus_width(r, out)
    if "write_error_rate_fp_map" in r:
        paths += _map(r, out)
    return paths

"""Fokker–Planck maps beside Fig. 2 (output ``fokker_planck``): the simulated ⟨θ⟩ (when the run has it;
else the panel says so), the theory's ⟨θ⟩ over the Fig. 2 window, stationary P(AP) and ⟨θ⟩, and log10 of
both mean first-passage times with the window marked (contours); resonance line and Coulomb-diamond edges
on every panel. Written as ``figures/fig2_fokker_planck.{png,pdf,txt}``: three columns at double width,
two at single width.
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
    save,
    shared_legend,
)

__all__ = ["OUTPUT", "REQUIRES", "draw"]

OUTPUT = "fokker_planck"
#: array that must be in the results for this figure
REQUIRES = "fp_mean_theta_window"


def _overlay(ax, r) -> None:  # noqa: ANN001
    diamond(ax, r)
    lines(ax, r["lines_eps_tilde_over_U"], r["lines_resonance_V_over_U"], "w--", "resonance line")


def draw(r, out: Path) -> list[Path]:  # noqa: ANN001
    """The Fokker–Planck figure of a loaded run (:class:`gpuqd.run.load.RunResults`) into ``out``."""
    fmt = figure_format(r.config)
    start, end = (float(x) for x in r["fp_window"])
    with np.errstate(divide="ignore"):
        logs = [np.log10(np.clip(r[k], 1e-300, None)) for k in ("fp_mfpt_p_to_ap", "fp_mfpt_ap_to_p")]
    finite = np.concatenate([x[np.isfinite(x)] for x in logs])
    lo, hi = (float(np.nanmin(finite)), float(min(np.nanmax(finite), 12.0))) if finite.size else (0.0, 1.0)
    hi = hi if hi > lo else lo + 1.0
    with journal_style(fmt):
        if fmt.narrow:
            fig, grid = new_figure(fmt, 5.4, 3, 2)
        else:
            fig, grid = new_figure(fmt, 4.7, 2, 3)
        axes = list(grid.ravel())
        panels: list[tuple] = [
            (
                axes[1],
                r["fp_mean_theta_window"] / np.pi,
                "viridis",
                (0, 1),
                "⟨θ⟩ / π",
                f"theory ⟨θ⟩, t ∈ [{start:g}, {end:g})",
            ),
            (axes[2], r["fp_p_ap_stationary"], "coolwarm", (0, 1), "P(n_z < 0)", "theory: stationary P(AP)"),
            (axes[3], r["fp_mean_theta_stationary"] / np.pi, "viridis", (0, 1), "⟨θ⟩ / π", "theory: stationary ⟨θ⟩"),
        ]
        if "mean_theta" in r:
            panels.insert(0, (axes[0], r["mean_theta"] / np.pi, "viridis", (0, 1), "⟨θ⟩ / π", "simulated ⟨θ⟩ (Fig. 2)"))
        else:
            note(axes[0], "no simulated ⟨θ⟩:\noutput switching_diagram\nis not in this run")
        for ax, z, name in ((axes[4], logs[0], "P→AP"), (axes[5], logs[1], "AP→P")):
            panels.append((ax, np.where(np.isfinite(z), z, hi), "magma", (lo, hi), "log₁₀(τ Γ)", f"mean time {name}"))
        for ax, z, cmap, (vmin, vmax), label, title in panels:
            m = mesh(ax, r, z, cmap=cmap, vmin=vmin, vmax=vmax)
            colorbar(fig, m, ax, label, nbins=3 if fmt.narrow else 4)
            _overlay(ax, r)
            frame(ax, r, title, nbins=3 if fmt.narrow else 4)
        for ax, z in ((axes[4], logs[0]), (axes[5], logs[1])):
            zf = np.where(np.isfinite(z), z, hi)
            if zf.min() < np.log10(end) < zf.max():
                ax.contour(
                    r["eps_tilde_over_U"],
                    r["V_over_U"],
                    zf.T,
                    levels=[np.log10(max(start, 1e-30)), np.log10(end)],
                    colors=["c", "w"],
                    linewidths=0.9,
                )
                # legend entries of the two contour levels (no data: explained lines only)
                ax.plot([], [], color="c", lw=0.9, label=f"τ = window start {start:g} ħ/Γ")
                ax.plot([], [], color="w", lw=0.9, label=f"τ = window end {end:g} ħ/Γ")
        if fmt.narrow:
            inner_y_labels_off([p[0] for p in panels])
        label_panels(axes)
        shared_legend(fig, axes, dark=True)
    what = (
        "Axial Fokker–Planck theory beside Fig. 2: simulated ⟨θ⟩/π (if the run has it), the theory's ⟨θ⟩/π over "
        f"the window [{start:g}, {end:g}) ħ/Γ, stationary P(AP) = P(n_z < 0) and ⟨θ⟩/π, log₁₀ of the mean "
        "first-passage times P→AP and AP→P (contours: window start, cyan; end, white); resonance line dashed, "
        "Coulomb-diamond edges dotted"
    )
    return save(fig, out, "fig2_fokker_planck", r.config, what)

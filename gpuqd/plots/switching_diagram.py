"""Fig. 2 of [G] (output ``switching_diagram``): ⟨θ⟩/π over (ε̃, V) with the resonance line and the
Coulomb-diamond edges; side panel θ(t) at the inset points; the run's key parameters as the figure's
title (a cubic and a uniaxial run differ on sight). Written as ``figures/fig2_switching.{png,pdf,txt}``;
at single width the θ(t) panel is below the map.
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
    label_panels,
    lines,
    mesh,
    new_figure,
    parameter_title,
    save,
    shared_legend,
    u_text,
)

__all__ = ["OUTPUT", "REQUIRES", "draw"]

OUTPUT = "switching_diagram"
#: array that must be in the results for this figure
REQUIRES = "mean_theta"


def draw(r, out: Path) -> list[Path]:  # noqa: ANN001
    """Fig. 2 of a loaded run (:class:`gpuqd.run.load.RunResults`) into ``out``."""
    from matplotlib.ticker import MaxNLocator

    fmt = figure_format(r.config)
    dyn = r.config.get("dynamics", {})
    start, end = dyn.get("average_from", 0), dyn.get("t_end", 0)
    with journal_style(fmt):
        if fmt.narrow:
            fig, axes = new_figure(fmt, 5.6, 2, 1, height_ratios=[1.3, 1])
            ax, ax2 = axes[0, 0], axes[1, 0]
        else:
            fig, axes = new_figure(fmt, 3.5, 1, 2, width_ratios=[1.2, 1])
            ax, ax2 = axes[0, 0], axes[0, 1]
        m = mesh(ax, r, r["mean_theta"] / np.pi, cmap="viridis", vmin=0, vmax=1)
        colorbar(fig, m, ax, "⟨θ⟩ / π   (0 = P, 1 = AP)")
        diamond(ax, r)
        lines(ax, r["lines_eps_tilde_over_U"], r["lines_resonance_V_over_U"], "w--", "resonance line")
        for k, (e, v) in enumerate(r["inset_point_over_U"]):
            ax.plot(e, v, ls="none", marker="o", mfc="none", mec="r", ms=6, label="θ(t) points" if k == 0 else None)
        frame(ax, r, f"⟨θ⟩ over t ∈ [{start:g}, {end:g}) ħ/Γ")
        t = r["inset_time"]
        drawn = set()
        for k, th in enumerate(r["inset_theta"]):
            e, v = r["inset_point_over_U"][k]
            if (e, v) in drawn:  # two requested points on the same grid point: one trajectory
                continue
            drawn.add((e, v))
            ax2.plot(t, th / np.pi, lw=0.8, color=f"C{k + 1}", label=f"θ(t): ε̃ = {u_text(e)}, V = {u_text(v)}")
        if dyn.get("average_from") is not None:
            ax2.axvline(start, color="0.5", ls="--", lw=0.8, label="start of the ⟨θ⟩ window")
        ax2.set_ylim(0, 1)
        ax2.set_xlim(float(t[0]), float(t[-1]))
        ax2.xaxis.set_major_locator(MaxNLocator(nbins=4))
        ax2.set_xlabel("t  (ħ/Γ)")
        ax2.set_ylabel("θ(t) / π")
        ax2.set_title("θ(t) at the circled points")
        label_panels([ax, ax2])
        parameter_title(fig, r.config, fmt)
        shared_legend(fig, [ax, ax2], dark=True)
    points = "; ".join(f"ε̃ = {u_text(e)}, V = {u_text(v)}" for e, v in r["inset_point_over_U"])
    what = (
        f"Fig. 2 of [G]: time-averaged polar angle ⟨θ⟩/π over t ∈ [{start:g}, {end:g}) ħ/Γ on the (ε̃, V) grid "
        f"(0 = P, 1 = AP), resonance line Γ_DΦ_D = Γ_SΦ_S dashed, Coulomb-diamond edges dotted; θ(t) of one "
        f"trajectory at the nearest grid points to ({points})"
    )
    return save(fig, out, "fig2_switching", r.config, what)

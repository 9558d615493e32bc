"""Fig. 4 of [G] (output ``torque_maps``): I_FL, I_DL for θ = 0.01π (partner line dashed) and θ = 0.99π
(resonance line dashed), symmetric-log colour maps; side panels I_FL(θ), I_DL(θ) at the inset point.
Written as ``figures/fig4_torques.{png,pdf,txt}``.

Layout: double width: maps in two columns (rows θ = 0.01π, 0.99π), the two I(θ) panels in a third;
single width: the maps in two columns, the I(θ) panels in a row below. One shared legend.
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
    save,
    shared_legend,
    sym_limit,
    zero_line,
)

__all__ = ["OUTPUT", "REQUIRES", "draw"]

OUTPUT = "torque_maps"
#: array that must be in the results for this figure
REQUIRES = "torque_field_like_parallel"

_ROWS = (
    ("parallel", "θ = 0.01π", "lines_partner_V_over_U", "partner line Γ_DΦ_D = −Γ_SΦ_S"),
    ("antiparallel", "θ = 0.99π", "lines_resonance_V_over_U", "resonance line Γ_DΦ_D = Γ_SΦ_S"),
)
_TORQUES = (("field_like", "I_FL", "C3"), ("damping_like", "I_DL", "C0"))


def _map(fig, ax, r, z: np.ndarray, name: str, line: str, line_label: str, title: str, narrow: bool) -> float:  # noqa: ANN001
    """One symmetric-log torque map; returns the linear threshold (Γ)."""
    from matplotlib.colors import SymLogNorm

    lim = sym_limit(z)
    norm = SymLogNorm(linthresh=lim * 1e-3, vmin=-lim, vmax=lim, base=10)
    m = mesh(ax, r, z, cmap="RdBu_r", norm=norm)
    top = float(10.0 ** np.floor(np.log10(lim)))
    ticks = [-top, 0.0, top] if narrow else [-top, -top / 100, 0.0, top / 100, top]
    colorbar(fig, m, ax, f"{name}  [Γ]", extend="both", ticks=ticks)
    lines(ax, r["lines_eps_tilde_over_U"], r[line], "k--", line_label)
    diamond(ax, r, color="0.4")
    p = r["torque_inset_point_over_U"]
    ax.plot(p[0], p[1], marker="x", color="k", ms=5, ls="none", label="point of the I(θ) panels")
    frame(ax, r, title)
    return lim * 1e-3


def draw(r, out: Path) -> list[Path]:  # noqa: ANN001
    """Fig. 4 of a loaded run (:class:`gpuqd.run.load.RunResults`) into ``out``."""
    fmt = figure_format(r.config)
    with journal_style(fmt):
        if fmt.narrow:
            fig, axes = new_figure(fmt, 5.3, 3, 2, height_ratios=[1, 1, 1])
            maps, curves = axes[:2, :], [axes[2, 0], axes[2, 1]]
        else:
            fig, axes = new_figure(fmt, 4.5, 2, 3, width_ratios=[1, 1, 0.8])
            maps, curves = axes[:, :2], [axes[0, 2], axes[1, 2]]
        thresholds = []
        for i, (state, theta, line, line_label) in enumerate(_ROWS):
            for j, (q, name, _) in enumerate(_TORQUES):
                title = f"{name}, {theta}"
                z = r[f"torque_{q}_{state}"]
                thresholds.append(_map(fig, maps[i, j], r, z, name, line, line_label, title, fmt.narrow))
        th = r["torque_inset_theta"] / np.pi
        p = r["torque_inset_point_over_U"]
        for ax, (q, name, colour) in zip(curves, _TORQUES, strict=True):
            ax.plot(th, r[f"torque_inset_{q}"], color=colour, label=f"{name}(θ) at the marked point")
            zero_line(ax)
            ax.set_xlabel("θ / π")
            ax.set_ylabel(f"{name}(θ)  [Γ]")
            ax.set_xlim(0, 1)
            ax.set_title(f"{name}(θ)")
        if fmt.narrow:
            inner_y_labels_off(list(maps.ravel()))
        label_panels([*maps.ravel(), *curves])
        shared_legend(fig, list(maps.ravel()) + curves)
    what = (
        "Fig. 4 of [G]: field-like and damping-like torque coefficients I_FL, I_DL (Γ) over (ε̃, V) at "
        "θ = 0.01π (partner line dashed) and θ = 0.99π (resonance line dashed), symmetric-log colour scales "
        f"(linear below {min(thresholds):.1g}–{max(thresholds):.1g} Γ), Coulomb-diamond edges dotted; "
        f"I_FL(θ), I_DL(θ) at ε̃ = {p[0]:.3g}U, V = {p[1]:.3g}U (cross)"
    )
    return save(fig, out, "fig4_torques", r.config, what)

"""Fig. 4 of [G] (output ``torque_maps``): I_FL, I_DL for θ = 0.01π (partner line dashed) and θ = 0.99π
(resonance line dashed), symmetric-log colour maps; side panels I_FL(θ), I_DL(θ) at the inset point.
Written as ``figures/fig4_torques.{png,pdf}``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gpuqd.plots.common import diamond, frame, legend_below, lines, mesh, pyplot, save, sym_limit, zero_line

__all__ = ["OUTPUT", "REQUIRES", "draw"]

OUTPUT = "torque_maps"
#: array that must be in the results for this figure
REQUIRES = "torque_field_like_parallel"


def draw(r, out: Path) -> list[Path]:  # noqa: ANN001
    plt = pyplot()
    from matplotlib.colors import SymLogNorm

    fig, axes = plt.subplots(2, 3, figsize=(12, 7.6), gridspec_kw={"width_ratios": [1, 1, 0.9]})
    rows = (
        ("parallel", "θ = 0.01π", "lines_partner_V_over_U", "partner Γ_DΦ_D = −Γ_SΦ_S"),
        ("antiparallel", "θ = 0.99π", "lines_resonance_V_over_U", "resonance Γ_DΦ_D = Γ_SΦ_S"),
    )
    for i, (lab, tl, line, line_label) in enumerate(rows):
        for j, (q, ql) in enumerate((("field_like", "I_FL"), ("damping_like", "I_DL"))):
            ax = axes[i, j]
            z = r[f"torque_{q}_{lab}"]
            lim = sym_limit(z)
            norm = SymLogNorm(linthresh=lim * 1e-3, vmin=-lim, vmax=lim, base=10)
            m = mesh(ax, r, z, cmap="RdBu_r", norm=norm)
            top = np.floor(np.log10(lim))
            pos = [10.0 ** (top - k) for k in range(3)]
            ticks = [-t for t in pos] + [0.0] + pos[::-1]
            fig.colorbar(
                m, ax=ax, extend="both", ticks=ticks, label=f"{ql}  [Γ]  (symmetric log, linear below {lim * 1e-3:.1g})"
            )
            lines(ax, r["lines_eps_tilde_over_U"], r[line], "k--", line_label)
            diamond(ax, r, color="0.4")
            p = r["torque_inset_point_over_U"]
            ax.plot(p[0], p[1], marker="x", color="k", ms=6, ls="none", label="inset point")
            legend_below(ax)
            frame(ax, r, f"Fig. 4: {ql}, {tl}")
    th = r["torque_inset_theta"] / np.pi
    p = r["torque_inset_point_over_U"]
    for i, (q, ql, c) in enumerate((("field_like", "I_FL", "r"), ("damping_like", "I_DL", "b"))):
        ax = axes[i, 2]
        ax.plot(th, r[f"torque_inset_{q}"], c + "-", label=f"{ql}(θ)")
        zero_line(ax)
        ax.legend(fontsize=8)
        ax.set_xlabel("θ / π")
        ax.set_ylabel(f"{ql}(θ)  [Γ]")
        ax.set_xlim(0, 1)
        ax.set_title(f"inset: {ql}(θ) at ε̃ = {p[0]:.3g}U, V = {p[1]:.3g}U", fontsize=10)
    return save(fig, out, "fig4_torques")

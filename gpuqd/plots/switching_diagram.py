"""Fig. 2 of [G] (output ``switching_diagram``): ⟨θ⟩/π over (ε̃, V) with the resonance line and the
Coulomb-diamond edges; side panel θ(t) at the inset points. Written as ``figures/fig2_switching.{png,pdf}``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gpuqd.plots.common import diamond, frame, lines, mesh, pyplot, save

__all__ = ["OUTPUT", "REQUIRES", "draw"]

OUTPUT = "switching_diagram"
#: array that must be in the results for this figure
REQUIRES = "mean_theta"


def draw(r, out: Path) -> list[Path]:  # noqa: ANN001
    plt = pyplot()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.6), gridspec_kw={"width_ratios": [1.15, 1]})
    m = mesh(ax, r, r["mean_theta"] / np.pi, cmap="viridis", vmin=0, vmax=1)
    fig.colorbar(m, ax=ax, label="⟨θ⟩ / π   (0 = P, 1 = AP)")
    diamond(ax, r)
    lines(ax, r["lines_eps_tilde_over_U"], r["lines_resonance_V_over_U"], "w--", "resonance Γ_DΦ_D = Γ_SΦ_S")
    for k, (e, v) in enumerate(r["inset_point_over_U"]):
        ax.plot(
            e, v, ls="none", marker="o", mfc="none", mec="r", color="r", ms=7, label="inset points" if k == 0 else None
        )
    dyn = r.config.get("dynamics", {})
    frame(ax, r, f"Fig. 2: ⟨θ⟩ over t ∈ [{dyn.get('average_from', 0):g}, {dyn.get('t_end', 0):g}) ħ/Γ")
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.13),
        ncol=2,
        fontsize=7,
        facecolor="0.3",
        framealpha=1.0,
        labelcolor="w",
    )
    t = r["inset_time"]
    for k, th in enumerate(r["inset_theta"]):
        e, v = r["inset_point_over_U"][k]
        ax2.plot(t, th / np.pi, lw=0.8, label=f"ε̃ = {e:.3g}U, V = {v:.3g}U")
    cfg = r.config.get("dynamics", {})
    if cfg.get("average_from") is not None:
        ax2.axvline(cfg["average_from"], color="0.5", ls="--", lw=0.8, label="start of average")
    ax2.set_ylim(0, 1)
    ax2.set_xlabel("t  (ħ/Γ)")
    ax2.set_ylabel("θ(t) / π")
    ax2.set_title("inset: θ(t) (nearest grid points)", fontsize=10)
    ax2.legend(fontsize=8)
    return save(fig, out, "fig2_switching")

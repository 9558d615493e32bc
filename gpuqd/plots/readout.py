"""Fig. 3 of [G] (output ``readout``): log₁₀(I_C/V) (e²/ħ) for θ = 0.01π, 0.99π and the dynamic state (colour
scale clipped at the top); bottom row I_FL, I_DL vs V along ε̃ ≈ figures.readout_inset_eps_tilde.
Written as ``figures/fig3_readout.{png,pdf}``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gpuqd.plots.common import cb_interior, diamond, frame, legend_below, lines, mesh, pyplot, save, zero_line

__all__ = ["OUTPUT", "REQUIRES", "draw"]

OUTPUT = "readout"
#: array that must be in the results for this figure
REQUIRES = "readout_conductance_parallel"


def draw(r, out: Path) -> list[Path]:  # noqa: ANN001
    plt = pyplot()
    panels = [
        ("readout_conductance_parallel", "θ = 0.01π (≈ P)"),
        ("readout_conductance_antiparallel", "θ = 0.99π (≈ AP)"),
    ]
    if "readout_conductance_dynamic" in r:
        panels.append(("readout_conductance_dynamic", "dynamic: ⟨I_C(θ(t))⟩_t / V"))
    logs = []
    for name, _ in panels:
        g = np.array(r[name], dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            logs.append(np.where(g > 0, np.log10(g), np.nan))
    allv = np.concatenate([lg[np.isfinite(lg)] for lg in logs]) if logs else np.array([0.0])
    if allv.size == 0:
        allv = np.array([0.0])
    cfg = r.config
    T_over_U = cfg["transport"]["T"] / cfg["transport"]["U"] if cfg["transport"]["U"] > 0 else 0.0
    inside = cb_interior(r, 3 * T_over_U)
    ins = np.concatenate([lg[inside & np.isfinite(lg)] for lg in logs])
    clip = cfg.get("figures", {}).get("current_clip_decades", 0.5)
    vmax = min(float(allv.max()), float(ins.max()) + clip) if ins.size else float(allv.max())
    vmin = float(np.percentile(allv, 0.5))
    if vmin >= vmax:
        vmin = vmax - 1
    ncols = 3
    fig, axes = plt.subplots(2, ncols, figsize=(12, 7.6), gridspec_kw={"height_ratios": [1.25, 1]})
    for k in range(ncols):
        ax = axes[0, k]
        if k >= len(panels):
            ax.set_visible(False)
            continue
        name, title = panels[k]
        cmap = plt.get_cmap("magma").with_extremes(bad="0.8")
        m = mesh(ax, r, logs[k], cmap=cmap, vmin=vmin, vmax=vmax)
        fig.colorbar(m, ax=ax, extend="both", label="log₁₀(I_C/V)  [e²/ħ]")
        diamond(ax, r, color="0.6")
        if k > 0:
            lines(ax, r["lines_eps_tilde_over_U"], r["lines_resonance_V_over_U"], "c--", "resonance")
        legend_below(ax)
        frame(ax, r, f"Fig. 3: {title}" + ("\n(grey: V = 0, undefined)" if k == 2 else ""))
    # insets: I_FL, I_DL vs V along ε̃ ≈ readout_inset_eps_tilde
    e_req = cfg.get("figures", {}).get("readout_inset_eps_tilde", -0.3)
    i = int(np.argmin(np.abs(r["eps_tilde_over_U"] - e_req)))
    v = r["V_over_U"]
    for k, (lab, title) in enumerate((("parallel", "θ = 0.01π"), ("antiparallel", "θ = 0.99π"))):
        ax = axes[1, k]
        ax.plot(v, r[f"torque_field_like_{lab}"][i], "r-", label="I_FL")
        ax.plot(v, r[f"torque_damping_like_{lab}"][i], "b-", label="I_DL")
        zero_line(ax)
        ax.set_xlabel("V / U")
        ax.set_ylabel("torque coefficient  [Γ]")
        ax.set_title(f"inset: {title}, ε̃ = {r['eps_tilde_over_U'][i]:.3g}U", fontsize=10)
        ax.legend(fontsize=8)
    ax = axes[1, 2]
    j0 = int(np.argmin(np.abs(v)))
    for name, title in panels[:2]:
        ax.plot(r["eps_tilde_over_U"], np.log10(np.abs(r[name][:, j0])), label=title)
    ax.set_xlabel("ε̃ / U")
    ax.set_ylabel("log₁₀(G)  [e²/ħ]")
    ax.set_title(f"cut at V = {v[j0]:.3g}U (V = 0: linear conductance)", fontsize=10)
    ax.legend(fontsize=8)
    return save(fig, out, "fig3_readout")

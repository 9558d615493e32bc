"""Fig. 3 of [G] (output ``readout``): log₁₀(I_C/V) (e²/ħ) for θ = 0.01π, 0.99π and the dynamic state
(colour scale clipped at the top); I_FL, I_DL vs V along ε̃ ≈ figures.readout_inset_eps_tilde (that cut
dashed white on the maps) and log₁₀ G along V ≈ 0. Written as ``figures/fig3_readout.{png,pdf,txt}``;
at single width the maps are in two columns and the insets below them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gpuqd.plots.common import (
    cb_interior,
    curve_style,
    diamond,
    figure_format,
    frame,
    inner_y_labels_off,
    inset_cut,
    journal_style,
    label_panels,
    lines,
    mesh,
    new_figure,
    note,
    pyplot,
    save,
    shared_legend,
    u_text,
    zero_line,
)

__all__ = ["OUTPUT", "REQUIRES", "draw"]

OUTPUT = "readout"
#: array that must be in the results for this figure
REQUIRES = "readout_conductance_parallel"


def draw(r, out: Path) -> list[Path]:  # noqa: ANN001
    plt = pyplot()
    panels = [
        ("readout_conductance_parallel", "θ = 0.01π"),
        ("readout_conductance_antiparallel", "θ = 0.99π"),
    ]
    if "readout_conductance_dynamic" in r:
        panels.append(("readout_conductance_dynamic", "dynamic state"))
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
    e_req = cfg.get("figures", {}).get("readout_inset_eps_tilde", -0.3)
    i = int(np.argmin(np.abs(r["eps_tilde_over_U"] - e_req)))
    e_cut = float(r["eps_tilde_over_U"][i])
    v = r["V_over_U"]
    fmt = figure_format(cfg)
    with journal_style(fmt):
        if fmt.narrow:  # rows: P, AP maps; dynamic map, V = 0 cut; the two insets
            fig, axes = new_figure(fmt, 5.6, 3, 2)
            maps = [axes[0, 0], axes[0, 1], axes[1, 0]]
            insets, cut_ax = [axes[2, 0], axes[2, 1]], axes[1, 1]
        else:
            fig, axes = new_figure(fmt, 4.6, 2, 3, height_ratios=[1.15, 1])
            maps, insets, cut_ax = list(axes[0]), [axes[1, 0], axes[1, 1]], axes[1, 2]
        mapped = []
        for k, ax in enumerate(maps):
            if k >= len(panels):
                note(ax, "no dynamic-state conductance\nin this run")
                continue
            name, title = panels[k]
            cmap = plt.get_cmap("magma").with_extremes(bad="0.8")
            m = mesh(ax, r, logs[k], cmap=cmap, vmin=vmin, vmax=vmax)
            diamond(ax, r, color="0.85")
            if k > 0:
                lines(ax, r["lines_eps_tilde_over_U"], r["lines_resonance_V_over_U"], "c--", "resonance line")
            if k < 2:
                inset_cut(ax, e_cut, (float(v.min()), float(v.max())), f"cut ε̃ = {u_text(e_cut)} of the torque panels")
            frame(ax, r, f"{title}")
            mapped.append(ax)
        if mapped:
            fig.colorbar(m, ax=mapped, extend="both", label="log₁₀(I_C/V)  [e²/ħ]", fraction=0.05, aspect=30)
        style = curve_style(v.size)
        for ax, (lab, theta) in zip(insets, (("parallel", "θ = 0.01π"), ("antiparallel", "θ = 0.99π")), strict=True):
            ax.plot(v, r[f"torque_field_like_{lab}"][i], color="C3", label="I_FL along the cut", **style)
            ax.plot(v, r[f"torque_damping_like_{lab}"][i], color="C0", label="I_DL along the cut", **style)
            zero_line(ax)
            ax.set_xlabel("V / U")
            ax.set_ylabel("torque coefficient  [Γ]")
            ax.set_title(f"{theta}, ε̃ = {u_text(e_cut)}")
        j0 = int(np.argmin(np.abs(v)))
        style = curve_style(r["eps_tilde_over_U"].size)
        for (name, title), colour in zip(panels[:2], ("C1", "C4"), strict=False):
            g = np.abs(np.asarray(r[name], dtype=float)[:, j0])
            with np.errstate(divide="ignore"):
                cut_ax.plot(r["eps_tilde_over_U"], np.log10(g), color=colour, label=f"G, {title}", **style)
        cut_ax.set_xlabel("ε̃ / U")
        cut_ax.set_ylabel("log₁₀(G)  [e²/ħ]")
        cut_ax.set_title(f"cut V = {u_text(float(v[j0]))}")
        if fmt.narrow:
            inner_y_labels_off(mapped)
        label_panels([*maps, *insets, cut_ax])
        shared_legend(fig, [*maps, *insets, cut_ax], dark=True)
    what = (
        "Fig. 3 of [G]: log₁₀ of the charge current over the bias, I_C/V (e²/ħ), over (ε̃, V) for θ = 0.01π, "
        "0.99π and the dynamic state ⟨I_C(θ(t))⟩_t/V (one colour scale, clipped at the top; grey: V = 0, "
        "undefined); Coulomb-diamond edges dotted, resonance line dashed; I_FL, I_DL vs V along the cut "
        f"ε̃ = {u_text(e_cut)} (dashed white on the maps); log₁₀ of the conductance G along V = "
        f"{u_text(float(v[j0]))} (linear conductance at V = 0); cuts with fewer than 40 samples as markers"
    )
    return save(fig, out, "fig3_readout", cfg, what)

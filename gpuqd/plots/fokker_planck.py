"""Fokker–Planck maps beside Fig. 2 (output ``fokker_planck``): the theory's ⟨θ⟩ over the Fig. 2 window (beside
the simulated ⟨θ⟩ when the run has it), stationary P(AP), and log10 of both mean first-passage times with
the window marked; resonance line and Coulomb-diamond edges on every panel. Written as
``figures/fig2_fokker_planck.{png,pdf}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gpuqd.plots.common import diamond, frame, lines, mesh, pyplot, save

__all__ = ["OUTPUT", "REQUIRES", "draw"]

OUTPUT = "fokker_planck"
#: array that must be in the results for this figure
REQUIRES = "fp_mean_theta_window"


def _overlay(ax, r) -> None:  # noqa: ANN001
    diamond(ax, r)
    lines(ax, r["lines_eps_tilde_over_U"], r["lines_resonance_V_over_U"], "w--", "resonance Γ_DΦ_D = Γ_SΦ_S")


def draw(r, out: Path) -> list[Path]:  # noqa: ANN001
    plt = pyplot()
    start, end = (float(x) for x in r["fp_window"])
    fig, axes = plt.subplots(2, 3, figsize=(15, 9.2))
    panels: list[tuple[Any, Any, str, tuple[float, float], str, str]] = [
        (
            axes[0, 1],
            r["fp_mean_theta_window"] / np.pi,
            "viridis",
            (0, 1),
            "⟨θ⟩ / π",
            f"theory: ⟨θ⟩ over [{start:g}, {end:g}) ħ/Γ",
        ),
        (axes[0, 2], r["fp_p_ap_stationary"], "coolwarm", (0, 1), "P(n_z < 0)", "theory: stationary P(AP)"),
        (axes[1, 0], r["fp_mean_theta_stationary"] / np.pi, "viridis", (0, 1), "⟨θ⟩ / π", "theory: stationary ⟨θ⟩"),
    ]
    if "mean_theta" in r:
        panels.append((axes[0, 0], r["mean_theta"] / np.pi, "viridis", (0, 1), "⟨θ⟩ / π", "simulation (Fig. 2)"))
    else:
        axes[0, 0].set_axis_off()
    with np.errstate(divide="ignore"):
        logs = [np.log10(np.clip(r[k], 1e-300, None)) for k in ("fp_mfpt_p_to_ap", "fp_mfpt_ap_to_p")]
    finite = np.concatenate([x[np.isfinite(x)] for x in logs]) if logs else np.zeros(1)
    lo, hi = (float(np.nanmin(finite)), float(min(np.nanmax(finite), 12.0))) if finite.size else (0.0, 1.0)
    for ax, z, name in ((axes[1, 1], logs[0], "P→AP"), (axes[1, 2], logs[1], "AP→P")):
        panels.append(
            (ax, np.where(np.isfinite(z), z, hi), "magma", (lo, hi), "log10(τ Γ)", f"theory: log10 mean time {name}")
        )
    for ax, z, cmap, (vmin, vmax), label, title in panels:
        m = mesh(ax, r, z, cmap=cmap, vmin=vmin, vmax=vmax)
        fig.colorbar(m, ax=ax, label=label)
        _overlay(ax, r)
        frame(ax, r, title)
    for ax, z in ((axes[1, 1], logs[0]), (axes[1, 2], logs[1])):
        if np.nanmin(z) < np.log10(end) < np.nanmax(np.where(np.isfinite(z), z, hi)):
            ax.contour(
                r["eps_tilde_over_U"],
                r["V_over_U"],
                np.where(np.isfinite(z), z, hi).T,
                levels=[np.log10(max(start, 1e-30)), np.log10(end)],
                colors=["c", "w"],
                linewidths=0.9,
            )
    axes[0, 1].legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.13),
        ncol=2,
        fontsize=7,
        facecolor="0.3",
        framealpha=1.0,
        labelcolor="w",
    )
    fig.suptitle(
        "Axial Fokker–Planck theory (contours on the τ maps: τ = window start (cyan), end (white))", fontsize=11
    )
    return save(fig, out, "fig2_fokker_planck")

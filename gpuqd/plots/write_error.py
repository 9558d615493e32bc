"""Write-error figures (output ``write_error``, docs/physics.md §16): the write-error rate against the pulse
width on a log scale — the exact axial Fokker–Planck curve, the simulated rates as markers with their
Clopper–Pearson intervals and the splitting estimates with ±2 standard errors — written as
``figures/write_error_vs_width.{png,pdf}``; and, when the run maps every grid point as a write point,
log10 of the exact rate over the write (ε̃, V) at ``map_width`` (``figures/write_error_map.{png,pdf}``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gpuqd.plots.common import diamond, frame, legend_below, mesh, pyplot, save

__all__ = ["OUTPUT", "REQUIRES", "draw"]

OUTPUT = "write_error"
#: array that must be in the results for this figure
REQUIRES = "pulse_width"
#: smallest rate drawn (the log axis stops here)
FLOOR = 1e-12


def _versus_width(r, out: Path) -> list[Path]:  # noqa: ANN001
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    width = np.asarray(r["pulse_width"], dtype=float)
    exact = np.asarray(r["write_error_rate_fp"], dtype=float)
    if np.isfinite(exact).any():
        ax.plot(width, np.clip(exact, FLOOR, None), "k-", lw=1.2, label="exact (axial Fokker–Planck)")
    sim = np.asarray(r["write_error_rate"], dtype=float)
    shown = np.isfinite(sim) & (sim > 0)
    if shown.any():
        lo = np.asarray(r["write_error_rate_lower"], dtype=float)[shown]
        hi = np.asarray(r["write_error_rate_upper"], dtype=float)[shown]
        n = int(np.max(r["write_error_trajectories"]))
        y = sim[shown]
        ax.errorbar(
            width[shown],
            y,
            yerr=[y - np.clip(lo, FLOOR, None), hi - y],
            fmt="o",
            ms=4,
            capsize=3,
            color="C0",
            label=f"ensemble, {n} trajectories (exact binomial interval)",
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
            ms=4,
            capsize=3,
            color="C3",
            label="splitting (±2 SE)",
        )
    ax.set_yscale("log")
    ax.set_xlabel("pulse width (ħ/Γ)")
    ax.set_ylabel("write-error rate")
    ax.grid(True, which="both", lw=0.3, alpha=0.5)
    ax.set_title("Write-error rate against pulse width", fontsize=10)
    legend_below(ax, ncol=1)
    return save(fig, out, "write_error_vs_width")


def _map(r, out: Path) -> list[Path]:  # noqa: ANN001
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 5.2))
    with np.errstate(divide="ignore"):
        z = np.log10(np.clip(np.asarray(r["write_error_rate_fp_map"], dtype=float), FLOOR, 1.0))
    m = mesh(ax, r, z, cmap="viridis", vmin=np.log10(FLOOR), vmax=0.0)
    fig.colorbar(m, ax=ax, label="log10 write-error rate")
    diamond(ax, r)
    rest = np.asarray(r["write_error_points"], dtype=float)[0]
    scaled = np.asarray(r["eps_tilde_over_U"], dtype=float)
    k = int(np.argmax(np.abs(scaled)))
    if scaled[k] != 0:
        u = float(r["eps_tilde"][k]) / float(scaled[k])  # U in Γ
        ax.plot(rest[0] / u, rest[1] / u, "r*", ms=9, label="rest point")
    frame(ax, r, "Exact write-error rate over the write point")
    return save(fig, out, "write_error_map")


def draw(r, out: Path) -> list[Path]:  # noqa: ANN001
    paths = _versus_width(r, out)
    if "write_error_rate_fp_map" in r:
        paths += _map(r, out)
    return paths

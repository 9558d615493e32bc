"""Figures of [G] (Gergs et al., PRL 120, 017701) from a run directory; matplotlib is optional.

* Fig. 2 ``fig2_switching``: ⟨θ⟩/π over (ε̃, V) with the resonance line (white dashed) and the
  Coulomb-diamond edges |V|/2 = U/2 − |ε̃|; side panel θ(t) at the inset points.
* Fig. 3 ``fig3_readout``: log₁₀(I_C/V) (e²/ħ) for θ = 0.01π, 0.99π and the dynamic state; the
  colour scale is clipped at the top; bottom row I_FL (red), I_DL (blue) vs V along ε̃ ≈ −0.3U.
* Fig. 4 ``fig4_torques``: I_FL, I_DL for θ = 0.01π (partner line dashed) and θ = 0.99π
  (resonance line dashed), diverging colour maps centred at zero with separate scales per panel;
  side panels I_FL(θ), I_DL(θ) at ε̃ = U/4, V = −0.15U.

Each figure is written as PNG and PDF into ``<run>/figures/``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["make_figures", "matplotlib_available"]


def matplotlib_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _edges(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.size == 1:
        return np.array([x[0] - 0.5, x[0] + 0.5]) if x[0] == 0 else np.array([x[0] * 0.95, x[0] * 1.05])[::1]
    mid = 0.5 * (x[1:] + x[:-1])
    return np.concatenate([[x[0] - (mid[0] - x[0])], mid, [x[-1] + (x[-1] - mid[-1])]])


def _mesh(ax, r, z, **kw):
    """pcolormesh with ε̃/U on x and V/U on y; z has shape (n_eps, n_V)."""
    xe = np.sort(_edges(r["eps_tilde_over_U"]))
    ye = np.sort(_edges(r["V_over_U"]))
    return ax.pcolormesh(xe, ye, np.asarray(z).T, shading="flat", rasterized=True, **kw)


def _lines(ax, x, v, style, label=None, jump=0.05):
    """Plot NaN-padded root columns v(x), breaking where a branch jumps."""
    first = True
    for k in range(v.shape[1]):
        y = v[:, k].astype(float).copy()
        xs = np.asarray(x, dtype=float).copy()
        br = np.flatnonzero(np.abs(np.diff(y)) > jump)
        y = np.insert(y, br + 1, np.nan)
        xs = np.insert(xs, br + 1, np.nan)
        ax.plot(xs, y, style, lw=1.2, label=label if first else None)
        first = False


def _diamond(ax, r, color="0.85"):
    e = np.linspace(-0.5, 0.5, 201)
    v = 1.0 - 2.0 * np.abs(e)
    ax.plot(e, v, ls=":", color=color, lw=1.0, label="CB edge |V|/2 = U/2 − |ε̃|")
    ax.plot(e, -v, ls=":", color=color, lw=1.0)


def _frame(ax, r, title):
    x, y = r["eps_tilde_over_U"], r["V_over_U"]
    ax.set_xlim(_edges(x).min(), _edges(x).max())
    ax.set_ylim(_edges(y).min(), _edges(y).max())
    ax.set_xlabel("ε̃ / U")
    ax.set_ylabel("V / U")
    ax.set_title(title, fontsize=10)


def _save(fig, out: Path, stem: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        p = out / f"{stem}.{ext}"
        tmp = out / f".{stem}.tmp.{ext}"
        fig.savefig(tmp, dpi=150, bbox_inches="tight")
        tmp.replace(p)
        paths.append(p)
    return paths


def _fig2(r, out: Path) -> list[Path]:
    plt = _plt()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.6), gridspec_kw={"width_ratios": [1.15, 1]})
    m = _mesh(ax, r, r["mean_theta"] / np.pi, cmap="viridis", vmin=0, vmax=1)
    fig.colorbar(m, ax=ax, label="⟨θ⟩ / π   (0 = P, 1 = AP)")
    _diamond(ax, r)
    _lines(ax, r["lines_eps_tilde_over_U"], r["lines_resonance_V_over_U"], "w--", "resonance Γ_DΦ_D = Γ_SΦ_S")
    for k, (e, v) in enumerate(r["inset_point_over_U"]):
        ax.plot(e, v, ls="none", marker="o", mfc="none", mec="r", ms=7, label="inset points" if k == 0 else None)
    dyn = r.config.get("dynamics", {})
    _frame(ax, r, f"Fig. 2: ⟨θ⟩ over t ∈ [{dyn.get('average_from', 0):g}, {dyn.get('t_end', 0):g}) ħ/Γ")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=7, facecolor="0.3",
              framealpha=1.0, labelcolor="w")
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
    fig.tight_layout()
    paths = _save(fig, out, "fig2_switching")
    plt.close(fig)
    return paths


def _legend_below(ax, ncol=2):
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=ncol, fontsize=7, frameon=False)


def _cb_interior(r, margin):
    e = np.abs(r["eps_tilde_over_U"])[:, None]
    v = np.abs(r["V_over_U"])[None, :]
    return v / 2 < 0.5 - e - margin


def _fig3(r, out: Path) -> list[Path]:
    plt = _plt()
    panels = [("readout_conductance_parallel", "θ = 0.01π (≈ P)"),
              ("readout_conductance_antiparallel", "θ = 0.99π (≈ AP)")]
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
    inside = _cb_interior(r, 3 * T_over_U)
    ins = np.concatenate([lg[inside & np.isfinite(lg)] for lg in logs])
    clip = cfg.get("figures", {}).get("current_clip_decades", 0.5)
    vmax = min(float(allv.max()), float(ins.max()) + clip) if ins.size else float(allv.max())
    vmin = float(np.percentile(allv, 0.5))
    if vmin >= vmax:
        vmin = vmax - 1
    ncols = 3
    fig, axes = plt.subplots(2, ncols, figsize=(15, 8.6), gridspec_kw={"height_ratios": [1.25, 1]})
    for k in range(ncols):
        ax = axes[0, k]
        if k >= len(panels):
            ax.set_visible(False)
            continue
        name, title = panels[k]
        cmap = plt.get_cmap("magma").with_extremes(bad="0.8")
        m = _mesh(ax, r, logs[k], cmap=cmap, vmin=vmin, vmax=vmax)
        fig.colorbar(m, ax=ax, extend="both", label="log₁₀(I_C/V)  [e²/ħ]")
        _diamond(ax, r, color="0.6")
        if k > 0:
            _lines(ax, r["lines_eps_tilde_over_U"], r["lines_resonance_V_over_U"], "c--", "resonance")
        _legend_below(ax)
        _frame(ax, r, f"Fig. 3: {title}" + ("\n(grey: V = 0, undefined)" if k == 2 else ""))
    # insets: I_FL, I_DL vs V along ε̃ ≈ readout_inset_eps_tilde
    e_req = cfg.get("figures", {}).get("readout_inset_eps_tilde", -0.3)
    i = int(np.argmin(np.abs(r["eps_tilde_over_U"] - e_req)))
    v = r["V_over_U"]
    for k, (lab, title) in enumerate((("parallel", "θ = 0.01π"), ("antiparallel", "θ = 0.99π"))):
        ax = axes[1, k]
        ax.plot(v, r[f"torque_field_like_{lab}"][i], "r-", label="I_FL")
        ax.plot(v, r[f"torque_damping_like_{lab}"][i], "b-", label="I_DL")
        ax.axhline(0, color="0.7", lw=0.6)
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
    fig.tight_layout()
    paths = _save(fig, out, "fig3_readout")
    plt.close(fig)
    return paths


def _sym_limit(z):
    a = np.abs(np.asarray(z, dtype=float))
    a = a[np.isfinite(a)]
    if a.size == 0:
        return 1.0
    lim = float(np.percentile(a, 99.5))
    return lim if lim > 0 else (float(a.max()) or 1.0)


def _fig4(r, out: Path) -> list[Path]:
    plt = _plt()
    from matplotlib.colors import SymLogNorm

    fig, axes = plt.subplots(2, 3, figsize=(15, 8.6), gridspec_kw={"width_ratios": [1, 1, 0.9]})
    rows = (("parallel", "θ = 0.01π", "lines_partner_V_over_U", "partner Γ_DΦ_D = −Γ_SΦ_S"),
            ("antiparallel", "θ = 0.99π", "lines_resonance_V_over_U", "resonance Γ_DΦ_D = Γ_SΦ_S"))
    for i, (lab, tl, line, line_label) in enumerate(rows):
        for j, (q, ql) in enumerate((("field_like", "I_FL"), ("damping_like", "I_DL"))):
            ax = axes[i, j]
            z = r[f"torque_{q}_{lab}"]
            lim = _sym_limit(z)
            norm = SymLogNorm(linthresh=lim * 1e-3, vmin=-lim, vmax=lim, base=10)
            m = _mesh(ax, r, z, cmap="RdBu_r", norm=norm)
            top = np.floor(np.log10(lim))
            pos = [10.0 ** (top - k) for k in range(3)]
            ticks = [-t for t in pos] + [0.0] + pos[::-1]
            fig.colorbar(m, ax=ax, extend="both", ticks=ticks,
                         label=f"{ql}  [Γ]  (symmetric log, linear below {lim * 1e-3:.1g})")
            _lines(ax, r["lines_eps_tilde_over_U"], r[line], "k--", line_label)
            _diamond(ax, r, color="0.4")
            p = r["torque_inset_point_over_U"]
            ax.plot(p[0], p[1], marker="x", color="k", ms=6)
            _legend_below(ax)
            _frame(ax, r, f"Fig. 4: {ql}, {tl}")
    th = r["torque_inset_theta"] / np.pi
    p = r["torque_inset_point_over_U"]
    for i, (q, ql, c) in enumerate((("field_like", "I_FL", "r"), ("damping_like", "I_DL", "b"))):
        ax = axes[i, 2]
        ax.plot(th, r[f"torque_inset_{q}"], c + "-")
        ax.axhline(0, color="0.7", lw=0.6)
        ax.set_xlabel("θ / π")
        ax.set_ylabel(f"{ql}(θ)  [Γ]")
        ax.set_xlim(0, 1)
        ax.set_title(f"inset: {ql}(θ) at ε̃ = {p[0]:.3g}U, V = {p[1]:.3g}U", fontsize=10)
    fig.tight_layout()
    paths = _save(fig, out, "fig4_torques")
    plt.close(fig)
    return paths


def make_figures(run_dir: str | Path) -> tuple[list[Path], list[str]]:
    """Draw the figures requested by the run's ``outputs``; returns (written paths, skip notices)."""
    from gpuqd.rundir import load_run

    run_dir = Path(run_dir)
    if not matplotlib_available():
        return [], ["figures skipped: matplotlib is not installed (pip install -e '.[plot]'), "
                    "then `gpuqd plot RUN_DIR`"]
    r = load_run(run_dir)
    if not r.config.get("transport", {}).get("U", 0) > 0:
        return [], ["figures skipped: they are drawn in units of U and need U > 0"]
    outputs = set(r.config.get("outputs", []))
    out = run_dir / "figures"
    written: list[Path] = []
    skipped: list[str] = []
    jobs = (("switching_diagram", _fig2, "mean_theta"), ("readout", _fig3, "readout_conductance_parallel"),
            ("torque_maps", _fig4, "torque_field_like_parallel"))
    if "fmr" in outputs:  # FMR readout figures (gpuqd.plot_fmr)
        from gpuqd.plot_fmr import fmr_figures

        jobs += (("fmr", fmr_figures, "fmr_stable_parallel"),)
    if "switching_times" in outputs:  # switching-time statistics figures (gpuqd.plot_switching)
        from gpuqd.plot_switching import switching_figures

        jobs += (("switching_times", switching_figures, "switching_mean_time"),)
    for key, fn, needed in jobs:
        if key not in outputs:
            continue
        if needed not in r:
            skipped.append(f"figure for {key} skipped: {needed} missing from results")
            continue
        written += fn(r, out)
    return written, skipped

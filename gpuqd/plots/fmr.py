"""Figures of the FMR readout (output ``fmr``, gpuqd.run.stages.fmr), written to ``<run>/figures/``.

* ``fmr_maps``: rows P (n = +e_z, torques at θ = 0) and AP (n = −e_z, torques at θ = π). Columns:
  resonance shift Ω_R − KV/S and damping change α_eff − α/S (symmetric-log diverging colour scales,
  own scale per panel), peak χ'' (log scale), and two scatter panels over all stable grid points that
  compare the *numerical* line (peak position Ω_peak and half width HWHM of the exact χ'') with the
  torques: Ω_peak − KV/S vs ±I_FL/S (resonance shift follows I_FL) and HWHM/Ω_peak − α/S vs
  ∓I_DL/(S Ω_R) (linewidth follows I_DL). Unstable points (α_eff ω_0 ≤ 0) are grey in the maps and
  absent from the scatter panels. Dashed: resonance line Γ_DΦ_D = Γ_SΦ_S; dotted: partner line.
* ``fmr_spectra``: χ''(Ω) (exact, solid; [G]'s approximate form, dashed) and χ'(Ω) (thin) at the
  spectra points for P and AP, with simulated-FMR markers where ``fmr.simulate`` was on; vertical
  lines at the bare resonance KV/S and at Ω_R.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gpuqd.plots.common import diamond, frame, lines, mesh, pyplot, save, zero_line

__all__ = ["OUTPUT", "REQUIRES", "draw"]

OUTPUT = "fmr"
#: array that must be in the results for these figures
REQUIRES = "fmr_stable_parallel"

_ROWS = (("parallel", "P (n = +e_z, torques at θ = 0)", +1), ("antiparallel", "AP (n = −e_z, torques at θ = π)", -1))


def _symlog(values: np.ndarray):
    """SymLogNorm symmetric about 0 spanning the 99.5th percentile of |values|, linear below 1e-3 of it."""
    from matplotlib.colors import SymLogNorm

    a = np.abs(values[np.isfinite(values)])
    lim = float(np.percentile(a, 99.5)) if a.size else 1.0
    lim = lim if lim > 0 else 1.0
    return SymLogNorm(linthresh=lim * 1e-3, vmin=-lim, vmax=lim, base=10), lim


def _map_lines(ax, r) -> None:
    diamond(ax, r, color="0.35")
    lines(ax, r["lines_eps_tilde_over_U"], r["lines_resonance_V_over_U"], "k--", "resonance")
    lines(ax, r["lines_eps_tilde_over_U"], r["lines_partner_V_over_U"], "k:", "partner")


def _decade_ticks(lim: float, linthresh: float) -> list[float]:
    """0 and ±10^k for every other decade between linthresh and lim (readable symlog ticks)."""
    top = int(np.floor(np.log10(lim)))
    bottom = int(np.ceil(np.log10(linthresh)))
    pos = [10.0**k for k in range(top, bottom - 1, -2)]
    return sorted([-t for t in pos] + [0.0] + pos)


def _scatter(ax, x: np.ndarray, y: np.ndarray, narrow: np.ndarray, xlabel: str, ylabel: str, title: str) -> None:
    """y vs x on symlog axes; ``narrow`` marks lines with 0 < α_eff < 0.5 (quality factor > 1)."""
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        ax.text(0.5, 0.5, "no stable points", transform=ax.transAxes, ha="center")
        return
    lim = float(np.percentile(np.abs(np.concatenate([x[ok], y[ok]])), 99.9)) or 1.0
    lin = lim * 1e-3
    ax.plot([-lim, lim], [-lim, lim], color="0.3", lw=1, label="y = x")
    broad = ok & ~narrow
    ax.plot(x[broad], y[broad], ".", ms=2.5, color="0.7", label="broad lines (α_eff ≥ 0.5 or < 0)")
    ax.plot(x[ok & narrow], y[ok & narrow], ".", ms=2.5, color="C0", alpha=0.7, label="0 < α_eff < 0.5")
    for axis in ("x", "y"):
        getattr(ax, f"set_{axis}scale")("symlog", linthresh=lin)
        getattr(ax, f"set_{axis}lim")(-1.2 * lim, 1.2 * lim)
        getattr(ax, f"set_{axis}ticks")(_decade_ticks(lim, lin))
    ax.tick_params(labelsize=7)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title + f"\nall stable grid points (symlog axes, linear below {lin:.1g})", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")


def _fig_maps(r, out: Path) -> list[Path]:
    plt = pyplot()
    mg = r.config["magnet"]
    S, alpha, KV = mg["S"], mg["alpha"], mg["KV"]
    b_z = float(r["fmr_external_field_z"])
    fig, grid = plt.subplots(5, 2, figsize=(12, 23))  # rows: quantity, columns: P, AP (print width)
    axes = grid.T
    grey = "0.6"
    for i, (state, label, sign) in enumerate(_ROWS):
        stable = np.asarray(r[f"fmr_stable_{state}"], dtype=bool)
        omega_r = np.asarray(r[f"fmr_resonance_frequency_{state}"], dtype=float)
        alpha_eff = np.asarray(r[f"fmr_effective_damping_{state}"], dtype=float)
        fl = np.asarray(r[f"fmr_field_like_{state}"], dtype=float) + b_z
        dl = np.asarray(r[f"fmr_damping_like_{state}"], dtype=float)
        unstable_pct = 100.0 * (1.0 - stable.mean())

        shift = np.where(stable, omega_r - KV / S, np.nan)
        norm, lim = _symlog(shift)
        m = mesh(
            axes[i, 0], r, np.ma.masked_invalid(shift), cmap=plt.get_cmap("RdBu_r").with_extremes(bad=grey), norm=norm
        )
        fig.colorbar(
            m,
            ax=axes[i, 0],
            extend="both",
            ticks=_decade_ticks(lim, lim * 1e-3),
            label=f"Ω_R − KV/S  [Γ]  (= {'+' if sign > 0 else '−'}I_FL/S)",
        )
        d_alpha = np.where(stable, alpha_eff - alpha / S, np.nan)
        norm, lim = _symlog(d_alpha)
        m = mesh(
            axes[i, 1], r, np.ma.masked_invalid(d_alpha), cmap=plt.get_cmap("PuOr_r").with_extremes(bad=grey), norm=norm
        )
        fig.colorbar(
            m,
            ax=axes[i, 1],
            extend="both",
            ticks=_decade_ticks(lim, lim * 1e-3),
            label=f"α_eff − α/S  (= {'−' if sign > 0 else '+'}I_DL/(S Ω_R))",
        )
        peak = np.asarray(r[f"fmr_peak_chi_imag_{state}"], dtype=float)
        from matplotlib.colors import LogNorm

        pos = np.where(stable & (peak > 0), peak, np.nan)
        finite = pos[np.isfinite(pos)]
        lo, hi = np.percentile(finite, [0.5, 99.5]) if finite.size else (1.0, 10.0)
        m = mesh(
            axes[i, 2],
            r,
            np.ma.masked_invalid(pos),
            cmap=plt.get_cmap("viridis").with_extremes(bad=grey),
            norm=LogNorm(vmin=lo, vmax=max(hi, lo * 1.0001)),
        )
        fig.colorbar(m, ax=axes[i, 2], extend="both", label="peak χ''  [1/Γ]  (log scale)")
        titles = (
            f"{label}\nresonance shift Ω_R − KV/S (grey: unstable, {unstable_pct:.0f} %)",
            "effective damping α_eff − α/S (grey: unstable)",
            "peak χ'' of the exact χ (grey: unstable or χ'' < 0)",
        )
        for j in range(3):
            _map_lines(axes[i, j], r)
            frame(axes[i, j], r, titles[j])
            if i == 0 and j == 0:
                axes[i, j].legend(loc="lower left", fontsize=6, framealpha=0.8)
        # numerical line vs torques
        peak_freq = np.asarray(r[f"fmr_peak_frequency_{state}"], dtype=float)
        hwhm = np.asarray(r[f"fmr_linewidth_{state}"], dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_shift = np.where(stable, sign * fl / S, np.nan)
            y_shift = peak_freq - KV / S
            x_damp = np.where(stable, -sign * dl / (S * omega_r), np.nan)
            y_damp = hwhm / peak_freq - alpha / S
        narrow = (stable & (alpha_eff > 0) & (alpha_eff < 0.5)).ravel()
        _scatter(
            axes[i, 3],
            x_shift.ravel(),
            y_shift.ravel(),
            narrow,
            f"{'+' if sign > 0 else '−'}I_FL/S  [Γ]",
            "Ω_peak − KV/S  [Γ]  (peak of exact χ'')",
            "resonance shift follows I_FL",
        )
        _scatter(
            axes[i, 4],
            x_damp.ravel(),
            y_damp.ravel(),
            narrow,
            f"{'−' if sign > 0 else '+'}I_DL/(S Ω_R)",
            "HWHM/Ω_peak − α/S  (width of exact χ'')",
            "linewidth follows I_DL",
        )
    fig.suptitle(
        "FMR readout: linear response about P and AP with the collinear torques "
        f"(H_0 = KV = {KV:g} Γ, S = {S:g}, α = {alpha:g}, B_z = {b_z:g} Γ)",
        fontsize=12,
    )
    return save(fig, out, "fmr_maps")


def _fig_spectra(r, out: Path) -> list[Path]:
    plt = pyplot()
    mg = r.config["magnet"]
    S, KV = mg["S"], mg["KV"]
    pts = np.asarray(r["fmr_spectra_point_over_U"], dtype=float)
    n_pts = pts.shape[0]
    have_sim = "fmr_sim_omega" in r
    fig, axes = plt.subplots(n_pts, 2, figsize=(12, 3.6 * n_pts), squeeze=False)
    for p in range(n_pts):
        for j, (state, label, _) in enumerate(_ROWS):
            ax = axes[p, j]
            fl = r["fmr_spectra_field_like"][p, j]
            dl = r["fmr_spectra_damping_like"][p, j]
            head = f"ε̃ = {pts[p, 0]:.3g}U, V = {pts[p, 1]:.3g}U, {state}: I_FL = {fl:.3g}, I_DL = {dl:.3g} Γ"
            if not r["fmr_spectra_stable"][p, j]:
                ax.text(
                    0.5,
                    0.5,
                    "linearly unstable (α_eff ω_0 ≤ 0):\nno steady-state resonance",
                    transform=ax.transAxes,
                    ha="center",
                    va="center",
                    color="0.3",
                )
                ax.set_title(head, fontsize=8)
                ax.set_xticks([])
                ax.set_yticks([])
                continue
            w = r["fmr_spectra_omega"][p, j]
            w_r = r["fmr_spectra_resonance_frequency"][p, j]
            a_eff = r["fmr_spectra_effective_damping"][p, j]
            ax.plot(w, r["fmr_spectra_chi_imag"][p, j], "C0-", lw=1.6, label="χ'' exact")
            ax.plot(w, r["fmr_spectra_chi_imag_approx"][p, j], "C0--", lw=1.0, label="χ'' [G] approx.")
            ax.plot(w, r["fmr_spectra_chi_real"][p, j], "C1-", lw=0.9, label="χ' exact")
            if have_sim:
                ws = r["fmr_sim_omega"][p, j]
                ax.plot(ws, r["fmr_sim_chi_imag"][p, j], "o", mfc="none", mec="C0", ms=7, label="χ'' simulated")
                ax.plot(ws, r["fmr_sim_chi_real"][p, j], "s", mfc="none", mec="C1", ms=6, label="χ' simulated")
            ax.axvline(KV / S, color="0.5", ls=":", lw=1, label=f"bare KV/S = {KV / S:g} Γ")
            ax.axvline(w_r, color="C3", ls="--", lw=1, label="Ω_R")
            zero_line(ax)
            ax.set_xlim(w[0], w[-1])
            ax.set_xlabel("Ω  [Γ]")
            ax.set_ylabel("χ  [1/Γ]")
            extra = ""
            if have_sim and np.isfinite(r["fmr_sim_relative_error"][p, j]).any():
                extra = f", sim. max rel. err {np.nanmax(r['fmr_sim_relative_error'][p, j]):.1e}"
            ax.set_title(f"{head}\nΩ_R = {w_r:.4g} Γ, α_eff = {a_eff:.3g}{extra}", fontsize=8)
            ax.legend(fontsize=6, loc="best")
            del label
    fig.suptitle("FMR spectra χ(Ω) per unit drive energy (n_x = χ' h cos Ωt + χ'' h sin Ωt)", fontsize=11)
    return save(fig, out, "fmr_spectra")


def draw(r, out: Path) -> list[Path]:
    """Both FMR figures of a loaded run (:class:`gpuqd.run.store.results.RunResults`) into ``out``."""
    return _fig_maps(r, out) + _fig_spectra(r, out)

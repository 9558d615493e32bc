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
    note,
    parameter_title,
    pyplot,
    save,
    shared_legend,
    u_text,
    zero_line,
)

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
    lines(ax, r["lines_eps_tilde_over_U"], r["lines_resonance_V_over_U"], "k--", "resonance line")
    lines(ax, r["lines_eps_tilde_over_U"], r["lines_partner_V_over_U"], "k:", "partner line")


def _decade_ticks(lim: float, linthresh: float) -> list[float]:
    """0 and ±10^k for every other decade between linthresh and lim (readable symlog ticks)."""
    top = int(np.floor(np.log10(lim)))
    bottom = int(np.ceil(np.log10(linthresh)))
    pos = [10.0**k for k in range(top, bottom - 1, -2)]
    return sorted([-t for t in pos] + [0.0] + pos)


def _scatter(ax, data: list, lim: float, narrow_layout: bool, xlabel: str, ylabel: str, title: str) -> None:  # noqa: ANN001
    """y vs x on symlog axes for P and AP; ``data`` = [(x, y, narrow, state label, colour, marker)],
    ``narrow`` marks lines with 0 < α_eff < 0.5 (quality factor > 1), the others are grey."""
    lin = lim * 1e-3
    ax.plot([-lim, lim], [-lim, lim], color="0.3", lw=0.8, label="y = x")
    for x, y, narrow, state, colour, marker in data:
        ok = np.isfinite(x) & np.isfinite(y)
        ax.plot(x[ok & ~narrow], y[ok & ~narrow], marker, ms=2, color="0.7", ls="none", label=f"{state}: broad line")
        ax.plot(
            x[ok & narrow], y[ok & narrow], marker, ms=2, color=colour, ls="none", label=f"{state}: 0 < α_eff < 0.5"
        )
    ticks = _decade_ticks(lim, lin)
    if narrow_layout:
        ticks = [ticks[0], 0.0, ticks[-1]]
    for axis in ("x", "y"):
        getattr(ax, f"set_{axis}scale")("symlog", linthresh=lin)
        getattr(ax, f"set_{axis}lim")(-1.2 * lim, 1.2 * lim)
        getattr(ax, f"set_{axis}ticks")(ticks)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)


def _state_arrays(r, state: str, sign: int) -> dict:  # noqa: ANN001
    mg = r.config["magnet"]
    S, alpha, KV = mg["S"], mg["alpha"], mg["KV"]
    b_z = float(r["fmr_external_field_z"])
    stable = np.asarray(r[f"fmr_stable_{state}"], dtype=bool)
    omega_r = np.asarray(r[f"fmr_resonance_frequency_{state}"], dtype=float)
    alpha_eff = np.asarray(r[f"fmr_effective_damping_{state}"], dtype=float)
    fl = np.asarray(r[f"fmr_field_like_{state}"], dtype=float) + b_z
    dl = np.asarray(r[f"fmr_damping_like_{state}"], dtype=float)
    peak = np.asarray(r[f"fmr_peak_chi_imag_{state}"], dtype=float)
    peak_freq = np.asarray(r[f"fmr_peak_frequency_{state}"], dtype=float)
    hwhm = np.asarray(r[f"fmr_linewidth_{state}"], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "stable": stable,
            "shift": np.where(stable, omega_r - KV / S, np.nan),
            "d_alpha": np.where(stable, alpha_eff - alpha / S, np.nan),
            "peak": np.where(stable & (peak > 0), peak, np.nan),
            "x_shift": np.where(stable, sign * fl / S, np.nan).ravel(),
            "y_shift": (peak_freq - KV / S).ravel(),
            "x_damp": np.where(stable, -sign * dl / (S * omega_r), np.nan).ravel(),
            "y_damp": (hwhm / peak_freq - alpha / S).ravel(),
            "narrow": (stable & (alpha_eff > 0) & (alpha_eff < 0.5)).ravel(),
        }


def _maps_row(fig, axes, r, d: dict, state: str, sign: int, narrow: bool) -> None:  # noqa: ANN001
    """The map panels of one state (P or AP): shift, damping change and (double width) peak χ''."""
    from matplotlib.colors import LogNorm

    plt = pyplot()
    grey = "0.6"
    head = "P" if sign > 0 else "AP"
    norm, lim = _symlog(d["shift"])
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad=grey)
    m = mesh(axes[0], r, np.ma.masked_invalid(d["shift"]), cmap=cmap, norm=norm)
    ticks = _decade_ticks(lim, lim * 1e-3)
    ticks = [ticks[0], 0.0, ticks[-1]] if narrow else ticks
    colorbar(fig, m, axes[0], "" if narrow else "Ω_R − KV/S  [Γ]", extend="both", ticks=ticks)
    frame(axes[0], r, f"{head}: Ω_R − KV/S  [Γ]", nbins=3 if narrow else 4)
    norm, lim = _symlog(d["d_alpha"])
    cmap = plt.get_cmap("PuOr_r").with_extremes(bad=grey)
    m = mesh(axes[1], r, np.ma.masked_invalid(d["d_alpha"]), cmap=cmap, norm=norm)
    ticks = _decade_ticks(lim, lim * 1e-3)
    ticks = [ticks[0], 0.0, ticks[-1]] if narrow else ticks
    colorbar(fig, m, axes[1], "" if narrow else "α_eff − α/S", extend="both", ticks=ticks)
    frame(axes[1], r, f"{head}: α_eff − α/S", nbins=3 if narrow else 4)
    if len(axes) > 2:
        finite = d["peak"][np.isfinite(d["peak"])]
        lo, hi = np.percentile(finite, [0.5, 99.5]) if finite.size else (1.0, 10.0)
        cmap = plt.get_cmap("viridis").with_extremes(bad=grey)
        norm = LogNorm(vmin=lo, vmax=max(hi, lo * 1.0001))
        m = mesh(axes[2], r, np.ma.masked_invalid(d["peak"]), cmap=cmap, norm=norm)
        colorbar(fig, m, axes[2], "peak χ''  [1/Γ]", extend="both")
        frame(axes[2], r, f"{head}: peak χ''")
    for ax in axes:
        _map_lines(ax, r)


def _fig_maps(r, out: Path) -> list[Path]:
    fmt = figure_format(r.config)
    mg = r.config["magnet"]
    b_z = float(r["fmr_external_field_z"])
    data = {state: _state_arrays(r, state, sign) for state, _, sign in _ROWS}
    with journal_style(fmt):
        ncols = 2 if fmt.narrow else 3
        fig, _ = new_figure(fmt, 6.2 if fmt.narrow else 7.2, 1, 1)
        fig.axes[0].remove()
        gs = fig.add_gridspec(2, 1, height_ratios=[2, 1.15 if fmt.narrow else 1.05])
        top, bottom = gs[0].subgridspec(2, ncols), gs[1].subgridspec(1, 2)
        maps = [[fig.add_subplot(top[i, j]) for j in range(ncols)] for i in range(2)]
        scatters = [fig.add_subplot(bottom[0, j]) for j in range(2)]
        for i, (state, _, sign) in enumerate(_ROWS):
            _maps_row(fig, maps[i], r, data[state], state, sign, fmt.narrow)
        spec = (
            ("x_shift", "y_shift", "±I_FL/S  [Γ]", "Ω_peak − KV/S  [Γ]", "shift follows ±I_FL"),
            ("x_damp", "y_damp", "∓I_DL/(S Ω_R)", "HWHM/Ω_peak − α/S", "width follows ∓I_DL"),
        )
        for ax, (xk, yk, xlabel, ylabel, title) in zip(scatters, spec, strict=True):
            rows = [
                (data[s][xk], data[s][yk], data[s]["narrow"], lab, c, mk)
                for (s, _, _), lab, c, mk in zip(_ROWS, ("P", "AP"), ("C0", "C3"), (".", "^"), strict=True)
            ]
            both = np.concatenate([np.concatenate([x, y]) for x, y, *_ in rows])
            both = np.abs(both[np.isfinite(both)])
            lim = float(np.percentile(both, 99.9)) if both.size else 1.0
            _scatter(ax, rows, lim or 1.0, fmt.narrow, xlabel, ylabel, title)
        axes = [*maps[0], *maps[1], *scatters]
        if fmt.narrow:
            inner_y_labels_off([*maps[0], *maps[1]])
        label_panels(axes)
        parameter_title(fig, r.config, fmt)
        shared_legend(fig, axes)
    grey = ", ".join(
        f"{h} {100.0 * (1.0 - data[s]['stable'].mean()):.0f} %" for (s, _, _), h in zip(_ROWS, ("P", "AP"), strict=True)
    )
    notice = "Narrow width: the peak-χ'' maps are omitted (figures.width: double draws them)" if fmt.narrow else ""
    what = (
        f"FMR readout, linear response about P (n = +e_z, torques at θ = 0) and AP (n = −e_z, θ = π) with the "
        "collinear torques: resonance shift Ω_R − KV/S (Γ) and damping change α_eff − α/S (symmetric-log scales, "
        f"own per panel; grey: linearly unstable, α_eff ω_0 ≤ 0: {grey} of the grid), peak χ'' of the exact χ "
        "(log scale); resonance line dashed, partner line dotted black, Coulomb-diamond edges dotted grey; "
        "numerical peak position and "
        "half width vs the torques over all stable grid points (symlog axes, linear below 10⁻³ of the largest "
        f"value; grey: broad lines, α_eff ≥ 0.5 or < 0); H_0 = KV = {mg['KV']:g} Γ, B_z = {b_z:g} Γ"
    )
    return save(fig, out, "fmr_maps", r.config, what, notice)


def _fig_spectra(r, out: Path) -> list[Path]:
    from matplotlib.ticker import MaxNLocator

    fmt = figure_format(r.config)
    mg = r.config["magnet"]
    S, KV = mg["S"], mg["KV"]
    pts = np.asarray(r["fmr_spectra_point_over_U"], dtype=float)
    n_pts = pts.shape[0]
    have_sim = "fmr_sim_omega" in r
    with journal_style(fmt):
        fig, axes = new_figure(fmt, 1.9 * n_pts + 0.9, n_pts, 2)
        for p in range(n_pts):
            for j, (_, _, sign) in enumerate(_ROWS):
                ax = axes[p, j]
                where = f"ε̃ = {u_text(pts[p, 0])}, V = {u_text(pts[p, 1])}"
                head = f"{where}, {'P' if sign > 0 else 'AP'}"
                if fmt.narrow:
                    head = f"{where}\n{'P' if sign > 0 else 'AP'}:"
                if not r["fmr_spectra_stable"][p, j]:
                    note(ax, f"{head}:\nlinearly unstable\n(α_eff ω_0 ≤ 0): no\nsteady-state resonance")
                    continue
                w = r["fmr_spectra_omega"][p, j]
                w_r = r["fmr_spectra_resonance_frequency"][p, j]
                a_eff = r["fmr_spectra_effective_damping"][p, j]
                ax.plot(w, r["fmr_spectra_chi_imag"][p, j], "C0-", lw=1.3, label="χ'' exact")
                ax.plot(w, r["fmr_spectra_chi_imag_approx"][p, j], "C0--", lw=0.9, label="χ'' [G] approx.")
                ax.plot(w, r["fmr_spectra_chi_real"][p, j], "C1-", lw=0.8, label="χ' exact")
                if have_sim:
                    ws = r["fmr_sim_omega"][p, j]
                    ax.plot(ws, r["fmr_sim_chi_imag"][p, j], "o", mfc="none", mec="C0", ms=4, label="χ'' simulated")
                    ax.plot(ws, r["fmr_sim_chi_real"][p, j], "s", mfc="none", mec="C1", ms=3.5, label="χ' simulated")
                ax.axvline(KV / S, color="0.5", ls=":", lw=1, label=f"bare resonance KV/S = {KV / S:g} Γ")
                ax.axvline(w_r, color="C3", ls="--", lw=0.8, label="Ω_R")
                zero_line(ax)
                ax.set_xlim(w[0], w[-1])
                ax.xaxis.set_major_locator(MaxNLocator(nbins=3 if fmt.narrow else 4))
                ax.set_xlabel("Ω  [Γ]")
                ax.set_ylabel("χ  [1/Γ]")
                if fmt.narrow:
                    ax.set_title(f"{head} Ω_R = {w_r:.3g} Γ\nα_eff = {a_eff:.2g}")
                else:
                    ax.set_title(f"{head}\nΩ_R = {w_r:.3g} Γ, α_eff = {a_eff:.2g}")
        label_panels(list(axes.ravel()))
        shared_legend(fig, list(axes.ravel()))
    errors = ""
    if have_sim and np.isfinite(r["fmr_sim_relative_error"]).any():
        errors = f"; largest relative error of the simulated points {np.nanmax(r['fmr_sim_relative_error']):.1e}"
    what = (
        "FMR spectra χ(Ω) per unit drive energy (n_x = χ' h cos Ωt + χ'' h sin Ωt) at the spectra points, P and "
        "AP: exact χ'' (solid), [G]'s approximate χ'' (dashed), exact χ' (thin)"
        + (", simulated FMR (markers)" if have_sim else "")
        + f"; vertical lines at the bare resonance KV/S and at Ω_R{errors}"
    )
    return save(fig, out, "fmr_spectra", r.config, what)


def draw(r, out: Path) -> list[Path]:
    """Both FMR figures of a loaded run (:class:`gpuqd.run.store.results.RunResults`) into ``out``."""
    return _fig_maps(r, out) + _fig_spectra(r, out)

"""Exact axial Fokker–Planck theory of the drain macrospin (docs/physics.md §14, §10, §6.1).

Scope: source fixed along n_S = e_z, drain free, uniaxial anisotropy KV about e_z, static field along e_z
only, no AC drive, no cubic anisotropy. Then the torques depend on u = cos θ = n·e_z alone and u is a
one-dimensional diffusion; everything here is exact up to quadrature and (for ⟨θ⟩(t)) a convergent
discretisation.

Derivation (Stratonovich LLG of docs/physics.md §6.1, explicit LL form ṅ = [S τ − α n × τ]/(S² + α²),
τ = −n × (∂E/∂n + h) + I_FL e_FL + I_DL e_DL, E = −(KV/2) u² − h_z u, ⟨h_i h_j⟩ = σ² δ_ij δ(t − t')):

* Deterministic part. With e_FL = n × e_z, e_DL = n × (n × e_z), e_z·e_FL = 0, e_z·e_DL = u² − 1 and
  n × e_FL = e_DL, n × e_DL = −e_FL, the torque is τ = H e_FL + I_DL e_DL with H = KV u + h_z + I_FL(u),
  so u̇ = e_z·ṅ = (1 − u²) [α H − S I_DL(u)] / (S² + α²).
* Noise. The thermal part of ṅ, [−S n × h + α n × (n × h)]/(S² + α²), is the transverse field h⊥
  rotated and scaled by 1/√(S² + α²): isotropic rotational diffusion on the sphere with
  D = σ² / (2 (S² + α²)). In the Stratonovich interpretation (Brownian motion on S², Laplace–Beltrami
  generator D ∇², ∇² u = −2u) this gives the Itô SDE of docs/physics.md §10,
      du = A(u) dt + √(2 D (1 − u²)) dW,  A = (1 − u²)[α H − S I_DL]/(S² + α²) − 2 D u,  B = D (1 − u²).
* Fokker–Planck equation on u ∈ [−1, 1] with zero flux at both poles (the poles are entrance
  boundaries: B vanishes there):  ∂_t p = −∂_u J,  J = A p − ∂_u (B p) = −D (1 − u²) e^Φ ∂_u(p e^{−Φ}),
      Φ'(u) = 2 [α (KV u + h_z + I_FL(u)) − S I_DL(u)] / σ²    (Φ(1) := 0).
  Stationary density p_∞ ∝ e^Φ (for I_DL = 0 the Boltzmann law exp[(KV u²/2 + h_z u + ∫I_FL)/T_m]).
* Mean first-passage times (backward equation, reflecting far pole):
      down (u_0 > u_a):  τ = (1/D) ∫_{u_a}^{u_0} dy e^{−Φ(y)}/(1 − y²) ∫_y^1 e^{Φ(z)} dz,
      up   (u_0 < u_a):  τ = (1/D) ∫_{u_0}^{u_a} dy e^{−Φ(y)}/(1 − y²) ∫_{−1}^y e^{Φ(z)} dz.

Numerics. Quadrature in θ on panels whose breakpoints are the torque-table nodes (the interpolant is
smooth between them; logarithmic clustering at θ = 0, π), the time-window cell edges and the
requested thresholds; Gauss–Legendre of order ``ORDER`` per panel; Φ by the exact panel integration
matrix; all exponentials in log space (barriers of thousands of T_m are common). ⟨θ⟩(t): finite
volumes uniform in θ with the exponentially fitted flux J = (q_i − q_{i+1})/R, q = p e^{−Φ}, R the mean
of ∫_x^y e^{−Φ} du/(D(1 − u²)) over x, y drawn from the local equilibria of the two cells (centre to
centre for flat Φ, upwind for steep Φ) — a detailed-balance master equation whose stationary state is
the exact cell mass ∫_cell e^Φ — integrated in time by the L-stable TR-BDF2 scheme
(gpuqd.observables.fp_propagator; eigen-expansions fail: the equilibrium weights span e^{±1000}).
Discretisation error of ⟨θ⟩ at a point switching inside the window: 0.03/0.012/0.004/0.002 rad at
64/128/256/512 cells. Units: energies in Γ, times in 1/Γ, angles in rad.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.polynomial import legendre
from scipy import sparse

from gpuqd.dynamics.model import ConstantTorque, Macrospin
from gpuqd.observables.fp_propagator import propagate_window_average
from gpuqd.transport.torque_table import TorqueTable, lagrange4_weights, node_s, s_of_theta, theta_of_s

#: Gauss–Legendre nodes per panel.
ORDER = 8
#: Largest change of Φ = log p_∞ across one quadrature panel (panels are split until it holds).
MAX_PANEL_DPHI = 8.0
#: Finite-volume cells (uniform in θ) of the ⟨θ⟩(t) propagator.
N_CELLS = 128
#: Breakpoint set used for a ConstantTorque (same clustering as a torque table with this many nodes).
N_BREAKS_CONSTANT = 256


def check_axial(magnet: Macrospin) -> None:
    """Raise ValueError (one line) unless the magnet is axially symmetric about e_z with noise."""
    if not isinstance(magnet, Macrospin):
        raise ValueError("magnet must be a gpuqd.dynamics.Macrospin")
    if magnet.free != "drain":
        raise ValueError(f"axial Fokker–Planck theory needs magnet.free = 'drain' (source fixed), got {magnet.free!r}")
    if magnet.K_cubic != 0.0:
        raise ValueError(f"axial Fokker–Planck theory needs K_cubic = 0 (uniaxial only), got {magnet.K_cubic}")
    if magnet.field[0] != 0.0 or magnet.field[1] != 0.0:
        raise ValueError(f"axial Fokker–Planck theory needs a field along e_z only, got field = {magnet.field}")
    if magnet.ac_field is not None:
        raise ValueError(f"axial Fokker–Planck theory needs no AC drive, got ac_field = {magnet.ac_field}")
    if not magnet.noise_variance > 0.0:
        raise ValueError(f"axial Fokker–Planck theory needs sigma2 > 0, got {magnet.noise_variance}")


def _gauss_legendre(order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GL nodes x, weights w on [−1, 1] and the matrix A with A @ f = ∫_{−1}^{x_m} f (exact to degree order−1)."""
    x, w = legendre.leggauss(order)
    coeffs = np.linalg.inv(legendre.legvander(x, order - 1))  # column k: Legendre coefficients of ℓ_k
    integ = np.stack([legendre.legval(x, legendre.legint(coeffs[:, k], lbnd=-1.0)) for k in range(order)], axis=1)
    return x, w, integ


_X, _W, _A = _gauss_legendre(ORDER)


def _lse(a: np.ndarray, axis: int) -> np.ndarray:
    """log Σ exp(a) along axis (−inf safe)."""
    top = np.max(a, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return np.squeeze(top, axis) + np.log(np.sum(np.exp(a - top), axis=axis))


class _TorqueSampler:
    """g(θ) = α I_FL(θ) − S I_DL(θ) (ħΓ) for a batch of points: a ConstantTorque or rows of a TorqueTable."""

    def __init__(self, torque: ConstantTorque | TorqueTable, points: np.ndarray | None, S: float, alpha: float) -> None:
        if isinstance(torque, ConstantTorque):
            self.constant: float | None = alpha * torque.field_like - S * torque.damping_like
            self.n_points = 1
            self.breaks = theta_of_s(node_s(N_BREAKS_CONSTANT))
        elif isinstance(torque, TorqueTable):
            if points is None:
                raise ValueError("point_index is required with a TorqueTable")
            points = np.atleast_1d(np.asarray(points, dtype=np.int64))
            if points.min() < 0 or points.max() >= torque.n_points:
                raise ValueError(f"point_index must lie in [0, {torque.n_points - 1}], got {points}")
            self.constant = None
            self.rows = np.ascontiguousarray((alpha * torque.field_like[points] - S * torque.damping_like[points]).T)
            self.n_theta = torque.n_theta
            self.n_points = points.size
            self.breaks = torque.theta_nodes
        else:
            raise ValueError("torque must be a ConstantTorque or a gpuqd.transport.TorqueTable")

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        """(n_points, theta.size) array of g at the angles θ (rad, flat array), the table's own interpolant."""
        if self.constant is not None:
            return np.full((1, theta.size), self.constant)
        i0, weights = lagrange4_weights(s_of_theta(theta), self.n_theta)
        cols = (i0[:, None] + np.arange(4)[None, :]).ravel()
        rows = np.repeat(np.arange(theta.size), 4)
        matrix = sparse.csr_matrix((np.stack(weights, 1).ravel(), (rows, cols)), shape=(theta.size, self.n_theta))
        return np.ascontiguousarray((matrix @ self.rows).T)


@dataclass(frozen=True)
class _Params:
    S: float
    alpha: float
    KV: float
    h_z: float
    sigma2: float

    @property
    def diffusion(self) -> float:
        """D = σ²/(2(S² + α²)) (1/Γ)."""
        return self.sigma2 / (2.0 * (self.S**2 + self.alpha**2))

    def slope(self, u: np.ndarray, g: np.ndarray) -> np.ndarray:
        """Φ'(u) = 2[α(KV u + h_z) + g]/σ², g = α I_FL − S I_DL."""
        return 2.0 * (self.alpha * (self.KV * u + self.h_z) + g) / self.sigma2


def panel_pieces(panel_dphi: np.ndarray) -> np.ndarray:
    """Number of sub-panels each panel needs so that Φ changes by at most MAX_PANEL_DPHI across each."""
    return np.maximum(np.ceil(np.abs(panel_dphi) / MAX_PANEL_DPHI), 1).astype(np.int64)


def split_panels(breaks: np.ndarray, pieces: np.ndarray) -> np.ndarray:
    """Breakpoints with panel p split into pieces[p] equal parts."""
    cuts = [a + np.arange(1, k) / k * (b - a) for a, b, k in zip(breaks[:-1], breaks[1:], pieces, strict=True) if k > 1]
    return np.unique(np.concatenate([breaks, *cuts]))


class _Quadrature:
    """Φ, log masses and cumulative log masses of a batch of points on one panel set (θ ascending)."""

    def __init__(self, params: _Params, sampler: _TorqueSampler, extra_breaks: np.ndarray) -> None:
        breaks = np.unique(np.concatenate([[0.0, math.pi], sampler.breaks, extra_breaks]))
        for attempt in range(3):  # split panels across which Φ changes by more than MAX_PANEL_DPHI (any point)
            half, dphi, panel = self._potential_slope(params, sampler, breaks)
            pieces = panel_pieces(panel).max(0)
            if pieces.max() <= 1 or attempt == 2:
                break
            breaks = split_panels(breaks, pieces)
        self.breaks = breaks
        inner = np.einsum("mk,bpk->bpm", _A, dphi) * half[None, :, None]
        self.phi_breaks = np.concatenate([np.zeros((panel.shape[0], 1)), np.cumsum(panel, axis=1)], axis=1)
        self.phi = self.phi_breaks[:, :-1, None] + inner  # (B, P, n)
        self.half = half
        log_mass = self.phi + self.log_w + np.log(self.sin)  # e^Φ |du| per node
        self.panel_log_mass = _lse(log_mass, -1)  # (B, P)
        neg = np.full((panel.shape[0], 1), -np.inf)
        # log ∫ e^Φ |du| over θ' < b_j (the P side, u' > u) and over θ' > b_j
        self.left_breaks = np.concatenate([neg, np.logaddexp.accumulate(self.panel_log_mass, axis=1)], axis=1)
        rev = np.logaddexp.accumulate(self.panel_log_mass[:, ::-1], axis=1)[:, ::-1]
        self.right_breaks = np.concatenate([rev, neg], axis=1)
        # partial panel masses from the panel start to each node (exact polynomial integration matrix)
        top = self.phi.max(-1, keepdims=True)
        scaled = np.exp(self.phi - top) * self.sin
        part = np.einsum("mk,bpk->bpm", _A, scaled) * half[None, :, None]
        full = (scaled * _W).sum(-1, keepdims=True) * half[None, :, None]
        with np.errstate(divide="ignore"):
            self.part_log = top + np.log(np.maximum(part, 0.0))  # log ∫_{panel start}^{node} e^Φ |du|
            self.rest_log = top + np.log(np.maximum(full - part, 0.0))  # log ∫_{node}^{panel end}
        self.left = np.logaddexp(self.left_breaks[:, :-1, None], self.part_log)
        self.right = np.logaddexp(self.right_breaks[:, 1:, None], self.rest_log)
        self.log_z = self.left_breaks[:, -1]

    def _potential_slope(
        self, params: _Params, sampler: _TorqueSampler, breaks: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sets the nodes of ``breaks``; returns panel half widths, dΦ/dθ at the nodes, Φ change per panel."""
        half = 0.5 * np.diff(breaks)  # (P,)
        mid = 0.5 * (breaks[1:] + breaks[:-1])
        self.theta = mid[:, None] + half[:, None] * _X[None, :]  # (P, n)
        self.log_w = np.log(half[:, None] * _W[None, :])
        self.sin = np.sin(self.theta)
        g = sampler(self.theta.ravel())
        dphi = -params.slope(np.cos(self.theta), g.reshape((g.shape[0],) + self.theta.shape)) * self.sin  # dΦ/dθ
        return half, dphi, (dphi * _W).sum(-1) * half[None, :]

    def panel_range(self, theta_a: float, theta_b: float) -> slice:
        """Panels covering [θ_a, θ_b] (both must be breakpoints)."""
        ia, ib = np.searchsorted(self.breaks, [theta_a, theta_b])
        return slice(int(ia), int(ib))

    def mfpt(self, params: _Params, theta_start: float, theta_target: float) -> np.ndarray:
        """(B,) mean first-passage time θ_start → θ_target (1/Γ), reflecting at the far pole."""
        lo, hi = sorted((theta_start, theta_target))
        sl = self.panel_range(lo, hi)
        cumulative = self.left if theta_start < theta_target else self.right
        integrand = cumulative[:, sl] - self.phi[:, sl] - np.log(self.sin[sl]) + self.log_w[sl]
        log_tau = _lse(integrand.reshape(integrand.shape[0], -1), -1) - math.log(params.diffusion)
        with np.errstate(over="ignore"):
            return np.exp(log_tau)

    def window_cells(self, params: _Params, n_cells: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cell log masses (B, N), log resistances between neighbouring cells (B, N−1), cell mean θ (B, N).

        Cells are uniform in θ. The resistance between cells i and i+1 is the mean of
        ∫_x^y e^{−Φ} du/(D(1 − u²)) over x, y drawn from the local equilibria e^Φ of the two cells:
        R = ∫_{cell i} r F_i + ∫_{cell i+1} r (1 − F_{i+1}) (F = cumulative in-cell mass fraction), which is
        the centre-to-centre resistance for flat Φ and the upwind rate (velocity/width) for steep Φ.
        """
        edges = np.searchsorted(self.breaks, np.linspace(0.0, math.pi, n_cells + 1))
        b = self.phi.shape[0]
        log_mass = self.phi + self.log_w + np.log(self.sin)
        log_res = -self.phi - np.log(self.sin) + self.log_w - math.log(params.diffusion)  # e^{−Φ}|du|/(D(1 − u²))
        cell_mass, cell_theta, plus, minus = (np.empty((b, n_cells)) for _ in range(4))
        neg = np.full((b, 1), -np.inf)
        for i in range(n_cells):
            sl = slice(edges[i], edges[i + 1])
            pm = self.panel_log_mass[:, sl]
            acc = np.logaddexp.accumulate(pm, axis=1)
            before = np.concatenate([neg, acc[:, :-1]], 1)
            after = np.concatenate([np.logaddexp.accumulate(pm[:, ::-1], axis=1)[:, ::-1][:, 1:], neg], 1)
            total = acc[:, -1]
            below = np.logaddexp(before[:, :, None], self.part_log[:, sl]) - total[:, None, None]
            above = np.logaddexp(after[:, :, None], self.rest_log[:, sl]) - total[:, None, None]
            cell_mass[:, i] = total
            cell_theta[:, i] = _lse((log_mass[:, sl] + np.log(self.theta[sl])).reshape(b, -1), -1) - total
            plus[:, i] = _lse((log_res[:, sl] + below).reshape(b, -1), -1)
            minus[:, i] = _lse((log_res[:, sl] + above).reshape(b, -1), -1)
        return cell_mass, np.logaddexp(plus[:, :-1], minus[:, 1:]), np.exp(cell_theta)


def _start_cell(theta_init: float, n_cells: int) -> int:
    return min(int(theta_init / math.pi * n_cells), n_cells - 1)


def axial_maps(
    magnet: Macrospin,
    table: TorqueTable,
    point_index: Any,
    switch_threshold: float,
    theta_init: float,
    t_start: float,
    t_end: float,
    with_window: bool = True,
    n_cells: int = N_CELLS,
    budget: int = 250_000,
) -> dict[str, np.ndarray]:
    """The Fokker–Planck maps for many grid points at once (arrays of shape point_index.shape).

    Keys: ``mean_theta_window`` ⟨θ⟩ over [t_start, t_end] from θ = theta_init at t = 0 (rad);
    ``p_ap_window`` window average of P(u < 0) (both NaN unless ``with_window``); ``mean_theta_stationary``
    (rad); ``p_ap_stationary`` P_∞(u < 0); ``mfpt_p_to_ap`` mean time u: 1 → −u_s and ``mfpt_ap_to_p``
    u: −1 → +u_s (1/Γ; u_s = switch_threshold, the simulation's hysteretic thresholds, docs/physics.md §10).
    Points are grouped by the panel refinement they need; ``budget`` bounds (points × nodes) per group.
    """
    check_axial(magnet)
    if n_cells % 2:
        raise ValueError(f"n_cells must be even (θ = π/2 is a cell edge), got {n_cells}")
    if not 0.0 < switch_threshold < 1.0:
        raise ValueError(f"switch_threshold must lie in (0, 1), got {switch_threshold}")
    params = _Params(magnet.S, magnet.alpha, magnet.KV, magnet.field[2], magnet.noise_variance)
    points = np.asarray(point_index, dtype=np.int64)
    flat = points.ravel()
    th_ap, th_p = math.acos(-switch_threshold), math.acos(switch_threshold)
    extra = np.concatenate([np.linspace(0.0, math.pi, n_cells + 1), [th_ap, th_p]])
    base = np.unique(np.concatenate([[0.0, math.pi], table.theta_nodes, extra]))
    # refinement each point needs on the base panels, then groups of similar points
    pieces = np.empty((flat.size, base.size - 1), dtype=np.int64)
    step = max(1, budget // (ORDER * base.size))
    probe = _Quadrature.__new__(_Quadrature)
    for lo in range(0, flat.size, step):
        sl = slice(lo, lo + step)
        sampler = _TorqueSampler(table, flat[sl], params.S, params.alpha)
        pieces[sl] = panel_pieces(probe._potential_slope(params, sampler, base)[2])
    order = np.argsort(pieces.sum(1), kind="stable")
    keys = (
        "mean_theta_window",
        "p_ap_window",
        "mean_theta_stationary",
        "p_ap_stationary",
        "mfpt_p_to_ap",
        "mfpt_ap_to_p",
    )
    out = {k: np.full(flat.size, np.nan) for k in keys}
    cells = (np.empty((flat.size, n_cells)), np.empty((flat.size, n_cells - 1)), np.empty((flat.size, n_cells)))
    ap = (np.arange(n_cells) >= n_cells // 2).astype(float)
    lo = 0
    while lo < flat.size:
        union = pieces[order[lo]].copy()
        hi = lo + 1
        while hi < flat.size and ORDER * (hi - lo + 1) * np.maximum(union, pieces[order[hi]]).sum() <= budget:
            np.maximum(union, pieces[order[hi]], out=union)
            hi += 1
        idx = order[lo:hi]
        quad = _Quadrature(params, _TorqueSampler(table, flat[idx], params.S, params.alpha), split_panels(base, union))
        out["mfpt_p_to_ap"][idx] = quad.mfpt(params, 0.0, th_ap)
        out["mfpt_ap_to_p"][idx] = quad.mfpt(params, math.pi, th_p)
        log_mass = quad.phi + quad.log_w + np.log(quad.sin)
        b = log_mass.shape[0]
        out["mean_theta_stationary"][idx] = np.exp(
            _lse((log_mass + np.log(quad.theta)).reshape(b, -1), -1) - quad.log_z
        )
        half = quad.panel_range(math.pi / 2, math.pi)
        out["p_ap_stationary"][idx] = np.exp(_lse(log_mass[:, half].reshape(b, -1), -1) - quad.log_z)
        if with_window:
            for store, value in zip(cells, quad.window_cells(params, n_cells), strict=True):
                store[idx] = value
        lo = hi
    if with_window:
        start = _start_cell(theta_init, n_cells)
        for lo in range(0, flat.size, 4096):
            sl = slice(lo, lo + 4096)
            obs = np.stack([cells[2][sl], np.broadcast_to(ap, cells[2][sl].shape)], axis=2)
            window = propagate_window_average(
                cells[0][sl], cells[1][sl], obs, np.full(obs.shape[0], start), t_start, t_end
            )
            out["mean_theta_window"][sl], out["p_ap_window"][sl] = window[:, 0], window[:, 1]
    return {k: v.reshape(points.shape) for k, v in out.items()}


def _check_u(name: str, u: float) -> float:
    u = float(u)
    if not -1.0 <= u <= 1.0:
        raise ValueError(f"{name} must lie in [-1, 1] (cos θ), got {u}")
    return u


class AxialFokkerPlanck:
    """Exact 1-D Fokker–Planck theory of u = cos θ of the drain (docs/physics.md §14, §10).

    Parameters
    ----------
    magnet : Macrospin with free='drain', K_cubic = 0, field along e_z, no AC drive, σ² > 0.
    torque : ConstantTorque, or a TorqueTable together with ``point_index`` (one grid point).
    """

    def __init__(
        self,
        magnet: Macrospin,
        torque: ConstantTorque | TorqueTable,
        point_index: int | None = None,
        n_cells: int = N_CELLS,
    ) -> None:
        check_axial(magnet)
        if isinstance(torque, TorqueTable) and (point_index is None or np.ndim(point_index) != 0):
            raise ValueError(f"point_index must be one grid-point index with a TorqueTable, got {point_index!r}")
        if isinstance(torque, ConstantTorque) and point_index is not None:
            raise ValueError("point_index is only meaningful with a TorqueTable")
        self.params = _Params(magnet.S, magnet.alpha, magnet.KV, magnet.field[2], magnet.noise_variance)
        self._sampler = _TorqueSampler(
            torque, None if point_index is None else np.array([int(point_index)]), magnet.S, magnet.alpha
        )
        self.n_cells = int(n_cells)
        self._cache: dict[tuple, _Quadrature] = {}

    def _quadrature(self, extra: tuple[float, ...] = ()) -> _Quadrature:
        key = tuple(sorted(extra))
        if key not in self._cache:
            cells = np.linspace(0.0, math.pi, self.n_cells + 1)
            self._cache[key] = _Quadrature(self.params, self._sampler, np.concatenate([cells, np.array(key)]))
        return self._cache[key]

    def log_stationary_density(self, u: Any) -> np.ndarray:
        """log p_∞(u) (density in u, normalised on [−1, 1])."""
        u = np.clip(np.asarray(u, dtype=float), -1.0, 1.0)
        theta = np.arccos(u).ravel()
        quad = self._quadrature()
        panel = np.clip(np.searchsorted(quad.breaks, theta, side="right") - 1, 0, quad.breaks.size - 2)
        start = quad.breaks[panel]
        half = 0.5 * (theta - start)
        nodes = (start + half)[:, None] + half[:, None] * _X[None, :]
        slope = -self.params.slope(np.cos(nodes), self._sampler(nodes.ravel())[0].reshape(nodes.shape))
        phi = quad.phi_breaks[0, panel] + (slope * np.sin(nodes) * _W).sum(-1) * half
        return (phi - quad.log_z[0]).reshape(u.shape)

    def stationary_density(self, u: Any) -> np.ndarray:
        """Stationary probability density p_∞(u) of u = cos θ on [−1, 1] (∫ p du = 1)."""
        return np.exp(self.log_stationary_density(u))

    def mean_first_passage_time(self, u_start: float, u_target: float) -> float:
        """Exact mean time (1/Γ) for u to first reach u_target from u_start (above or below), the far
        pole reflecting. inf when it overflows a double."""
        u0, ua = _check_u("u_start", u_start), _check_u("u_target", u_target)
        if u0 == ua:
            return 0.0
        t0, ta = math.acos(u0), math.acos(ua)
        return float(self._quadrature((t0, ta)).mfpt(self.params, t0, ta)[0])

    def mean_theta(self, theta_init: float, t_start: float, t_end: float) -> float:
        """⟨θ⟩ (rad) averaged over t ∈ [t_start, t_end] (1/Γ), starting at θ = theta_init at t = 0."""
        theta_init, t_start, t_end = float(theta_init), float(t_start), float(t_end)
        if not 0.0 <= theta_init <= math.pi:
            raise ValueError(f"theta_init must lie in [0, π] (rad), got {theta_init}")
        if not 0.0 <= t_start < t_end < math.inf:
            raise ValueError(f"need 0 <= t_start < t_end < inf (1/Γ), got t_start={t_start}, t_end={t_end}")
        cell_mass, res, cell_theta = self._quadrature().window_cells(self.params, self.n_cells)
        start = np.array([_start_cell(theta_init, self.n_cells)])
        return float(propagate_window_average(cell_mass, res, cell_theta[:, :, None], start, t_start, t_end)[0, 0])

"""Stationary state, currents and torque coefficients from lead-resolved generators (docs/physics.md §1,
§3.5, §4.3), on the backend of ``xp``; the post-processing of small per-direction arrays is NumPy.

Generators act on x = (P0, P1, P2, Sx, Sy, Sz). Currents into lead r are minus the lead-r rates of change
of N and S (§3.5). Torque coefficients multiply the non-normalised e_FL, e_DL of §1.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

#: Row of the generator replaced by the normalisation Tr ρ = P0 + P1 + P2 = 1.
TRACE_ROW = 1
#: |sin θ| below which I_FL, I_DL are the collinear limits (analytic θ-derivative of the solve) instead of
#: I⊥·e/sin²θ. The limit differs from the value at θ by O((θ/w)²) for features of width w ≳ 1e-4 rad, the
#: division loses ~1e-16/θ relative: at 1e-8 both are ≲ 1e-8.
COLLINEAR_SIN = 1e-8


@dataclass
class TransportResult:
    """Stationary transport quantities; every array has the broadcast shape of the inputs (+ (3,)).

    charge_current : I_C = particle current into the drain (> 0 for V > 0).
    spin_current_drain, spin_current_source : spin currents into each lead (ħ per time).
    torque_field_like, torque_damping_like : coefficients I_FL, I_DL of e_FL = n_D × n_S and
        e_DL = n_D × (n_D × n_S) in the transverse spin current into the drain (docs/physics.md §1);
        at collinear n_D, n_S: their limit (by solve) or NaN (by solve_vectors).
    occupations : (P0, P1, P2); dot_spin : ⟨S⟩ (spin ½ per electron).
    particle_current_source : I^N_S (= −I_C in the stationary state).
    source_field_like, source_damping_like : the same for the source, n_S ↔ n_D: coefficients of
        n_S × n_D and n_S × (n_S × n_D) in the transverse spin current into the source
        (docs/physics.md §12.2).
    """

    charge_current: np.ndarray
    particle_current_source: np.ndarray
    spin_current_drain: np.ndarray
    spin_current_source: np.ndarray
    torque_field_like: np.ndarray
    torque_damping_like: np.ndarray
    occupations: np.ndarray
    dot_spin: np.ndarray
    source_field_like: np.ndarray
    source_damping_like: np.ndarray


def _trace_system(generator: Any, xp: ModuleType) -> tuple[Any, Any]:
    a = xp.array(generator, dtype=float, copy=True)
    a[..., TRACE_ROW, :] = xp.asarray([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    rhs = xp.zeros(a.shape[:-1])
    rhs[..., TRACE_ROW] = 1.0
    return a, rhs


def _least_squares(a: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Minimum-norm least-squares solutions of (m, 6, 6) systems, one by one (NumPy)."""
    return np.stack([np.linalg.lstsq(a[k], rhs[k], rcond=None)[0] for k in range(a.shape[0])])


def _solve(a: Any, rhs: Any, xp: ModuleType) -> Any:
    """Solve the (..., 6, 6) systems; a system that is singular in floating point gets the minimum-norm
    least-squares solution instead (NumPy and CuPy alike, so a point's result does not depend on the backend
    or on the other points of its batch).

    Singular systems occur where a physical rate is below the rounding of the others, e.g. at order 1 and
    ε̃ = 0, V = 0 (T ≪ U): the spin decay rate of the singly occupied dot is ~Γ e^{−U/2T}, rounded to ±1e-16
    or exactly 0 depending on the order of operations, while the spin source vanishes there (P0 = P2).
    NumPy raises LinAlgError for an exact zero pivot; CuPy's batched solve raises nothing and returns
    non-finite values (its default ``cupyx.errstate(linalg="ignore")``), which are detected here.
    """
    shape = rhs.shape
    flat_a, flat_b = a.reshape(-1, 6, 6), rhs.reshape(-1, 6)
    if xp is np:
        try:
            return np.linalg.solve(flat_a, flat_b[..., None])[..., 0].reshape(shape)
        except np.linalg.LinAlgError:
            out = np.empty(flat_b.shape)
            for k in range(flat_a.shape[0]):
                try:
                    out[k] = np.linalg.solve(flat_a[k], flat_b[k])
                except np.linalg.LinAlgError:
                    out[k] = _least_squares(flat_a[k : k + 1], flat_b[k : k + 1])[0]
            return out.reshape(shape)
    out = xp.linalg.solve(flat_a, flat_b[..., None])[..., 0]
    bad = ~xp.all(xp.isfinite(out), axis=-1)
    if bool(bad.any()):
        rows = xp.flatnonzero(bad)
        out[rows] = xp.asarray(_least_squares(xp.asnumpy(flat_a[rows]), xp.asnumpy(flat_b[rows])))
    return out.reshape(shape)


def stationary_state(generator: Any, xp: ModuleType = np) -> Any:
    """Solve W x = 0 with P0 + P1 + P2 = 1 for (..., 6, 6) real generators W (docs/physics.md §4.3)."""
    a, rhs = _trace_system(generator, xp)
    return _solve(a, rhs, xp)


def stationary_derivative(generator: Any, derivative: Any, x: Any, xp: ModuleType = np) -> Any:
    """dx/dθ of the stationary state for dW/dθ = ``derivative``: A x' = −(dA) x, the trace row fixed."""
    a, _ = _trace_system(generator, xp)
    rhs = -(derivative @ x[..., None])[..., 0]
    rhs[..., TRACE_ROW] = 0.0
    return _solve(a, rhs, xp)


def torque_coefficients(
    spin_current: np.ndarray, n_own: np.ndarray, n_other: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (FL, DL) of e_FL = n_own × n_other and e_DL = n_own × (n_own × n_other) in the
    transverse part of ``spin_current`` (into the lead of direction n_own), docs/physics.md §1;
    NaN where the directions are collinear. Shapes (..., 3) → (...)."""
    transverse = spin_current - n_own * np.sum(n_own * spin_current, axis=-1, keepdims=True)
    e_fl = np.cross(n_own, n_other)
    e_dl = np.cross(n_own, e_fl)
    norm2 = np.sum(e_fl * e_fl, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        safe = norm2 > 1e-24
        field_like = np.where(safe, np.sum(transverse * e_fl, axis=-1) / np.where(safe, norm2, 1.0), np.nan)
        damping_like = np.where(safe, np.sum(transverse * e_dl, axis=-1) / np.where(safe, norm2, 1.0), np.nan)
    return field_like, damping_like


def collinear_limits(spin: np.ndarray, d_spin: np.ndarray, cos_theta: np.ndarray) -> dict[str, np.ndarray]:
    """Limits of the torque coefficients at θ → θ0 ∈ {0, π} for n_S = e_z, n_D = (sin θ, 0, cos θ).

    spin, d_spin: spin currents into (source, drain) and their θ-derivatives at θ0, shape (m, 2, 3).
    With I⊥·e_FL = −sin θ I_y, I⊥·e_DL = sin θ (cos θ I_x − sin θ I_z) for the drain and
    (0, sin θ, 0), (−sin θ, 0, 0) for the source (docs/physics.md §1, §12.2), l'Hôpital at sin θ0 = 0 gives
    I_FL = −I_y'/c0, I_DL = I_x' − I_z, FL_S = I_y'/c0, DL_S = −I_x'/c0 (c0 = cos θ0 = ±1).
    """
    c0 = np.sign(cos_theta)
    drain, d_drain, d_source = spin[:, 1], d_spin[:, 1], d_spin[:, 0]
    return {
        "torque_field_like": -d_drain[:, 1] / c0,
        "torque_damping_like": d_drain[:, 0] - drain[:, 2],
        "source_field_like": d_source[:, 1] / c0,
        "source_damping_like": -d_source[:, 0] / c0,
    }


def assemble_result(
    x: np.ndarray, lead_rates: np.ndarray, n_S: np.ndarray, n_D: np.ndarray, shape: tuple[int, ...]
) -> TransportResult:
    """Currents into each lead are minus the lead-resolved rates of change of N and S (§3.5)."""
    particle = -(lead_rates[..., 1] + 2.0 * lead_rates[..., 2])  # (n, 2): into S, into D
    spin = -lead_rates[..., 3:6]  # (n, 2, 3)
    field_like, damping_like = torque_coefficients(spin[:, 1], n_D, n_S)
    source_fl, source_dl = torque_coefficients(spin[:, 0], n_S, n_D)
    return TransportResult(
        charge_current=particle[:, 1].reshape(shape),
        particle_current_source=particle[:, 0].reshape(shape),
        spin_current_drain=spin[:, 1].reshape(shape + (3,)),
        spin_current_source=spin[:, 0].reshape(shape + (3,)),
        torque_field_like=field_like.reshape(shape),
        torque_damping_like=damping_like.reshape(shape),
        occupations=x[:, 0:3].reshape(shape + (3,)),
        dot_spin=x[:, 3:6].reshape(shape + (3,)),
        source_field_like=source_fl.reshape(shape),
        source_damping_like=source_dl.reshape(shape),
    )


def assemble_result_angular(
    x: np.ndarray, lead_rates: np.ndarray, theta: np.ndarray, shape: tuple[int, ...]
) -> TransportResult:
    """:func:`assemble_result` for n_S = e_z, n_D = (sin θ, 0, cos θ), with the torque coefficients in closed
    form: I⊥·e_FL = −s I_y, I⊥·e_DL = s (c I_x − s I_z) for the drain, s I_y and −s I_x for the source, each
    divided by s² (s = sin θ, c = cos θ; docs/physics.md §1, §12.2). NaN where s = 0."""
    particle = -(lead_rates[..., 1] + 2.0 * lead_rates[..., 2])
    spin = -lead_rates[..., 3:6]
    s, c = np.sin(theta), np.cos(theta)
    with np.errstate(invalid="ignore", divide="ignore"):
        inv = np.where(s != 0.0, 1.0 / np.where(s != 0.0, s, 1.0), np.nan)
    drain, source = spin[:, 1], spin[:, 0]
    return TransportResult(
        charge_current=particle[:, 1].reshape(shape),
        particle_current_source=particle[:, 0].reshape(shape),
        spin_current_drain=drain.reshape(shape + (3,)),
        spin_current_source=source.reshape(shape + (3,)),
        torque_field_like=(-drain[:, 1] * inv).reshape(shape),
        torque_damping_like=((c * drain[:, 0] - s * drain[:, 2]) * inv).reshape(shape),
        occupations=x[:, 0:3].reshape(shape + (3,)),
        dot_spin=x[:, 3:6].reshape(shape + (3,)),
        source_field_like=(source[:, 1] * inv).reshape(shape),
        source_damping_like=(-source[:, 0] * inv).reshape(shape),
    )

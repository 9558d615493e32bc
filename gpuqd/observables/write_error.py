"""Write pulses and their write-error rate: the protocol and the exact axial Fokker–Planck answer
(docs/physics.md §16).

A pulse protocol is piecewise constant in (ε̃, V): the magnet starts in equilibrium at the *rest* grid
point, restricted to the initial hemisphere (P: u = n_z > 0, or AP: u < 0), spends ``rest_before`` there,
then runs through the optional rise segments, the *write* point for the pulse width w, the rise segments in
reverse order (fall), and ``settle`` at the rest point; it is then read: the write failed when u is still
in the initial hemisphere. The write-error rate is WER(w) = P(u(t_end) in the initial hemisphere). Each
segment's torques are the torque-table row of its grid point.

Exact answer (axial model: source fixed along e_z, uniaxial anisotropy, field along e_z): the finite-volume
master equation of docs/physics.md §14 (``AxialFokkerPlanck.master_equation``) with, in every segment, the
segment point's generator K; the density is propagated by the exact operator exp(K t) (no time-step
error), starting from the exact cell masses of the rest point's stationary density in the initial
hemisphere. Only the discretisation in θ remains: :func:`write_error_rate_fp` evaluates it at n and 2n
cells and returns the Richardson extrapolation (the scheme is second order) with the difference as its
error estimate. Units: times in 1/Γ, currents in Γ (e = 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike

from gpuqd.blas import one_blas_thread
from gpuqd.dynamics.model import ConstantTorque, Macrospin
from gpuqd.observables.fokker_planck import AxialFokkerPlanck
from gpuqd.observables.fp_legendre import LegendreFokkerPlanck, theta_panels
from gpuqd.transport.torque_table import TorqueTable

INITIAL_STATES = ("P", "AP")


@dataclass(frozen=True)
class PulseProtocol:
    """rest → [rise] → write (width w) → [fall] → settle, all points grid-point indices of a torque table.

    rest : grid point of the rest bias/gate (initial equilibrium and settle).
    write : grid point of the write pulse.
    rest_before : time at rest before the pulse (1/Γ, ≥ 0).
    settle : time at rest after the pulse, before the read (1/Γ, ≥ 0).
    rise : ((point, duration), ...) segments between rest and write (a finite rise time as a staircase);
        run in this order before the write and in reverse order after it. Not part of the width.
    initial_state : "P" (start in u > 0, write P → AP) or "AP".
    read : grid point whose charge current is the readout (None: the rest point).
    """

    rest: int
    write: int
    settle: float
    rest_before: float = 0.0
    rise: tuple[tuple[int, float], ...] = ()
    initial_state: str = "P"
    read: int | None = None

    def __post_init__(self) -> None:
        if self.initial_state not in INITIAL_STATES:
            raise ValueError(f"initial_state must be one of {INITIAL_STATES}, got {self.initial_state!r}")
        for name in ("settle", "rest_before"):
            value = float(getattr(self, name))
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{name} must be a finite time >= 0 (1/Γ), got {value}")
        for point, duration in self.rise:
            if not (math.isfinite(float(duration)) and float(duration) > 0.0):
                raise ValueError(f"rise segment at point {point} needs a duration > 0 (1/Γ), got {duration}")

    @property
    def sign(self) -> int:
        """+1 when the magnet starts in P (u > 0), −1 for AP."""
        return 1 if self.initial_state == "P" else -1

    @property
    def read_point(self) -> int:
        return self.rest if self.read is None else self.read

    def before(self) -> list[tuple[int, float]]:
        """Segments (point, duration) before the write segment."""
        return [(self.rest, float(self.rest_before)), *[(p, float(d)) for p, d in self.rise]]

    def after(self) -> list[tuple[int, float]]:
        """Segments (point, duration) after the write segment."""
        return [*[(p, float(d)) for p, d in reversed(self.rise)], (self.rest, float(self.settle))]

    def segments(self, width: float) -> list[tuple[int, float]]:
        """All segments (point, duration) for pulse width ``width`` (1/Γ), zero-length ones dropped."""
        return [s for s in [*self.before(), (self.write, float(width)), *self.after()] if s[1] > 0.0]

    def points(self) -> list[int]:
        return sorted({self.rest, self.write, self.read_point, *(p for p, _ in self.rise)})


def check_widths(widths: ArrayLike) -> np.ndarray:
    """Pulse widths as a float array; ValueError unless finite, ≥ 0 and strictly increasing."""
    w = np.asarray(widths, dtype=float).ravel()
    if w.size == 0 or not np.all(np.isfinite(w)) or w.min() < 0.0 or np.any(np.diff(w) <= 0.0):
        raise ValueError(f"pulse widths must be finite, >= 0 and strictly increasing (1/Γ), got {w.tolist()}")
    return w


def initial_density(
    magnet: Macrospin, torque: ConstantTorque | TorqueTable, protocol: PulseProtocol, theta: np.ndarray
) -> np.ndarray:
    """The initial density in u (normalised on the initial hemisphere, zero outside) at angles θ (rad):
    the stationary density of the rest point (docs/physics.md §14) restricted to the initial hemisphere.
    A model without axial symmetry (cubic anisotropy, transverse field, AC drive, free source) starts from
    the density of its axial part (those terms dropped); ``rest_before`` then lets it relax at rest."""
    axial = replace(magnet, K_cubic=0.0, field=(0.0, 0.0, magnet.field[2]), ac_field=None, free="drain")
    point = protocol.rest if isinstance(torque, TorqueTable) else None
    log_p = AxialFokkerPlanck(axial, torque, point_index=point).log_stationary_density(np.cos(theta))
    inside = np.cos(theta) * protocol.sign > 0.0
    return np.where(inside, np.exp(log_p - log_p[inside].max()), 0.0)


def legendre_sizes(degree: int) -> tuple[int, int]:
    """The two numbers of Legendre polynomials :func:`write_error_rate_fp` solves with: L and 1.5 L."""
    return int(degree), int(1.5 * degree)


@dataclass(frozen=True)
class LegendreWork:
    """The linear algebra of :func:`write_error_rate_fp` at one size ``size`` (= n polynomials):
    ``generators`` Galerkin matrices built (each an (n × Q)·(Q × n) product over the Q quadrature nodes),
    one n × n matrix exponential exp(M t) per entry of ``durations`` (1/Γ), and ``products`` n × n
    matrix products (the read-out propagator of the segments after the write)."""

    size: int
    generators: int
    durations: tuple[float, ...]
    products: int


def legendre_work(protocol: PulseProtocol, widths: ArrayLike, degree: int) -> list[LegendreWork]:
    """The work of ``write_error_rate_fp(…, protocol, widths, degree)``, counted as :func:`_densities`
    does it (zero-length segments cost nothing; the widths share one write run), one entry per size."""
    w = check_widths(widths)
    before = [(p, d) for p, d in protocol.before() if d > 0.0]
    after = [(p, d) for p, d in protocol.after() if d > 0.0]
    write = [(protocol.write, float(d)) for d in np.diff(np.concatenate([[0.0], w])) if d > 0.0]
    segments = before + after + write
    points = len({p for p, _ in segments})
    return [LegendreWork(n, points, tuple(d for _, d in segments), len(after)) for n in legendre_sizes(degree)]


def _before_and_after(solver: LegendreFokkerPlanck, protocol: PulseProtocol) -> tuple:
    """What does not depend on the write segment: the initial Legendre coefficients (L,), those after the
    segments before the write (L,) and the propagator of the segments after it (L, L)."""
    breaks = np.concatenate([solver_breaks(solver), [0.5 * math.pi]])
    theta, w_theta = theta_panels(breaks, 2.0 * math.pi / (3.0 * solver.degree))
    weights = w_theta * np.sin(theta)
    density = initial_density(solver.magnet, solver.torque, protocol, theta)
    density /= weights @ density
    c0 = solver.project(density, weights, np.cos(theta))
    c = c0
    for point, duration in protocol.before():
        c = solver.evolve(point, duration, c)
    after = np.eye(solver.degree)
    for point, duration in protocol.after():
        after = solver.evolve(point, duration, after)
    return c0, c, after


def _densities(solver: LegendreFokkerPlanck, protocol: PulseProtocol, widths: np.ndarray) -> tuple:
    """Initial and read-time Legendre coefficients ((L,), (L, n_widths))."""
    c0, c, after = _before_and_after(solver, protocol)
    out = np.empty((solver.degree, widths.size))
    previous = 0.0
    for i, w in enumerate(widths):
        c = solver.evolve(protocol.write, w - previous, c)
        previous = w
        out[:, i] = after @ c
    return c0, out


def solver_breaks(solver: LegendreFokkerPlanck) -> np.ndarray:
    """θ breakpoints of the torque provider's interpolant (rad)."""
    torque = solver.torque
    return torque.theta_nodes if isinstance(torque, TorqueTable) else np.array([0.0, math.pi])


def write_error_rate_fp(
    magnet: Macrospin,
    torque: ConstantTorque | TorqueTable,
    protocol: PulseProtocol,
    widths: ArrayLike,
    degree: int = 256,
) -> dict[str, np.ndarray]:
    """Exact axial Fokker–Planck write-error rate of ``protocol`` for each pulse width (1/Γ).

    Legendre–Galerkin in u (gpuqd.observables.fp_legendre), exact exp(M t) per segment, evaluated with
    ``degree`` and 1.5 × ``degree`` polynomials. Keys: ``write_error_rate`` (n_widths,) — the finer answer,
    clipped to [0, 1]; ``error_estimate`` (n_widths,) — |finer − coarser| (absolute);
    ``readout_current_before`` (0-d) and ``readout_current_after`` (n_widths,) — mean charge current (Γ)
    at the read point in the initial state and at the read time.
    """
    w = check_widths(widths)
    if int(degree) < 16:
        raise ValueError(f"degree must be >= 16, got {degree}")
    results = []
    with one_blas_thread():  # dense matrices of a few hundred rows: faster on one BLAS thread (gpuqd.blas)
        for n in legendre_sizes(degree):
            solver = LegendreFokkerPlanck(magnet, torque, n)
            c0, c_read = _densities(solver, protocol, w)
            stay = solver.hemisphere_mass(c_read, protocol.sign)
            current = solver.torques(protocol.read_point, solver.u)[2]
            results.append((stay, solver.expectation(c0, current), solver.expectation(c_read, current)))
    coarse, fine = results[0][0], results[1][0]
    return {
        "write_error_rate": np.clip(fine, 0.0, 1.0),
        "error_estimate": np.abs(fine - coarse),
        "readout_current_before": np.asarray(results[1][1]),
        "readout_current_after": results[1][2],
    }


def write_error_rate_fp_map(
    magnet: Macrospin,
    torque: ConstantTorque | TorqueTable,
    protocols: Sequence[PulseProtocol],
    width: float,
    degree: int = 256,
    map_fn: Callable[[Callable[[int], float], Iterable[int]], Iterable[float]] = map,
) -> dict[str, np.ndarray]:
    """:func:`write_error_rate_fp` at one pulse ``width`` (1/Γ) for each of ``protocols``, protocols that
    differ only in the write point (a write-error map), with the work they share done once per size: the
    solver, the initial density, the segments before the write and the propagator after it; per protocol
    one generator and one exponential (:func:`legendre_map_work`). The same operations as one by one: the
    same numbers. ``map_fn(f, indices)`` yields f(i) in order (default the built-in ``map``; e.g.
    :func:`gpuqd.transport.torque_table.threaded_map` to run the protocols side by side, each on one BLAS
    thread: :func:`gpuqd.blas.one_blas_thread` is held around the whole map). Keys: ``write_error_rate``
    and ``error_estimate`` (n_protocols,), as in :func:`write_error_rate_fp`."""
    w = float(check_widths([width])[0])
    if int(degree) < 16:
        raise ValueError(f"degree must be >= 16, got {degree}")
    if not protocols:
        raise ValueError("protocols: give at least one")
    first = protocols[0]
    for k, protocol in enumerate(protocols):
        if replace(protocol, write=first.write) != first:
            raise ValueError(f"protocols[{k}] differs from protocols[0] in more than the write point")
    stays = []
    with one_blas_thread():
        for n in legendre_sizes(degree):
            solver = LegendreFokkerPlanck(magnet, torque, n)
            _, c, after = _before_and_after(solver, first)

            solver.hemisphere_mass(c, first.sign)  # its quadrature rule built here, not in the threads

            def stay(
                k: int, solver: LegendreFokkerPlanck = solver, c: np.ndarray = c, after: np.ndarray = after
            ) -> float:
                c_write = solver.evolve(protocols[k].write, w, c, keep=False)
                c_read = np.empty((solver.degree, 1))
                c_read[:, 0] = after @ c_write
                return float(solver.hemisphere_mass(c_read, first.sign)[0])

            stays.append(np.array(list(map_fn(stay, range(len(protocols))))))
    coarse, fine = stays
    return {"write_error_rate": np.clip(fine, 0.0, 1.0), "error_estimate": np.abs(fine - coarse)}


def legendre_map_work(protocol: PulseProtocol, width: float, degree: int, n_protocols: int) -> list[LegendreWork]:
    """The work of :func:`write_error_rate_fp_map` over ``n_protocols`` protocols like ``protocol`` at one
    ``width``, counted as it does it: per size the shared segments once, one generator and one
    exponential per protocol."""
    shared = [(p, d) for p, d in [*protocol.before(), *protocol.after()] if d > 0.0]
    points = len({p for p, _ in shared})
    per_point = (float(width),) if float(width) > 0.0 else ()
    products = sum(1 for _, d in protocol.after() if d > 0.0)
    durations = tuple(d for _, d in shared) + per_point * int(n_protocols)
    return [LegendreWork(n, points + int(n_protocols), durations, products) for n in legendre_sizes(degree)]

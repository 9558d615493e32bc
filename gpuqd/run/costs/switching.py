"""Expected work of the compacting first-passage run (stage ``switching_times``) before it starts.

The run advances all trajectories chunk by chunk (``statistics.chunk_steps`` steps) and drops the
switched ones between chunks (:mod:`gpuqd.run.execute.first_passage_units`), so chunk k costs
``chunk·(c + d·A_k)`` seconds on the engine cost model of :mod:`gpuqd.run.costs.measure`, with A_k the
trajectories still running at its start. A_k comes from a survival model per grid point and protocol:

* mean first-passage time τ from the exact axial Fokker–Planck theory (docs/physics.md §14: u = cos θ
  from the start pole to the opposite hysteretic threshold, the simulation's switching criterion of
  docs/physics.md §10), on the torque table at a subgrid of at most :data:`MAX_AXIS` × :data:`MAX_AXIS`
  points (each standing for the grid points nearest to it);
* survival S(t) = exp(−t/τ) (memoryless escape, docs/physics.md §10), so the expected number still
  running at t is ``Σ_points n·exp(−t/τ)``. A point's work up to t_end is E[min(T, t_end)], and for any
  distribution of mean τ, E[min(T, t_end)] ≤ min(τ, t_end) (min is concave), so the exponential model,
  τ(1 − e^(−t_end/τ)), is low by at most 1/(1 − 1/e) ≈ 1.58 (deterministic switching at τ = t_end);
  it is high where the times have a long tail. The printed estimate is marked "≈". (configs/
  switching_times.yaml on the cpu backend: τ within −7 %…+9 % (≤ 3 standard errors) of the measured
  mean at the 31 points where all 100 trajectories switched; coefficients of variation 0.1–0.4; the
  modelled work 12 % below the measured trajectory-steps.)

The run ends after the last chunk at whose start at least half a trajectory is expected to run, or at
t_end. Without the axial model (cubic anisotropy, a free source, a transverse field) or with
compaction off, no survival is modelled and the estimate is the bound of all trajectories running to
t_end. Units: times in 1/Γ, seconds of wall time where the name says so.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from gpuqd.run.config.typed import RunConfig
from gpuqd.run.costs.coefficients import Costs
from gpuqd.run.costs.model import RESULTS_PER_TRAJ, StageEstimate, engine_table_bytes, format_seconds

__all__ = ["MAX_AXIS", "compacting_cost", "estimate", "expected_active", "mean_first_passage_times"]

#: largest number of ε̃ (and of V) values of the subgrid on which τ is computed
MAX_AXIS = 12


def expected_active(tau: np.ndarray, n_per_group: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Expected trajectories still running at times ``t`` (1/Γ): Σ_g n_g exp(−t/τ_g) (τ = inf: never
    switches; τ = 0: switched at once)."""
    tau = np.asarray(tau, dtype=float)[:, None]
    n = np.asarray(n_per_group, dtype=float)[:, None]
    t = np.asarray(t, dtype=float)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(tau > 0, np.exp(-t / np.where(tau > 0, tau, 1.0)), (t <= 0).astype(float))
    return (n * s).sum(0)


def compacting_cost(
    tau: np.ndarray, n_per_group: np.ndarray, dt: float, steps_total: int, chunk_steps: int, c: float, d: float
) -> tuple[float, float]:
    """(wall seconds, trajectory-steps) of a compacting first-passage run of groups with mean first-passage
    times ``tau`` (1/Γ) and ``n_per_group`` trajectories each, ``steps_total`` steps of ``dt`` at most,
    compaction every ``chunk_steps`` steps; engine cost ``c + d·n`` seconds per step of n trajectories."""
    n_chunks = max(1, math.ceil(steps_total / chunk_steps))
    starts = np.arange(n_chunks) * chunk_steps
    lengths = np.minimum(chunk_steps, steps_total - starts)
    active = expected_active(tau, n_per_group, starts * dt)
    running = active >= 0.5
    running[0] = True  # the first chunk always runs
    last = int(np.nonzero(running)[0].max())
    lengths, active = lengths[: last + 1], active[: last + 1]
    return float((lengths * (c + d * active)).sum()), float((lengths * active).sum())


def _sample(axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(indices of at most MAX_AXIS evenly spread values of ``axis``, how many grid values each stands for)."""
    n = axis.size
    idx = np.unique(np.round(np.linspace(0, n - 1, min(n, MAX_AXIS))).astype(int))
    nearest = np.abs(np.arange(n)[:, None] - idx[None, :]).argmin(1)
    return idx, np.bincount(nearest, minlength=idx.size)


def mean_first_passage_times(cfg: RunConfig) -> tuple[np.ndarray, np.ndarray] | None:
    """(τ per sampled point and protocol (1/Γ), grid points each stands for), for the switching_times run
    ``cfg``; None where the axial Fokker–Planck model does not apply."""
    from gpuqd.dynamics import ConstantTorque
    from gpuqd.observables.fokker_planck import AxialFokkerPlanck, axial_maps
    from gpuqd.run.config.factories import make_magnet, make_spin_valve, make_torque
    from gpuqd.transport import TorqueTable

    try:
        magnet = make_magnet(cfg.magnet)
        u_s = cfg.dynamics.switch_threshold
        protocols = {
            "P_to_AP": ["mfpt_p_to_ap"],
            "AP_to_P": ["mfpt_ap_to_p"],
            "both": ["mfpt_p_to_ap", "mfpt_ap_to_p"],
        }[cfg.statistics.protocol]
        ie, we = _sample(cfg.grid.eps_tilde)
        iv, wv = _sample(cfg.grid.V)
        weights = np.outer(we, wv).ravel()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if cfg.torque.model != "transport":
                torque = make_torque(cfg, None)
                assert isinstance(torque, ConstantTorque)
                fp = AxialFokkerPlanck(magnet, torque)
                pair = {
                    "mfpt_p_to_ap": fp.mean_first_passage_time(1.0, -u_s),
                    "mfpt_ap_to_p": fp.mean_first_passage_time(-1.0, u_s),
                }
                maps = {k: np.full(weights.size, v) for k, v in pair.items()}
            else:
                sv = make_spin_valve(cfg.transport)
                table = TorqueTable.build(
                    sv, cfg.grid.eps_tilde[ie], cfg.grid.V[iv], cfg.transport.order, cfg.transport.n_theta
                )
                maps = axial_maps(magnet, table, np.arange(weights.size), u_s, 0.0, 0.0, 1.0, with_window=False)
    except Exception:  # noqa: BLE001 - not the axial model (ValueError) or any failure: an estimate never stops a run
        return None  # the caller keeps the bound
    tau = np.concatenate([np.asarray(maps[k], dtype=float).ravel() for k in protocols])
    return tau, np.tile(weights, len(protocols))


def estimate(cfg: RunConfig, costs: Costs, needs: frozenset[str]) -> StageEstimate:
    """The ``estimate`` of stage switching_times: the first round of ``statistics.trajectories_per_point``
    trajectories per grid point and protocol, compaction modelled by the survival above where the axial
    model applies, else the bound of no compaction (all trajectories to t_end)."""
    st, dt = cfg.statistics, cfg.dynamics.dt
    n_pts = cfg.grid.n_points
    t_end = st.t_end if st.t_end is not None else cfg.dynamics.t_end
    steps = round(t_end / dt)
    n_per = int(st.trajectories_per_point)
    n_traj = n_pts * (2 if st.protocol == "both" else 1) * n_per
    table = cfg.torque.model == "transport"
    ec = costs.engine(table, cfg.magnet)
    per_traj = ec.bytes_per_traj if ec else 0.0
    memory = engine_table_bytes(n_pts, cfg.transport.n_theta, cfg.magnet.free == "both") if table else 0
    memory += int(n_traj * (per_traj + RESULTS_PER_TRAJ * 8))
    extra = "; adaptive rounds may add trajectories" if st.adaptive else ""
    work = f"{n_traj} trajectories × ≤ {steps} steps = ≤ {n_traj * steps:.3g} trajectory-steps (first round)"
    if ec is None:
        return StageEstimate("switching_times", work, None, memory, bound=True, note=extra.lstrip("; "))
    bound = steps * ec.step(n_traj)
    model = mean_first_passage_times(cfg) if st.compaction else None
    if model is None:
        why = "compaction off" if not st.compaction else "switched trajectories are dropped (compaction)"
        return StageEstimate("switching_times", work, bound, memory, bound=True, note=why + extra)
    tau, weights = model
    seconds, expected = compacting_cost(tau, weights * n_per, dt, steps, int(st.chunk_steps), ec.c, ec.d)
    return StageEstimate(
        "switching_times",
        work,
        seconds,
        memory,
        note=f"≈ {expected:.3g} trajectory-steps with compaction, from the Fokker–Planck mean "
        f"switching times; ≤ {format_seconds(bound)} without" + extra,
    )

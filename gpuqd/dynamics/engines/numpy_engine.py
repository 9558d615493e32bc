"""NumPy reference engine: stochastic Heun with renormalisation, vectorised over trajectories.

One step k → k+1 (docs/physics.md §6.2), with the thermal field h = sqrt(σ²/dt) ξ held fixed in both stages:

    F(n, t) = c_p (n × P) − c_d [n (n·P) − P |n|²],   c_p = S/(S²+α²), c_d = α/(S²+α²),
    P = −∂E/∂n − h + I_FL a + I_DL (n × a),            a = source direction (e_z unless free="both"),
    n_p = n + dt F(n, t_k),  n ← n + (dt/2)[F(n, t_k) + F(n_p, t_{k+1})],  n ← n/|n|.

Here τ = n × P is the torque of docs/physics.md §6.1 (−n × (∂E/∂n + h) + I⊥, with I⊥ = n × (I_FL a + I_DL n × a))
and n × τ = n (n·P) − P |n|², so F is the explicit Landau–Lifshitz form. Torque coefficients are
evaluated at cos θ = n·a / (|n| |a|) of the stage argument (the predictor is not normalised).

With free="both" the source a = m obeys the same equation with its own noise stream and its own
torque, the transverse spin current into the source (docs/physics.md §6.1):
I^S⊥ = FL_S (m × n) + DL_S (m × (m × n)), applied as P_S = … + FL_S n + DL_S (m × n), i.e. the same
form with n ↔ m and the source coefficients FL_S(θ), DL_S(θ) of the torque provider, evaluated at
the same cos θ = n·m/(|n||m|) of the stage.
"""

from __future__ import annotations

import copy

import numpy as np

from gpuqd.dynamics import layout, table_cache
from gpuqd.dynamics.engine_config import EngineConfig, initial_state
from gpuqd.dynamics.philox import SOURCE_STREAM_BIT, noise_block_for_ids
from gpuqd.dynamics.stability import NORM_DRIFT_LIMIT
from gpuqd.transport.torque_table import lagrange4_weights, s_of_theta

# Trajectory-steps of noise generated per Philox call (bounds temporary memory, amortises overhead).
NOISE_BLOCK_ELEMENTS = 1 << 16


class NumpyEngine:
    """Holds the ensemble state as NumPy arrays and advances it step by step.

    The per-trajectory state fields of :data:`gpuqd.dynamics.layout.STATE` are attributes of the same
    names, set by :meth:`set_state` (:meth:`__getattr__` types them for the checker)."""

    # layout.STATE fields updated in place here (declared for the checker; set by set_state)
    state: np.ndarray  # the P/AP state of each trajectory, as float ±1
    n: np.ndarray
    m: np.ndarray
    sum_theta: np.ndarray
    sum_charge_current: np.ndarray

    def __init__(self, cfg: EngineConfig) -> None:
        self.cfg = cfg
        magnet = cfg.magnet
        denom = magnet.S**2 + magnet.alpha**2
        self.c_prec = magnet.S / denom
        self.c_damp = magnet.alpha / denom
        self.field = np.asarray(magnet.field, dtype=float)
        self.cubic_axes = np.asarray(magnet.cubic_axes, dtype=float)
        if cfg.is_table:
            n_theta = cfg.table.n_theta
            # row p*M + i holds the columns of gpuqd.dynamics.layout.TABLE_COLUMNS of point p at node i
            columns = layout.TABLE_COLUMNS[cfg.both_free]
            self.table_rows = table_cache.packed_table(cfg.torque, cfg.both_free).reshape(-1, len(columns))
            self.table_col = {name: c for c, name in enumerate(columns) if name is not None}
            self.row_base = cfg.point_index * n_theta
            self.n_theta = n_theta
        self.set_state(initial_state(cfg))

    def __getattr__(self, name: str) -> np.ndarray:
        """Only reached for names not set: the state fields exist once :meth:`set_state` ran."""
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # ------------------------------------------------------------------ state
    def set_state(self, state: dict[str, np.ndarray]) -> None:
        # per-trajectory fields as attributes named after gpuqd.dynamics.layout.STATE, vectors (3, n_traj)
        for field in layout.STATE:
            setattr(self, field.name, layout.state_to_device_layout(field, state[field.name]))
        self.state = self.state.astype(float)  # ±1, multiplies n·a in _record
        self.samples = np.array(state["samples"], dtype=float)
        self.steps_done = int(state["steps_done"])
        self.last_norm_sq = np.ones(self.cfg.n_traj)

    def get_state(self) -> dict[str, np.ndarray]:
        state = {f.name: layout.state_from_device_layout(f, getattr(self, f.name)) for f in layout.STATE}
        state["samples"] = self.samples.copy()
        state["steps_done"] = np.array(self.steps_done, dtype=np.int64)
        return state

    def state_field(self, name: str) -> np.ndarray:
        """Copy of one per-trajectory state field in the get_state layout."""
        return layout.state_from_device_layout(layout.STATE_BY_NAME[name], getattr(self, name))

    def subset(self, keep: np.ndarray, cfg: EngineConfig) -> NumpyEngine:
        """Engine for the trajectories ``keep`` (config ``cfg``), sharing this engine's torque table."""
        new = copy.copy(self)
        new.cfg = cfg
        for f in layout.STATE:
            setattr(new, f.name, np.ascontiguousarray(getattr(self, f.name)[..., keep]))
        new.last_norm_sq = np.asarray(self.last_norm_sq)[keep]
        if cfg.is_table:
            new.row_base = cfg.point_index * self.n_theta
        return new

    # ------------------------------------------------------------------ physics
    def _coefficients(self, cos_theta: np.ndarray, want_theta: bool) -> tuple:
        """(I_FL, I_DL, I_C, θ or None) at cos θ."""
        return self._stage_coefficients(cos_theta, want_theta)[:4]

    def _stage_coefficients(self, cos_theta: np.ndarray, want_theta: bool) -> tuple:
        """(I_FL, I_DL, I_C, θ or None, FL_S, DL_S) at cos θ (the source pair None unless free="both");
        table layout of gpuqd.dynamics.layout.TABLE_COLUMNS, interpolation of TorqueTable."""
        cfg = self.cfg
        if not cfg.is_table:
            torque = cfg.torque
            theta = np.arccos(np.clip(cos_theta, -1.0, 1.0)) if want_theta else None
            fls, dls = (torque.source_field_like, torque.source_damping_like) if cfg.both_free else (None, None)
            return torque.field_like, torque.damping_like, torque.charge_current, theta, fls, dls
        theta = np.arccos(np.clip(cos_theta, -1.0, 1.0))
        s = s_of_theta(theta)
        i0, weights = lagrange4_weights(s, self.n_theta)
        idx = self.row_base + i0
        rows = self.table_rows
        acc = rows[idx] * weights[0][:, None]
        for k in range(1, 4):
            acc += rows[idx + k] * weights[k][:, None]
        col = self.table_col
        values = [acc[:, col[name]] for name in ("field_like", "damping_like", "charge_current")]
        if cfg.both_free:
            source = acc[:, col["source_field_like"]], acc[:, col["source_damping_like"]]
        else:
            source = (None, None)
        return values[0], values[1], values[2], theta, source[0], source[1]

    def _field(self, x: np.ndarray, y: np.ndarray, z: np.ndarray, t: float, h: np.ndarray | None) -> list:
        """−∂E/∂n − h at the (unnormalised) direction (x, y, z) and time t (Γ)."""
        magnet = self.cfg.magnet
        gx = self.field[0] + (magnet.ac_field[0] * np.cos(magnet.ac_field[1] * t) if magnet.ac_field else 0.0)
        gz = magnet.KV * z + self.field[2]
        gx = np.full_like(x, gx) if h is None else gx - h[0]
        gy = np.full_like(x, self.field[1]) if h is None else self.field[1] - h[1]
        if h is not None:
            gz -= h[2]
        if magnet.K_cubic != 0.0:
            axes = self.cubic_axes
            proj = [axes[i, 0] * x + axes[i, 1] * y + axes[i, 2] * z for i in range(3)]
            sq = [p * p for p in proj]
            for i in range(3):
                coef = -2.0 * magnet.K_cubic * proj[i] * (sq[(i + 1) % 3] + sq[(i + 2) % 3])
                gx += coef * axes[i, 0]
                gy += coef * axes[i, 1]
                gz += coef * axes[i, 2]
        return [gx, gy, gz]

    def _rhs(self, n: list, a: list | None, fl, dl, t: float, h: np.ndarray | None) -> tuple[list, np.ndarray]:
        """dn/dt (explicit LL form) and |n|²; ``a`` is the source direction (None: e_z)."""
        x, y, z = n
        px, py, pz = self._field(x, y, z, t, h)
        if a is None:
            px += dl * y
            py -= dl * x
            pz += fl
        else:
            ax, ay, az = a
            px += fl * ax + dl * (y * az - z * ay)
            py += fl * ay + dl * (z * ax - x * az)
            pz += fl * az + dl * (x * ay - y * ax)
        dot = x * px + y * py + z * pz
        norm_sq = x * x + y * y + z * z
        cp, cd = self.c_prec, self.c_damp
        fx = cp * (y * pz - z * py) - cd * (x * dot - px * norm_sq)
        fy = cp * (z * px - x * pz) - cd * (y * dot - py * norm_sq)
        fz = cp * (x * py - y * px) - cd * (z * dot - pz * norm_sq)
        return [fx, fy, fz], norm_sq

    def _step(self, k: int, h_drain: np.ndarray | None, h_source: np.ndarray | None) -> None:
        cfg = self.cfg
        dt = cfg.dt
        t0, t1 = k * dt, (k + 1) * dt
        averaging = 0 <= cfg.average_start_step <= k
        n = [self.n[0], self.n[1], self.n[2]]
        both = cfg.both_free
        m = [self.m[0], self.m[1], self.m[2]] if both else None
        cos0 = n[2] if m is None else n[0] * m[0] + n[1] * m[1] + n[2] * m[2]
        fl, dl, ic, theta, fls, dls = self._stage_coefficients(cos0, averaging)
        if averaging:
            self.sum_theta += theta
            self.sum_charge_current += ic
        f1, _ = self._rhs(n, m, fl, dl, t0, h_drain)
        n_p = [n[i] + dt * f1[i] for i in range(3)]
        if both:
            assert m is not None  # both free: the source direction
            g1, _ = self._rhs(m, n, fls, dls, t0, h_source)
            m_p = [m[i] + dt * g1[i] for i in range(3)]
            m_norm_sq = m_p[0] * m_p[0] + m_p[1] * m_p[1] + m_p[2] * m_p[2]
            n_norm_sq = n_p[0] * n_p[0] + n_p[1] * n_p[1] + n_p[2] * n_p[2]
            cos1 = (n_p[0] * m_p[0] + n_p[1] * m_p[1] + n_p[2] * m_p[2]) / np.sqrt(n_norm_sq * m_norm_sq)
        else:
            cos1 = n_p[2] / np.sqrt(n_p[0] * n_p[0] + n_p[1] * n_p[1] + n_p[2] * n_p[2])
        fl, dl, _, _, fls, dls = self._stage_coefficients(cos1, False)
        f2, _ = self._rhs(n_p, m_p if both else None, fl, dl, t1, h_drain)
        half_dt = 0.5 * dt
        for i in range(3):
            self.n[i] += half_dt * (f1[i] + f2[i])
        norm_sq = self.n[0] * self.n[0] + self.n[1] * self.n[1] + self.n[2] * self.n[2]
        self.n /= np.sqrt(norm_sq)
        self.last_norm_sq = norm_sq
        if both:
            g2, _ = self._rhs(m_p, n_p, fls, dls, t1, h_source)
            for i in range(3):
                self.m[i] += half_dt * (g1[i] + g2[i])
            self.m /= np.sqrt(self.m[0] * self.m[0] + self.m[1] * self.m[1] + self.m[2] * self.m[2])
            u = self.n[0] * self.m[0] + self.n[1] * self.m[1] + self.n[2] * self.m[2]
        else:
            u = self.n[2]
        self._record(k + 1, u)

    def _record(self, k_new: int, u: np.ndarray) -> None:
        """Hysteretic P/AP switching (docs/physics.md §10) and decimated θ samples after reaching step k_new."""
        switched = self.state * u < -self.cfg.switch_threshold
        if switched.any():
            idx = np.flatnonzero(switched)
            dwell = k_new - self.last_switch_step[idx]
            was_parallel = self.state[idx] > 0
            self.steps_in_parallel[idx[was_parallel]] += dwell[was_parallel]
            self.steps_in_antiparallel[idx[~was_parallel]] += dwell[~was_parallel]
            self.last_switch_step[idx] = k_new
            self.n_switches[idx] += 1
            first = self.first_switch_step[idx]
            self.first_switch_step[idx] = np.where(first < 0, k_new, first)
            self.state[idx] = -self.state[idx]
        every = self.cfg.sample_every
        if every and k_new % every == 0:
            ids = self.cfg.sample_trajectories
            column = k_new // every
            self.samples[:, column, 0] = np.arccos(np.clip(u[ids], -1.0, 1.0))
            for i in range(3):
                self.samples[:, column, i + 1] = self.n[i, ids]

    # ------------------------------------------------------------------ driver
    def advance(self, n_steps: int) -> int:
        """Run up to ``n_steps`` more steps (never past steps_total); returns the steps taken."""
        cfg = self.cfg
        start = self.steps_done
        end = min(start + max(int(n_steps), 0), cfg.steps_total)
        block = max(1, NOISE_BLOCK_ELEMENTS // cfg.n_traj)
        scale = cfg.noise_scale
        ids = cfg.global_ids
        k = start
        while k < end:
            n_block = min(block, end - k)
            noise = source_noise = None
            if scale > 0.0:
                noise = noise_block_for_ids(cfg.key, k, n_block, ids, scale)
                if cfg.both_free:
                    source_noise = noise_block_for_ids(cfg.key, k, n_block, ids, scale, SOURCE_STREAM_BIT)
            for b in range(n_block):
                self._step(
                    k + b,
                    None if noise is None else noise[:, b],
                    None if source_noise is None else source_noise[:, b],
                )
            k += n_block
            self.steps_done = k
        self._check_health()
        return end - start

    def _check_health(self) -> None:
        bad = ~np.all(np.isfinite(self.n), axis=0) | (np.abs(self.last_norm_sq - 1.0) > NORM_DRIFT_LIMIT)
        if self.cfg.both_free:
            bad |= ~np.all(np.isfinite(self.m), axis=0)
        if bad.any():
            ids = self.cfg.global_ids[np.flatnonzero(bad)]
            raise RuntimeError(
                f"LLG integration failed (NaN or |n| drift > 5% in one step) at step {self.steps_done} "
                f"for trajectory ids {ids[:20].tolist()}{' ...' if ids.size > 20 else ''}; reduce dt"
            )

// The advance loop: stochastic Heun with renormalisation (docs/physics.md §6.2), hysteretic P/AP
// switching and decimated samples (§10). Mirrors NumpyEngine._step/_record of
// gpuqd/dynamics/engines/numpy_engine.py step for step. Units: energies in Γ, times in 1/Γ.
// One step of one trajectory is llg_heun_step; two drivers call it:
// * llg_advance_trajectory: one trajectory for many steps (one CUDA thread; the scalar host build);
// * llg_advance_lanes (host only): a block of trajectories ("lanes") in the inner loop, vectorised
//   across trajectories (#pragma GCC ivdep); the rare per-lane events (switches, samples) are done
//   after the lane loop, so the lane loop has no divergent branches.
// Both drivers perform the same IEEE operations per trajectory, so the results are bit-identical.
// With a free source (LLG_BOTH_FREE) the source m is pushed by its own torque coefficients
// (FL_S, DL_S), the transverse spin current into the source (docs/physics.md §6.1).
#pragma once
#include "target.cuh"
#include "llg_layout.cuh"
#include "philox.cuh"
#include "table.cuh"
#include "llg_rhs.cuh"

// θ sample (rare: every sample_every steps of a few trajectories), kept out of the step loop's code:
// column k_new / sample_every of the trajectory's row ``slot``.
// (Arguments by value: a pointer into the thread's state would move that state to local memory.)
__device__ __noinline__ void llg_write_sample(double* __restrict__ samples, int slot, long long n_samples,
                                              long long k_new, long long sample_every, double u, double nx,
                                              double ny, double nz) {
    double* out = samples + LLG_SAMPLE_WIDTH * ((long long)slot * n_samples + k_new / sample_every);
    out[0] = acos(fmin(fmax(u, -1.0), 1.0));
    out[1] = nx;
    out[2] = ny;
    out[3] = nz;
}

// ---------------------------------------------------------------- switch bookkeeping (docs/physics.md §10)
// Detection: hysteretic switch P <-> AP when the state's sign disagrees with u beyond the threshold.
template <typename State>  // signed char (the resident state) or double (the host lane driver's copy)
__device__ __forceinline__ bool llg_switch_detected(State state, double u, const LlgParams& p) {
    return state * u < -p.u_s;
}

// Bookkeeping of one switch of trajectory j at step k_new from ``old_state`` (rare: read and written in
// place, gpuqd.dynamics.layout: not resident). The caller flips the resident state.
__device__ __forceinline__ void llg_record_switch(int j, long long k_new, signed char old_state,
                                                  long long* __restrict__ state_n_switches,
                                                  long long* __restrict__ state_first_switch_step,
                                                  long long* __restrict__ state_last_switch_step,
                                                  long long* __restrict__ state_steps_in_parallel,
                                                  long long* __restrict__ state_steps_in_antiparallel) {
    const long long dwell = k_new - state_last_switch_step[j];
    if (old_state > 0) state_steps_in_parallel[j] += dwell;
    else state_steps_in_antiparallel[j] += dwell;
    state_last_switch_step[j] = k_new;
    state_n_switches[j] += 1;
    if (state_first_switch_step[j] < 0) state_first_switch_step[j] = k_new;
}
#define LLG_SWITCH_ARGS                                                                                       \
    state_n_switches, state_first_switch_step, state_last_switch_step, state_steps_in_parallel,              \
        state_steps_in_antiparallel
// ---------------------------------------------------------------- end of switch bookkeeping

// The offset of the trajectory's torque-table row (its point) and its global id (the noise counter):
// explicit ids (compacted ensembles) or offset + j.
__device__ __forceinline__ long long llg_table_row(const long long* __restrict__ point_index, int j, int n_theta) {
#if LLG_USE_TABLE
    return point_index[j] * (long long)n_theta * LLG_TABLE_WIDTH;
#else
    (void)point_index;
    (void)j;
    (void)n_theta;
    return 0;
#endif
}

__device__ __forceinline__ unsigned long long llg_trajectory_id(const long long* __restrict__ traj_ids,
                                                                int has_traj_ids, unsigned long long traj_offset,
                                                                int j) {
    return has_traj_ids ? (unsigned long long)traj_ids[j] : traj_offset + (unsigned long long)j;
}

// AC field h_x cos(Ω t) at the start of step k (t = k·dt exactly as in the NumPy engine); 0 without AC.
__device__ __forceinline__ double llg_ac_field(long long k, const LlgParams& p) {
#if LLG_HAS_AC
    return p.ac_amp * cos(p.ac_omega * ((double)k * p.dt));
#else
    (void)k;
    (void)p;
    return 0.0;
#endif
}

// One stochastic Heun step k of one trajectory (state s, torque-table row at ``row`` in ``table``, noise
// id ``traj``):
// ac0/ac1 the AC field at the start/end of the step, ``averaging`` whether the window sums run.
// Returns u (n·e_z, or n·m with a free source) after the step; norm_sq = |n|² before renormalising.
__device__ __forceinline__ double llg_heun_step(LlgTrajState& s, long long k, unsigned long long traj,
                                                const double* __restrict__ table, long long row, int n_theta,
                                                const LlgParams& p,
                                                unsigned int key0, unsigned int key1, bool averaging,
                                                double ac0, double ac1, double& norm_sq) {
    double* n = s.n;
    double* m = s.m;
    const double dt = p.dt, half_dt = 0.5 * p.dt;
    float h[3] = {0.0f, 0.0f, 0.0f};  // the step's normals (thermal field / noise_scale)
#if LLG_BOTH_FREE
    float hs[3] = {0.0f, 0.0f, 0.0f};
#endif
#if LLG_HAS_NOISE
    thermal_normals(k, traj, 0u, key0, key1, h);
#if LLG_BOTH_FREE
    thermal_normals(k, traj, SOURCE_STREAM_BIT, key0, key1, hs);
#endif
#else
    (void)k;
    (void)traj;
    (void)key0;
    (void)key1;
#endif
    LlgTorque q;
    double ic = 0.0;
#if LLG_BOTH_FREE
    const double cos0 = n[0] * m[0] + n[1] * m[1] + n[2] * m[2];
#else
    const double cos0 = n[2];
#endif
    const double theta = torque_coefficients(cos0, table, row, n_theta, p, true, averaging, q, ic);
    if (averaging) {
        s.sum_theta += theta;
        s.sum_charge_current += ic;
    }
    double f1[3], f2[3], np_[3];
    llg_rhs(n, m, q.fl, q.dl, ac0, h, p, f1);
#pragma unroll
    for (int i = 0; i < 3; ++i) np_[i] = n[i] + dt * f1[i];
#if LLG_BOTH_FREE
    double g1[3], g2[3], mp[3];
    llg_rhs(m, n, q.fl_s, q.dl_s, ac0, hs, p, g1);
#pragma unroll
    for (int i = 0; i < 3; ++i) mp[i] = m[i] + dt * g1[i];
    const double mp_sq = mp[0] * mp[0] + mp[1] * mp[1] + mp[2] * mp[2];
    const double np_sq = np_[0] * np_[0] + np_[1] * np_[1] + np_[2] * np_[2];
    const double cos1 = (np_[0] * mp[0] + np_[1] * mp[1] + np_[2] * mp[2]) * llg_rsqrt(np_sq * mp_sq);
#else
    const double* mp = m;
    const double cos1 = np_[2] * llg_rsqrt(np_[0] * np_[0] + np_[1] * np_[1] + np_[2] * np_[2]);
#endif
    torque_coefficients(cos1, table, row, n_theta, p, false, false, q, ic);
    llg_rhs(np_, mp, q.fl, q.dl, ac1, h, p, f2);
#pragma unroll
    for (int i = 0; i < 3; ++i) n[i] += half_dt * (f1[i] + f2[i]);
    norm_sq = n[0] * n[0] + n[1] * n[1] + n[2] * n[2];
    const double inv_norm = llg_rsqrt(norm_sq);
#pragma unroll
    for (int i = 0; i < 3; ++i) n[i] *= inv_norm;
#if LLG_BOTH_FREE
    llg_rhs(mp, np_, q.fl_s, q.dl_s, ac1, hs, p, g2);
#pragma unroll
    for (int i = 0; i < 3; ++i) m[i] += half_dt * (g1[i] + g2[i]);
    const double inv_m_norm = llg_rsqrt(m[0] * m[0] + m[1] * m[1] + m[2] * m[2]);
#pragma unroll
    for (int i = 0; i < 3; ++i) m[i] *= inv_m_norm;
    return n[0] * m[0] + n[1] * m[1] + n[2] * m[2];
#else
    return n[2];
#endif
}

// Sample schedule of a launch (the same for every trajectory): steps until the first sample step
// (k_new a multiple of sample_every) and the period; −1: none in this launch. No division in the loop
// (int: launches are at most INT_MAX steps, so a count beyond that is never reached in this launch).
__device__ __forceinline__ void llg_sample_schedule(long long step_start, long long sample_every, int n_steps,
                                                    int& until_sample, int& sample_period) {
    const long long first_sample = sample_every > 0 ? sample_every - step_start % sample_every : -1;
    until_sample = first_sample > 0 && first_sample <= n_steps ? (int)first_sample : -1;
    sample_period = sample_every > 0 && sample_every <= n_steps ? (int)sample_every : -1;
}

// One trajectory j for n_steps steps (one CUDA thread; the scalar host driver).
__device__ __forceinline__ void llg_advance_trajectory(const int j, LLG_TRAJECTORY_PARAMS) {
    const LlgParams& p = params;  // the GPU reads it in place from the kernel-parameter bank
    const long long row = llg_table_row(point_index, j, n_theta);
    const unsigned long long traj = llg_trajectory_id(traj_ids, has_traj_ids, traj_offset, j);
    LlgTrajState s;
    llg_state_load(s, j, n_traj, LLG_STATE_ARGS);
    const int slot = sample_slot[j];
    // AC field at the start of the first step; the end of step k is the start of step k + 1, so one
    // cosine per step
    double ac0 = llg_ac_field(step_start, p);
    int until_sample, sample_period;
    llg_sample_schedule(step_start, sample_every, n_steps, until_sample, sample_period);

    for (int step = 0; step < n_steps; ++step) {
        const long long k = step_start + step;
        const double ac1 = llg_ac_field(k + 1, p);
        const bool averaging = average_start >= 0 && k >= average_start;
        double norm_sq;
        const double u = llg_heun_step(s, k, traj, table, row, n_theta, p, key0, key1, averaging, ac0, ac1, norm_sq);
        if (step + 1 == n_steps) last_norm_sq[j] = norm_sq;  // |n|² before the last renormalisation
        ac0 = ac1;
        const long long k_new = k + 1;
        if (llg_switch_detected(s.state, u, p)) {
            llg_record_switch(j, k_new, s.state, LLG_SWITCH_ARGS);
            s.state = (signed char)(-s.state);
        }
        if (--until_sample == 0) {
            until_sample = sample_period;
            if (slot >= 0) {
                llg_write_sample(samples, slot, n_samples, k_new, sample_every, u, s.n[0], s.n[1], s.n[2]);
            }
        }
    }

    llg_state_store(s, j, n_traj, LLG_STATE_ARGS);
}

#if !LLG_DEVICE_TARGET
// Host driver: trajectories j0 … j0 + lanes − 1 (lanes ≤ LLG_HOST_MAX_LANES) for n_steps steps, the
// trajectories in the inner loop. The state stays in the engine's component-major arrays (contiguous
// in j, so every lane loop reads and writes whole vectors); the lane loop carries no branch that
// differs between lanes: switches and samples are flagged there and handled after it, lane by lane.
#ifndef LLG_HOST_MAX_LANES
#define LLG_HOST_MAX_LANES 128
#endif
// The P/AP state (±1) of the lanes is read and written through ``LaneState``: the engine's int8 array in
// place for blocks of a whole number of LLG_HOST_NARROW_LANES, a copy in doubles for the rest. The narrowest
// type in the lane loop sets its vector width: with the int8 state, 64 lanes per AVX-512 register (each
// double spans 8 registers: the most independent work per instruction, the fastest full blocks), and a
// block of fewer lanes would run its remainder in scalar code; with every value 8 bytes wide, 8 lanes per
// register and at most 7 in scalar code. (llg_state_load_wide leaves the state to the caller.)
#ifndef LLG_HOST_NARROW_LANES
#define LLG_HOST_NARROW_LANES 64
#endif
// Step k of lanes j0 … j0 + lanes − 1: the vectorised lane loop. ``averaging`` is a literal at each call
// (the loop is compiled once per value: no branch on it inside the loop). Each lane's u and whether it
// switched go to u_lane and switched.
template <typename LaneState>
__device__ __forceinline__ void llg_lanes_step(const int j0, const int lanes, const long long k, const bool averaging,
                                               const double ac0, const double ac1,
                                               const unsigned long long* __restrict__ traj_lane,
                                               const long long* __restrict__ row_lane, double* __restrict__ u_lane,
                                               LaneState* __restrict__ state_lane, long long* __restrict__ switched,
                                               LLG_TRAJECTORY_PARAMS) {
    const LlgParams& p = params;
    // (GCC ivdep rather than omp simd: omp simd would privatise the lane's state struct into an
    // array that is not split into registers)
#pragma GCC ivdep
    for (int l = 0; l < lanes; ++l) {
        const int j = j0 + l;
        LlgTrajState s;
        llg_state_load_wide(s, j, n_traj, LLG_STATE_ARGS);
        double norm_sq;
        const double u =
            llg_heun_step(s, k, traj_lane[l], table, row_lane[l], n_theta, p, key0, key1, averaging, ac0, ac1, norm_sq);
        last_norm_sq[j] = norm_sq;  // the last step's value remains: |n|² before the last renormalisation
        const double state = state_lane[l];
        const long long flip = llg_switch_detected(state, u, p) ? 1 : 0;
        state_lane[l] = (LaneState)(flip ? -state : state);
        llg_state_store_wide(s, j, n_traj, LLG_STATE_ARGS);
        u_lane[l] = u;
        switched[l] = flip;
    }
}

template <typename LaneState>
__device__ __forceinline__ void llg_advance_lanes_with(const int j0, const int lanes,
                                                       LaneState* __restrict__ state_lane, LLG_TRAJECTORY_PARAMS) {
    const LlgParams& p = params;
    double u_lane[LLG_HOST_MAX_LANES];
    long long switched[LLG_HOST_MAX_LANES];
    // per-lane constants, gathered once (no conditional loads in the lane loop)
    unsigned long long traj_lane[LLG_HOST_MAX_LANES];
    long long row_lane[LLG_HOST_MAX_LANES];
    for (int l = 0; l < lanes; ++l) {
        traj_lane[l] = llg_trajectory_id(traj_ids, has_traj_ids, traj_offset, j0 + l);
        row_lane[l] = llg_table_row(point_index, j0 + l, n_theta);
    }
    double ac0 = llg_ac_field(step_start, p);
    int until_sample, sample_period;
    llg_sample_schedule(step_start, sample_every, n_steps, until_sample, sample_period);

    for (int step = 0; step < n_steps; ++step) {
        const long long k = step_start + step;
        const double ac1 = llg_ac_field(k + 1, p);
        const bool averaging = average_start >= 0 && k >= average_start;
        if (averaging) {
            llg_lanes_step(j0, lanes, k, true, ac0, ac1, traj_lane, row_lane, u_lane, state_lane, switched,
                           LLG_KERNEL_ARGS);
        } else {
            llg_lanes_step(j0, lanes, k, false, ac0, ac1, traj_lane, row_lane, u_lane, state_lane, switched,
                           LLG_KERNEL_ARGS);
        }
        long long any_switch = 0;
        for (int l = 0; l < lanes; ++l) any_switch |= switched[l];
        ac0 = ac1;
        const long long k_new = k + 1;
        if (any_switch) {
            for (int l = 0; l < lanes; ++l) {
                if (switched[l]) llg_record_switch(j0 + l, k_new, (signed char)(-state_lane[l]), LLG_SWITCH_ARGS);
            }
        }
        if (--until_sample == 0) {
            until_sample = sample_period;
            for (int l = 0; l < lanes; ++l) {
                const int j = j0 + l, slot = sample_slot[j];
                if (slot >= 0) {
                    llg_write_sample(samples, slot, n_samples, k_new, sample_every, u_lane[l], state_n[j],
                                     state_n[(long long)n_traj + j], state_n[2 * (long long)n_traj + j]);
                }
            }
        }
    }
}

// Host driver entry: the whole multiples of LLG_HOST_NARROW_LANES with the int8 state in place, the rest
// (fewer lanes) with a copy in doubles. The same operations per trajectory either way.
__device__ __forceinline__ void llg_advance_lanes(const int j0, const int lanes, LLG_TRAJECTORY_PARAMS) {
    const int whole = lanes / LLG_HOST_NARROW_LANES * LLG_HOST_NARROW_LANES;
    if (whole > 0) llg_advance_lanes_with(j0, whole, state_state + j0, LLG_KERNEL_ARGS);
    if (lanes > whole) {
        const int rest = lanes - whole, j1 = j0 + whole;
        double state_lane[LLG_HOST_NARROW_LANES];
        for (int l = 0; l < rest; ++l) state_lane[l] = state_state[j1 + l];
        llg_advance_lanes_with(j1, rest, state_lane, LLG_KERNEL_ARGS);
        for (int l = 0; l < rest; ++l) state_state[j1 + l] = (signed char)state_lane[l];
    }
}
#endif

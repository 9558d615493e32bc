// The advance loop of one trajectory: stochastic Heun with renormalisation (docs/physics.md §6.2),
// hysteretic P/AP switching and decimated samples (§10). Mirrors NumpyEngine._step/_record of
// gpuqd/dynamics/engines/numpy_engine.py step for step. Units: energies in Γ, times in 1/Γ.
// Called once per trajectory j by the CUDA kernel (one thread each) and by the host loop.
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

__device__ __forceinline__ void llg_advance_trajectory(const int j, LLG_TRAJECTORY_PARAMS) {
    const LlgParams& p = params;  // the GPU reads it in place from the kernel-parameter bank

    const double* row = table;
#if LLG_USE_TABLE
    row = table + point_index[j] * (long long)n_theta * LLG_TABLE_WIDTH;
#else
    (void)point_index;
#endif
    // global trajectory id (noise counter): explicit ids (compacted ensembles) or offset + j
    const unsigned long long traj =
        has_traj_ids ? (unsigned long long)traj_ids[j] : traj_offset + (unsigned long long)j;
    (void)traj;
    (void)key0;
    (void)key1;
    LlgTrajState s;
    llg_state_load(s, j, n_traj, LLG_STATE_ARGS);
    double* n = s.n;
    double* m = s.m;
    const int slot = sample_slot[j];
    const double dt = p.dt, half_dt = 0.5 * p.dt;
    // AC field at the start of the first step; the end of step k is the start of step k + 1, so one
    // cosine per step (t = k·dt exactly as in the NumPy engine)
    double ac0 = 0.0;
#if LLG_HAS_AC
    ac0 = p.ac_amp * cos(p.ac_omega * ((double)step_start * dt));
#endif
    // steps until the next sample step (k_new a multiple of sample_every); no division in the loop
    // (int: launches are at most INT_MAX steps, so a count beyond that is never reached in this launch)
    const long long first_sample = sample_every > 0 ? sample_every - step_start % sample_every : -1;
    int until_sample = first_sample > 0 && first_sample <= n_steps ? (int)first_sample : -1;
    const int sample_period = sample_every > 0 && sample_every <= n_steps ? (int)sample_every : -1;

    for (int step = 0; step < n_steps; ++step) {
        const long long k = step_start + step;
        double ac1 = 0.0;
#if LLG_HAS_AC
        ac1 = p.ac_amp * cos(p.ac_omega * ((double)(k + 1) * dt));
#endif
        float h[3] = {0.0f, 0.0f, 0.0f};  // the step's normals (thermal field / noise_scale)
#if LLG_BOTH_FREE
        float hs[3] = {0.0f, 0.0f, 0.0f};
#endif
#if LLG_HAS_NOISE
        thermal_normals(k, traj, 0u, key0, key1, h);
#if LLG_BOTH_FREE
        thermal_normals(k, traj, SOURCE_STREAM_BIT, key0, key1, hs);
#endif
#endif
        const bool averaging = average_start >= 0 && k >= average_start;
        LlgTorque q;
        double ic = 0.0;
#if LLG_BOTH_FREE
        const double cos0 = n[0] * m[0] + n[1] * m[1] + n[2] * m[2];
#else
        const double cos0 = n[2];
#endif
        const double theta = torque_coefficients(cos0, row, n_theta, p, true, averaging, q, ic);
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
        torque_coefficients(cos1, row, n_theta, p, false, false, q, ic);
        llg_rhs(np_, mp, q.fl, q.dl, ac1, h, p, f2);
#pragma unroll
        for (int i = 0; i < 3; ++i) n[i] += half_dt * (f1[i] + f2[i]);
        const double norm_sq = n[0] * n[0] + n[1] * n[1] + n[2] * n[2];
        if (step + 1 == n_steps) last_norm_sq[j] = norm_sq;  // |n|² before the last renormalisation
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
        const double u = n[0] * m[0] + n[1] * m[1] + n[2] * m[2];
#else
        const double u = n[2];
#endif
        ac0 = ac1;
        const long long k_new = k + 1;
        if (s.state * u < -p.u_s) {  // hysteretic switch P <-> AP (docs/physics.md §10)
            // rare: the bookkeeping is read and written in place (gpuqd.dynamics.layout: not resident)
            const long long dwell = k_new - state_last_switch_step[j];
            if (s.state > 0) state_steps_in_parallel[j] += dwell;
            else state_steps_in_antiparallel[j] += dwell;
            state_last_switch_step[j] = k_new;
            state_n_switches[j] += 1;
            if (state_first_switch_step[j] < 0) state_first_switch_step[j] = k_new;
            s.state = (signed char)(-s.state);
        }
        if (--until_sample == 0) {
            until_sample = sample_period;
            if (slot >= 0) {
                llg_write_sample(samples, slot, n_samples, k_new, sample_every, u, n[0], n[1], n[2]);
            }
        }
    }

    llg_state_store(s, j, n_traj, LLG_STATE_ARGS);
}

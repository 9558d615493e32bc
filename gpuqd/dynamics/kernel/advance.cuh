// The advance loop of one trajectory: stochastic Heun with renormalisation (docs/physics.md §6.2),
// hysteretic P/AP switching and decimated samples (§10). Mirrors NumpyEngine._step/_record of
// gpuqd/dynamics/numpy_backend.py step for step. Units: energies in Γ, times in 1/Γ.
// Called once per trajectory j by the CUDA kernel (one thread each) and by the host loop.
#pragma once
#include "target.cuh"
#include "llg_layout.cuh"
#include "philox.cuh"
#include "table.cuh"
#include "llg_rhs.cuh"

__device__ __forceinline__ void llg_advance_trajectory(const int j, LLG_KERNEL_PARAMS) {
    LlgParams p;
    llg_load_params(params, p);

    const double* row = table;
#if LLG_USE_TABLE
    row = table + point_index[j] * 3LL * n_theta;
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
    double norm_sq = 1.0;
    const double dt = p.dt, half_dt = 0.5 * p.dt;

    for (int step = 0; step < n_steps; ++step) {
        const long long k = step_start + step;
        const double t0 = (double)k * dt, t1 = (double)(k + 1) * dt;
        double h[3] = {0.0, 0.0, 0.0};
#if LLG_BOTH_FREE
        double hs[3] = {0.0, 0.0, 0.0};
#endif
#if LLG_HAS_NOISE
        thermal_field(k, traj, 0u, key0, key1, p.noise_scale, h);
#if LLG_BOTH_FREE
        thermal_field(k, traj, SOURCE_STREAM_BIT, key0, key1, p.noise_scale, hs);
#endif
#endif
        double fl, dl, ic, theta;
#if LLG_BOTH_FREE
        const double cos0 = n[0] * m[0] + n[1] * m[1] + n[2] * m[2];
#else
        const double cos0 = n[2];
#endif
        torque_coefficients(cos0, row, n_theta, p, fl, dl, ic, theta);
        if (average_start >= 0 && k >= average_start) {
            s.sum_theta += theta;
            s.sum_charge_current += ic;
        }
        double f1[3], f2[3], np_[3];
        llg_rhs(n, m, fl, dl, t0, h, p, f1);
#pragma unroll
        for (int i = 0; i < 3; ++i) np_[i] = n[i] + dt * f1[i];
#if LLG_BOTH_FREE
        double g1[3], g2[3], mp[3];
        llg_rhs(m, n, fl, dl, t0, hs, p, g1);
#pragma unroll
        for (int i = 0; i < 3; ++i) mp[i] = m[i] + dt * g1[i];
        const double mp_sq = mp[0] * mp[0] + mp[1] * mp[1] + mp[2] * mp[2];
        const double np_sq = np_[0] * np_[0] + np_[1] * np_[1] + np_[2] * np_[2];
        const double cos1 = (np_[0] * mp[0] + np_[1] * mp[1] + np_[2] * mp[2]) / sqrt(np_sq * mp_sq);
#else
        const double* mp = m;
        const double cos1 = np_[2] / sqrt(np_[0] * np_[0] + np_[1] * np_[1] + np_[2] * np_[2]);
#endif
        torque_coefficients(cos1, row, n_theta, p, fl, dl, ic, theta);
        llg_rhs(np_, mp, fl, dl, t1, h, p, f2);
#pragma unroll
        for (int i = 0; i < 3; ++i) n[i] += half_dt * (f1[i] + f2[i]);
        norm_sq = n[0] * n[0] + n[1] * n[1] + n[2] * n[2];
        const double norm = sqrt(norm_sq);
#pragma unroll
        for (int i = 0; i < 3; ++i) n[i] /= norm;
#if LLG_BOTH_FREE
        llg_rhs(mp, np_, fl, dl, t1, hs, p, g2);
#pragma unroll
        for (int i = 0; i < 3; ++i) m[i] += half_dt * (g1[i] + g2[i]);
        const double m_norm = sqrt(m[0] * m[0] + m[1] * m[1] + m[2] * m[2]);
#pragma unroll
        for (int i = 0; i < 3; ++i) m[i] /= m_norm;
        const double u = n[0] * m[0] + n[1] * m[1] + n[2] * m[2];
#else
        const double u = n[2];
#endif
        const long long k_new = k + 1;
        if (s.state * u < -p.u_s) {  // hysteretic switch P <-> AP (docs/physics.md §10)
            if (s.state > 0) s.steps_in_parallel += k_new - s.last_switch_step;
            else s.steps_in_antiparallel += k_new - s.last_switch_step;
            s.last_switch_step = k_new;
            s.n_switches += 1;
            if (s.first_switch_step < 0) s.first_switch_step = k_new;
            s.state = (signed char)(-s.state);
        }
        if (slot >= 0 && sample_every > 0 && k_new % sample_every == 0) {
            double* out = samples + LLG_SAMPLE_WIDTH * ((long long)slot * n_samples + k_new / sample_every);
            out[0] = acos(fmin(fmax(u, -1.0), 1.0));
            out[1] = n[0];
            out[2] = n[1];
            out[3] = n[2];
        }
    }

    llg_state_store(s, j, n_traj, LLG_STATE_ARGS);
    if (n_steps > 0) last_norm_sq[j] = norm_sq;
}

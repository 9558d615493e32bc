// Fused stochastic-Heun LLG kernel (FP64): one thread advances one trajectory for many steps.
// Mirrors gpuqd/dynamics/numpy_backend.py step for step; Philox4x32-10 words are identical to
// gpuqd/dynamics/philox.py. Units: energies in Γ, times in 1/Γ.
//
// Compile-time switches (set with -D by cupy_backend.py):
//   LLG_USE_TABLE  1: torque from a TorqueTable (n_points, 3, n_theta) via 4-point Lagrange in s,
//                  with the log-clustered angle map s(θ) of gpuqd.transport.torque_table
//   LLG_BOTH_FREE  1: the source macrospin m is free as well (mirror-image torque approximation)
//   LLG_HAS_CUBIC  1: cubic anisotropy term
//   LLG_HAS_AC     1: AC drive −h_x cos(Ω t) n_x
//   LLG_HAS_NOISE  1: thermal field (σ² > 0)

#ifndef LLG_USE_TABLE
#define LLG_USE_TABLE 0
#endif
#ifndef LLG_BOTH_FREE
#define LLG_BOTH_FREE 0
#endif
#ifndef LLG_HAS_CUBIC
#define LLG_HAS_CUBIC 0
#endif
#ifndef LLG_HAS_AC
#define LLG_HAS_AC 0
#endif
#ifndef LLG_HAS_NOISE
#define LLG_HAS_NOISE 1
#endif

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u
#define SOURCE_STREAM_BIT 0x80000000u
#define LLG_PI 3.141592653589793
#define LLG_TWO_PI 6.283185307179586
#define LLG_INV_2_32 2.3283064365386963e-10

// Parameter block (doubles), filled by cupy_backend.py in this order.
enum {
    P_C_PREC = 0, P_C_DAMP, P_KV, P_FIELD_X, P_FIELD_Y, P_FIELD_Z, P_AC_AMP, P_AC_OMEGA, P_K_CUBIC,
    P_AXES,  // 9 entries, row-major cubic axes
    P_NOISE_SCALE = P_AXES + 9, P_DT, P_SWITCH_THRESHOLD, P_CONST_FL, P_CONST_DL, P_CONST_IC,
    P_THETA_MIN, P_THETA_MID, P_MAP_SCALE, P_COUNT
};

struct Params {
    double c_prec, c_damp, kv, fx, fy, fz, ac_amp, ac_omega, k_cubic, axes[9];
    double noise_scale, dt, u_s, const_fl, const_dl, const_ic;
    double theta_min, theta_mid, map_scale;  // table angle map constants
};

__device__ __forceinline__ uint4 philox4x32_10(uint4 c, unsigned int k0, unsigned int k1) {
#pragma unroll
    for (int r = 0; r < 10; ++r) {
        const unsigned int hi0 = __umulhi(PHILOX_M0, c.x), lo0 = PHILOX_M0 * c.x;
        const unsigned int hi1 = __umulhi(PHILOX_M1, c.z), lo1 = PHILOX_M1 * c.z;
        c = make_uint4(hi1 ^ c.y ^ k0, lo1, hi0 ^ c.w ^ k1, lo0);
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    return c;
}

// Three scaled normals from one draw (words 0,1 → cos/sin pair, words 2,3 → cos; see philox.py).
__device__ __forceinline__ void thermal_field(long long k, unsigned long long traj, unsigned int stream_bit,
                                              unsigned int key0, unsigned int key1, double scale,
                                              double h[3]) {
    const unsigned long long uk = (unsigned long long)k;
    const uint4 ctr = make_uint4((unsigned int)(uk & 0xFFFFFFFFull), (unsigned int)(uk >> 32),
                                 (unsigned int)(traj & 0xFFFFFFFFull),
                                 ((unsigned int)(traj >> 32)) ^ stream_bit);
    const uint4 w = philox4x32_10(ctr, key0, key1);
    const double u0 = ((double)w.x + 1.0) * LLG_INV_2_32;
    const double u1 = ((double)w.y + 1.0) * LLG_INV_2_32;
    const double u2 = ((double)w.z + 1.0) * LLG_INV_2_32;
    const double u3 = ((double)w.w + 1.0) * LLG_INV_2_32;
    const double r01 = sqrt(-2.0 * log(u0));
    const double r2 = sqrt(-2.0 * log(u2));
    const double a01 = LLG_TWO_PI * u1;
    const double a2 = LLG_TWO_PI * u3;
    h[0] = r01 * cos(a01) * scale;
    h[1] = r01 * sin(a01) * scale;
    h[2] = r2 * cos(a2) * scale;
}

// (I_FL, I_DL, I_C) at cos θ and θ itself; table row = table + point * 3 * n_theta.
__device__ __forceinline__ void torque_coefficients(double cos_theta, const double* __restrict__ row,
                                                    int n_theta, const Params& p, double& fl, double& dl,
                                                    double& ic, double& theta) {
    theta = acos(fmin(fmax(cos_theta, -1.0), 1.0));
#if LLG_USE_TABLE
    // angle map of gpuqd.transport.torque_table.s_of_theta (same operation order)
    const double s = 0.5 + ((theta - 0.5 * LLG_PI) / p.theta_mid
                            + log((p.theta_min + theta) / (p.theta_min + LLG_PI - theta))) / p.map_scale;
    const double x = s * n_theta - 0.5;
    long long i0 = (long long)floor(x) - 1;
    i0 = i0 < 0 ? 0 : (i0 > n_theta - 4 ? n_theta - 4 : i0);
    const double t = x - (double)i0;
    const double w0 = -(t - 1.0) * (t - 2.0) * (t - 3.0) / 6.0;
    const double w1 = t * (t - 2.0) * (t - 3.0) / 2.0;
    const double w2 = -t * (t - 1.0) * (t - 3.0) / 2.0;
    const double w3 = t * (t - 1.0) * (t - 2.0) / 6.0;
    const double* r = row + i0;
    fl = w0 * __ldg(r) + w1 * __ldg(r + 1) + w2 * __ldg(r + 2) + w3 * __ldg(r + 3);
    r += n_theta;
    dl = w0 * __ldg(r) + w1 * __ldg(r + 1) + w2 * __ldg(r + 2) + w3 * __ldg(r + 3);
    r += n_theta;
    ic = w0 * __ldg(r) + w1 * __ldg(r + 1) + w2 * __ldg(r + 2) + w3 * __ldg(r + 3);
#else
    fl = p.const_fl;
    dl = p.const_dl;
    ic = p.const_ic;
#endif
}

// dn/dt (explicit LL form) at direction n (not necessarily normalised) and time t;
// a = source direction (e_z when the source is fixed), h = thermal field.
__device__ __forceinline__ void llg_rhs(const double n[3], const double a[3], double fl, double dl, double t,
                                        const double h[3], const Params& p, double f[3]) {
    const double x = n[0], y = n[1], z = n[2];
    double px = p.fx - h[0], py = p.fy - h[1], pz = p.kv * z + p.fz - h[2];
#if LLG_HAS_AC
    px += p.ac_amp * cos(p.ac_omega * t);
#endif
#if LLG_HAS_CUBIC
    double proj[3], sq[3];
#pragma unroll
    for (int i = 0; i < 3; ++i) {
        proj[i] = p.axes[3 * i] * x + p.axes[3 * i + 1] * y + p.axes[3 * i + 2] * z;
        sq[i] = proj[i] * proj[i];
    }
#pragma unroll
    for (int i = 0; i < 3; ++i) {
        const double coef = -2.0 * p.k_cubic * proj[i] * (sq[(i + 1) % 3] + sq[(i + 2) % 3]);
        px += coef * p.axes[3 * i];
        py += coef * p.axes[3 * i + 1];
        pz += coef * p.axes[3 * i + 2];
    }
#endif
#if LLG_BOTH_FREE
    px += fl * a[0] + dl * (y * a[2] - z * a[1]);
    py += fl * a[1] + dl * (z * a[0] - x * a[2]);
    pz += fl * a[2] + dl * (x * a[1] - y * a[0]);
#else
    px += dl * y;
    py -= dl * x;
    pz += fl;
#endif
    const double dot = x * px + y * py + z * pz;
    const double norm_sq = x * x + y * y + z * z;
    f[0] = p.c_prec * (y * pz - z * py) - p.c_damp * (x * dot - px * norm_sq);
    f[1] = p.c_prec * (z * px - x * pz) - p.c_damp * (y * dot - py * norm_sq);
    f[2] = p.c_prec * (x * py - y * px) - p.c_damp * (z * dot - pz * norm_sq);
}

extern "C" __global__ void llg_heun_advance(
    const double* __restrict__ params, const double* __restrict__ table,
    const long long* __restrict__ point_index, int n_theta,
    double* __restrict__ n_state, double* __restrict__ m_state,
    double* __restrict__ sum_theta, double* __restrict__ sum_ic, signed char* __restrict__ state,
    long long* __restrict__ n_switches, long long* __restrict__ first_switch,
    long long* __restrict__ last_switch, long long* __restrict__ steps_p, long long* __restrict__ steps_ap,
    double* __restrict__ samples, const int* __restrict__ sample_slot, long long n_samples,
    long long sample_every, double* __restrict__ last_norm_sq, long long step_start, int n_steps,
    long long average_start, unsigned long long traj_offset, const long long* __restrict__ traj_ids,
    int has_traj_ids, unsigned int key0, unsigned int key1, int n_traj) {
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= n_traj) return;

    Params p;
    p.c_prec = __ldg(params + P_C_PREC);
    p.c_damp = __ldg(params + P_C_DAMP);
    p.kv = __ldg(params + P_KV);
    p.fx = __ldg(params + P_FIELD_X);
    p.fy = __ldg(params + P_FIELD_Y);
    p.fz = __ldg(params + P_FIELD_Z);
    p.ac_amp = __ldg(params + P_AC_AMP);
    p.ac_omega = __ldg(params + P_AC_OMEGA);
    p.k_cubic = __ldg(params + P_K_CUBIC);
#pragma unroll
    for (int i = 0; i < 9; ++i) p.axes[i] = __ldg(params + P_AXES + i);
    p.noise_scale = __ldg(params + P_NOISE_SCALE);
    p.dt = __ldg(params + P_DT);
    p.u_s = __ldg(params + P_SWITCH_THRESHOLD);
    p.const_fl = __ldg(params + P_CONST_FL);
    p.const_dl = __ldg(params + P_CONST_DL);
    p.const_ic = __ldg(params + P_CONST_IC);
    p.theta_min = __ldg(params + P_THETA_MIN);
    p.theta_mid = __ldg(params + P_THETA_MID);
    p.map_scale = __ldg(params + P_MAP_SCALE);

    const double* row = table;
#if LLG_USE_TABLE
    row = table + point_index[j] * 3LL * n_theta;
#endif
    // global trajectory id (noise counter): explicit ids (compacted ensembles) or offset + j
    const unsigned long long traj =
        has_traj_ids ? (unsigned long long)traj_ids[j] : traj_offset + (unsigned long long)j;
    (void)traj;
    double n[3] = {n_state[j], n_state[n_traj + j], n_state[2 * n_traj + j]};
    double m[3] = {0.0, 0.0, 1.0};
#if LLG_BOTH_FREE
    m[0] = m_state[j];
    m[1] = m_state[n_traj + j];
    m[2] = m_state[2 * n_traj + j];
#endif
    double acc_theta = sum_theta[j], acc_ic = sum_ic[j];
    double st = (double)state[j];
    long long switches = n_switches[j], first = first_switch[j], last = last_switch[j];
    long long in_p = steps_p[j], in_ap = steps_ap[j];
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
            acc_theta += theta;
            acc_ic += ic;
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
        if (st * u < -p.u_s) {  // hysteretic switch P <-> AP (spec §10)
            if (st > 0.0) in_p += k_new - last; else in_ap += k_new - last;
            last = k_new;
            switches += 1;
            if (first < 0) first = k_new;
            st = -st;
        }
        if (slot >= 0 && sample_every > 0 && k_new % sample_every == 0) {
            double* out = samples + 4 * ((long long)slot * n_samples + k_new / sample_every);
            out[0] = acos(fmin(fmax(u, -1.0), 1.0));
            out[1] = n[0];
            out[2] = n[1];
            out[3] = n[2];
        }
    }

    n_state[j] = n[0];
    n_state[n_traj + j] = n[1];
    n_state[2 * n_traj + j] = n[2];
#if LLG_BOTH_FREE
    m_state[j] = m[0];
    m_state[n_traj + j] = m[1];
    m_state[2 * n_traj + j] = m[2];
#endif
    sum_theta[j] = acc_theta;
    sum_ic[j] = acc_ic;
    state[j] = st > 0.0 ? 1 : -1;
    n_switches[j] = switches;
    first_switch[j] = first;
    last_switch[j] = last;
    steps_p[j] = in_p;
    steps_ap[j] = in_ap;
    if (n_steps > 0) last_norm_sq[j] = norm_sq;
}

// Philox words only (cross-backend test of the generator): out[4*i + w] for counters
// (k, traj_offset + i) with k = step, i < n.
extern "C" __global__ void philox_words(unsigned int* __restrict__ out, long long step,
                                        unsigned long long traj_offset, unsigned int key0,
                                        unsigned int key1, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const unsigned long long uk = (unsigned long long)step;
    const unsigned long long traj = traj_offset + (unsigned long long)i;
    const uint4 w = philox4x32_10(make_uint4((unsigned int)(uk & 0xFFFFFFFFull), (unsigned int)(uk >> 32),
                                             (unsigned int)(traj & 0xFFFFFFFFull),
                                             (unsigned int)(traj >> 32)),
                                  key0, key1);
    out[4 * i] = w.x;
    out[4 * i + 1] = w.y;
    out[4 * i + 2] = w.z;
    out[4 * i + 3] = w.w;
}

// Torque coefficients at cos θ: constant, or interpolated in a TorqueTable with the 4-point Lagrange
// stencil and the angle map s(θ) of gpuqd/transport/torque_table.py (docs/physics.md §6.4).
// Table layout (gpuqd.dynamics.layout.TABLE_COLUMNS): row of point p = table + p·n_theta·LLG_TABLE_WIDTH,
// node i of that row at + i·LLG_TABLE_WIDTH; columns (FL, DL) first, then (FL_S, DL_S) when the source
// is free, then I_C; every column pair is one 16-byte double2 load.
#pragma once
#include "target.cuh"
#include "llg_layout.cuh"
#include "angle.cuh"

// Coefficients of one Heun stage: drain (fl, dl), source (fl_s, dl_s; free source only), and θ, I_C
// (first stage only: they feed the window averages).
struct LlgTorque {
    double fl, dl, fl_s, dl_s;
};

// θ = acos(cos θ) (clamped); the table stencil: first node i0 and the cubic Lagrange weights w[4].
// s(θ) as in s_of_theta (angle.cuh); x = s·M − ½, i0 = clip(floor(x) − 1, 0, M − 4), t = x − i0 as in
// lagrange4_weights.
__device__ __forceinline__ double llg_stencil(double cos_theta, int n_theta, const LlgParams& p,
                                              int& i0, double w[4]) {
    const double theta = llg_acos(cos_theta);
    const double s = llg_table_coordinate(theta, p.theta_min, p.theta_min_plus_pi, p.inv_theta_mid,
                                          p.inv_map_scale);
    const double x = s * p.table_nodes - 0.5;
    int i = (int)floor(x) - 1;
    i = i < 0 ? 0 : (i > n_theta - 4 ? n_theta - 4 : i);
    const double t = x - (double)i;
    const double a = t - 1.0, b = t - 2.0, c = t - 3.0;
    const double ab = a * b, tc = t * c;
    w[0] = -(ab * c) * LLG_ONE_SIXTH;
    w[1] = (tc * b) * 0.5;
    w[2] = -(tc * a) * 0.5;
    w[3] = (t * ab) * LLG_ONE_SIXTH;
    i0 = i;
    return theta;
}

// Stage coefficients at cos θ. With ``first`` also θ (returned) and, while averaging, I_C.
__device__ __forceinline__ double torque_coefficients(double cos_theta, const double* __restrict__ row, int n_theta,
                                                      const LlgParams& p, bool first,
                                                      bool averaging, LlgTorque& q, double& ic) {
#if LLG_USE_TABLE
    int i0;
    double w[4];
    const double theta = llg_stencil(cos_theta, n_theta, p, i0, w);
    const double2* node = reinterpret_cast<const double2*>(row + (long long)i0 * LLG_TABLE_WIDTH);
    const int pairs = LLG_TABLE_WIDTH / 2;
    double2 v = __ldg(node);
    q.fl = w[0] * v.x;
    q.dl = w[0] * v.y;
#pragma unroll
    for (int k = 1; k < 4; ++k) {
        v = __ldg(node + k * pairs);
        q.fl += w[k] * v.x;
        q.dl += w[k] * v.y;
    }
#if LLG_BOTH_FREE
    v = __ldg(node + LLG_TABLE_COL_SOURCE_FIELD_LIKE / 2);
    q.fl_s = w[0] * v.x;
    q.dl_s = w[0] * v.y;
#pragma unroll
    for (int k = 1; k < 4; ++k) {
        v = __ldg(node + k * pairs + LLG_TABLE_COL_SOURCE_FIELD_LIKE / 2);
        q.fl_s += w[k] * v.x;
        q.dl_s += w[k] * v.y;
    }
#else
    q.fl_s = 0.0;
    q.dl_s = 0.0;
#endif
    if (first && averaging) {
        const double* c = row + (long long)i0 * LLG_TABLE_WIDTH + LLG_TABLE_COL_CHARGE_CURRENT;
        ic = w[0] * __ldg(c);
#pragma unroll
        for (int k = 1; k < 4; ++k) ic += w[k] * __ldg(c + k * LLG_TABLE_WIDTH);
    }
    return theta;
#else
    (void)row;
    (void)n_theta;
    q.fl = p.const_fl;
    q.dl = p.const_dl;
    q.fl_s = p.const_fl_s;
    q.dl_s = p.const_dl_s;
    ic = p.const_ic;
    return (first && averaging) ? llg_acos(cos_theta) : 0.0;
#endif
}

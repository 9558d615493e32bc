// Torque coefficients at cos θ: constant, or interpolated in a TorqueTable with the 4-point Lagrange
// stencil and the angle map s(θ) of gpuqd/transport/torque_table.py (docs/physics.md §6.4).
// Table layout (gpuqd.dynamics.layout.TABLE_COLUMNS): row of point p at offset p·n_theta·LLG_TABLE_WIDTH,
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
    // the clip in floating point (integers, exact) with selects, no branch; NaN gives node 0 as before
    const double last = (double)(n_theta - 4);
    double first_node = llg_floor(x) - 1.0;
    first_node = llg_select(!(first_node >= 0.0), 0.0, first_node);
    first_node = llg_select(first_node > last, last, first_node);
    const int i = (int)first_node;
    const double t = x - first_node;
    const double a = t - 1.0, b = t - 2.0, c = t - 3.0;
    const double ab = a * b, tc = t * c;
    w[0] = -(ab * c) * LLG_ONE_SIXTH;
    w[1] = (tc * b) * 0.5;
    w[2] = -(tc * a) * 0.5;
    w[3] = (t * ab) * LLG_ONE_SIXTH;
    i0 = i;
    return theta;
}

// Columns c, c + 1 of the table at ``offset`` (c even): one 16-byte load on the GPU; two loads on the host,
// each a gather from the table base when vectorised across trajectories.
__device__ __forceinline__ double2 llg_table_pair(const double* __restrict__ table, long long offset) {
#if LLG_DEVICE_TARGET
    return __ldg(reinterpret_cast<const double2*>(table + offset));
#else
    double2 v;
    v.x = table[offset];
    v.y = table[offset + 1];
    return v;
#endif
}

// Stage coefficients at cos θ. With ``first`` also θ (returned) and, while averaging, I_C.
__device__ __forceinline__ double torque_coefficients(double cos_theta, const double* __restrict__ table,
                                                      long long row_offset, int n_theta,
                                                      const LlgParams& p, bool first,
                                                      bool averaging, LlgTorque& q, double& ic) {
#if LLG_USE_TABLE
    int i0;
    double w[4];
    const double theta = llg_stencil(cos_theta, n_theta, p, i0, w);
    // (the table base plus an offset, not a per-trajectory pointer: the host vectorises this as gathers)
    const long long node_offset = row_offset + (long long)i0 * LLG_TABLE_WIDTH;
    double2 v = llg_table_pair(table, node_offset);
    q.fl = w[0] * v.x;
    q.dl = w[0] * v.y;
#pragma unroll
    for (int k = 1; k < 4; ++k) {
        v = llg_table_pair(table, node_offset + k * LLG_TABLE_WIDTH);
        q.fl += w[k] * v.x;
        q.dl += w[k] * v.y;
    }
#if LLG_BOTH_FREE
    v = llg_table_pair(table, node_offset + LLG_TABLE_COL_SOURCE_FIELD_LIKE);
    q.fl_s = w[0] * v.x;
    q.dl_s = w[0] * v.y;
#pragma unroll
    for (int k = 1; k < 4; ++k) {
        v = llg_table_pair(table, node_offset + k * LLG_TABLE_WIDTH + LLG_TABLE_COL_SOURCE_FIELD_LIKE);
        q.fl_s += w[k] * v.x;
        q.dl_s += w[k] * v.y;
    }
#else
    q.fl_s = 0.0;
    q.dl_s = 0.0;
#endif
    if (first && averaging) {
        const long long c = node_offset + LLG_TABLE_COL_CHARGE_CURRENT;
        ic = w[0] * __ldg(table + c);
#pragma unroll
        for (int k = 1; k < 4; ++k) ic += w[k] * __ldg(table + (c + k * LLG_TABLE_WIDTH));
    }
    return theta;
#else
    (void)table;
    (void)row_offset;
    (void)n_theta;
    q.fl = p.const_fl;
    q.dl = p.const_dl;
    q.fl_s = p.const_fl_s;
    q.dl_s = p.const_dl_s;
    ic = p.const_ic;
    return (first && averaging) ? llg_acos(cos_theta) : 0.0;
#endif
}

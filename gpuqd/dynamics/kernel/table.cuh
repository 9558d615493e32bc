// Torque coefficients (I_FL, I_DL, I_C) at cos θ: constant, or interpolated in a TorqueTable row with
// the 4-point Lagrange stencil and the angle map s(θ) of gpuqd/transport/torque_table.py
// (docs/physics.md §6.4). Table row = table + point * 3 * n_theta, rows FL, DL, I_C.
#pragma once
#include "target.cuh"
#include "llg_layout.cuh"

__device__ __forceinline__ void torque_coefficients(double cos_theta, const double* __restrict__ row,
                                                    int n_theta, const LlgParams& p, double& fl, double& dl,
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
    (void)row;
    (void)n_theta;
    fl = p.const_fl;
    dl = p.const_dl;
    ic = p.const_ic;
#endif
}

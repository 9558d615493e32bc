// θ = acos(cos θ) and the table coordinate s(θ) of gpuqd.transport.torque_table.s_of_theta in FP64,
// with a fraction of the instructions of the CUDA math library (docs/physics.md §6.4, table layout):
// polynomials whose coefficients sit in constant memory (DFMA operands, no per-use register loads),
// exponent extraction by bit operations and a refined hardware reciprocal instead of divisions.
// Accuracy (tests/dynamics/test_angle_functions.py, against NumPy's arccos and log, host build): θ within
// 9e-16 rad, s within 3e-16 — rounding level, far below the table's interpolation error.
// The polynomials are Chebyshev interpolants computed in extended precision (80-bit long double):
// asin: (asin √y / √y − 1)/y on y ∈ [0, ¼], degree 11 (relative error of asin ≤ 2e-16);
// atanh: (atanh f / f − 1)/f² on f² ∈ [0, ((√2 − 1)/(√2 + 1))²], degree 6 (≤ 1.3e-16).
#pragma once
#include "target.cuh"
#include "fp64.cuh"

LLG_CONSTANT_ARRAY double LLG_ASIN_POLY[12] = {
    0.16666666666666954,  0.0749999999991388,   0.044642857213867494, 0.0303819420957616,
    0.022372187500879565, 0.017352991422181958, 0.013953291665347933, 0.011713974425510969,
    0.008522726364899426, 0.01402096390724182,  -0.007534321546554566, 0.02593832015991211};
LLG_CONSTANT_ARRAY double LLG_ATANH_POLY[7] = {0.33333333333332515, 0.20000000000744086, 0.14285714097105756,
                                               0.11111130708933198, 0.09090021283690003, 0.07704535476515448,
                                               0.06904031049655894};

// acos(c), c clamped to [−1, 1]: |c| ≤ ½: π/2 − asin c; |c| > ½: 2 asin √((1 − |c|)/2) (mirrored for
// c < 0). One polynomial evaluation for all three branches; every candidate is computed and one selected
// (no branch: no divergence on the GPU, vectorisable across trajectories on the host).
__device__ __forceinline__ double llg_acos(double c) {
    const double a = llg_select(fabs(c) > 1.0, 1.0, fabs(c));
    const bool big = a > 0.5;
    const double y_big = 0.5 - 0.5 * a, y_small = a * a;
    const double y = llg_select(big, y_big, y_small);
#if LLG_DEVICE_TARGET
    const double x = big ? llg_sqrt(y_big) : a;  // the square root only where needed (warp-uniform mostly)
#else
    const double x = llg_select(big, llg_sqrt(y_big), a);  // both computed: vectorisable
#endif
    double p = LLG_ASIN_POLY[11];
#pragma unroll
    for (int i = 10; i >= 0; --i) p = llg_fma(p, y, LLG_ASIN_POLY[i]);
    const double r = llg_fma(x * y, p, x);  // asin x
    const double r2 = 2.0 * r;
    const bool positive = c > 0.0;
    const double acos_big = llg_select(positive, r2, LLG_PI - r2);
    const double acos_small = llg_select(positive, LLG_HALF_PI - r, LLG_HALF_PI + r);
    return llg_select(big, acos_big, acos_small);
}

// ln x for a normal positive x: x = m·2^e with m ∈ (√½, √2], ln m = 2 atanh((m − 1)/(m + 1)).
__device__ __forceinline__ double llg_log(double x) {
#if LLG_DEVICE_TARGET
    const int hi = __double2hiint(x), lo = __double2loint(x);
    double m = __hiloint2double((hi & 0x000FFFFF) | 0x3FF00000, lo);
#else
    unsigned long long bits;
    memcpy(&bits, &x, sizeof bits);
    const int hi = (int)(bits >> 32);
    bits = (bits & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull;
    double m;
    memcpy(&m, &bits, sizeof m);
#endif
    double e = (double)((hi >> 20) - 1023);
    // m ∈ (√½, √2]: both candidates computed, one selected (no branch)
    const bool halve = m > LLG_SQRT2;
    const double m_half = m * 0.5, e_plus = e + 1.0;
    m = llg_select(halve, m_half, m);
    e = llg_select(halve, e_plus, e);
    const double f = (m - 1.0) * llg_recip(m + 1.0);
    const double f2 = f * f;
    double p = LLG_ATANH_POLY[6];
#pragma unroll
    for (int i = 5; i >= 0; --i) p = llg_fma(p, f2, LLG_ATANH_POLY[i]);
    const double two_f = f + f;
    return llg_fma(e, LLG_LN2_HI, llg_fma(e, LLG_LN2_LO, llg_fma(two_f * f2, p, two_f)));
}

// s(θ) = ½ + [(θ − π/2)/θ_mid + ln((θ_min + θ)/(θ_min + π − θ))]/C, as s_of_theta (θ_min + π, 1/θ_mid
// and 1/C come from the parameter block)
__device__ __forceinline__ double llg_table_coordinate(double theta, double theta_min, double theta_min_plus_pi,
                                                       double inv_theta_mid, double inv_map_scale) {
    const double ratio = (theta_min + theta) * llg_recip(theta_min_plus_pi - theta);
    return llg_fma(llg_fma(theta - LLG_HALF_PI, inv_theta_mid, llg_log(ratio)), inv_map_scale, LLG_HALF);
}

// FP64 primitives of the step loop with fewer instructions than the CUDA math library's correctly
// rounded versions (no slow-path branches): reciprocal, reciprocal square root and square root from
// the hardware estimates refined by Newton steps (≤ 1 ulp), and an explicit fused multiply-add.
// The host build uses the IEEE operations, so host and GPU agree to rounding (docs/physics.md §6.2).
#pragma once
#include "target.cuh"

// The FP64 constants of the step loop, in constant memory: an instruction reads them as an operand,
// while an FP64 immediate costs two register moves at every use.
LLG_CONSTANT_ARRAY double LLG_FP64_CONSTANTS[9] = {
    3.141592653589793,          // π
    1.5707963267948966,         // π/2
    1.4142135623730951,         // √2
    6.93147180369123816490e-01, // ln 2, high part (e·LN2_HI exact for |e| < 2¹⁰)
    1.90821492927058770002e-10, // ln 2 − LN2_HI
    0.16666666666666666,        // 1/6
    0.375,                      // second-order Newton coefficient of 1/√x
    1e-300,                     // keeps 1/√y finite at y = 0 in llg_sqrt
    0.5};
#define LLG_PI LLG_FP64_CONSTANTS[0]
#define LLG_HALF_PI LLG_FP64_CONSTANTS[1]
#define LLG_SQRT2 LLG_FP64_CONSTANTS[2]
#define LLG_LN2_HI LLG_FP64_CONSTANTS[3]
#define LLG_LN2_LO LLG_FP64_CONSTANTS[4]
#define LLG_ONE_SIXTH LLG_FP64_CONSTANTS[5]
#define LLG_RSQRT_C2 LLG_FP64_CONSTANTS[6]
#define LLG_SQRT_GUARD LLG_FP64_CONSTANTS[7]
#define LLG_HALF LLG_FP64_CONSTANTS[8]

// a·b + c: fused on the GPU, two roundings on the host (built with -ffp-contract=off, as NumPy)
__device__ __forceinline__ double llg_fma(double a, double b, double c) {
#if LLG_DEVICE_TARGET
    return fma(a, b, c);
#else
    return a * b + c;
#endif
}

// 1/d for a normal d: hardware estimate and two Newton steps
__device__ __forceinline__ double llg_recip(double d) {
#if LLG_DEVICE_TARGET
    double r;
    asm("rcp.approx.ftz.f64 %0, %1;" : "=d"(r) : "d"(d));
    r = fma(r, fma(-d, r, 1.0), r);
    return fma(r, fma(-d, r, 1.0), r);
#else
    return 1.0 / d;
#endif
}

// 1/√x for a normal positive x: hardware estimate, one second-order Newton step
// (r ← r + r e (½ + ⅜ e), e = 1 − x r²; the estimate's 2⁻²² error becomes < 2⁻⁶⁰)
__device__ __forceinline__ double llg_rsqrt(double x) {
#if LLG_DEVICE_TARGET
    double r;
    asm("rsqrt.approx.ftz.f64 %0, %1;" : "=d"(r) : "d"(x));
    const double e = fma(-x, r * r, 1.0);
    return fma(r * e, fma(e, LLG_RSQRT_C2, LLG_HALF), r);
#else
    return 1.0 / sqrt(x);
#endif
}

// √y for y = 0 or a normal positive y: y·(1/√y) and one residual correction; y = 0 gives 0
// (the 1e-300 only keeps the estimate finite there; it does not change any y ≥ 1e-284)
__device__ __forceinline__ double llg_sqrt(double y) {
#if LLG_DEVICE_TARGET
    const double r = llg_rsqrt(y + LLG_SQRT_GUARD);
    const double x = y * r;
    return fma(0.5 * r, fma(-x, x, y), x);
#else
    return sqrt(y);
#endif
}

// ⌊x⌋ for |x| < 2³¹ (the table coordinate): one instruction on the GPU; on the host from the truncation,
// because GCC vectorises floor() only without -ftrapping-math (the value is the same).
__device__ __forceinline__ double llg_floor(double x) {
#if LLG_DEVICE_TARGET
    return floor(x);
#else
    const double truncated = (double)(int)x;
    return llg_select(truncated > x, truncated - 1.0, truncated);
#endif
}

// Target glue: one kernel source for CUDA (nvcc / NVRTC) and the host C++ compiler.
// On the host the CUDA qualifiers become plain C++ and the few device intrinsics used by the
// kernel get exact host equivalents, so the math headers compile unchanged for both targets.
#pragma once

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define LLG_DEVICE_TARGET 1
#else
#define LLG_DEVICE_TARGET 0
#include <math.h>
#include <string.h>
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
struct uint4 {
    unsigned int x, y, z, w;
};
static inline uint4 make_uint4(unsigned int a, unsigned int b, unsigned int c, unsigned int d) {
    uint4 r = {a, b, c, d};
    return r;
}
static inline unsigned int __umulhi(unsigned int a, unsigned int b) {
    return (unsigned int)(((unsigned long long)a * b) >> 32);
}
template <class T>
static inline T __ldg(const T* p) {
    return *p;
}
struct double2 {
    double x, y;
};
// IEEE float32 operations (the host build compiles with -ffp-contract=off: never fused)
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fsqrt_rn(float a) { return sqrtf(a); }
#define __noinline__ __attribute__((noinline))
#endif

// c ? a : b with both a and b already evaluated: a select, never a branch. On the host a bitwise blend,
// so that the compiler cannot move the computation of a or b under a branch (which would stop the
// vectorisation across trajectories, kernel/advance.cuh); the value is exactly a or b either way.
#if LLG_DEVICE_TARGET
__device__ __forceinline__ double llg_select(bool c, double a, double b) { return c ? a : b; }
__device__ __forceinline__ float llg_selectf(bool c, float a, float b) { return c ? a : b; }
#else
static inline __attribute__((always_inline)) double llg_select(bool c, double a, double b) {
    unsigned long long ua, ub;
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    const unsigned long long mask = 0ull - (unsigned long long)c;
    const unsigned long long r = (ua & mask) | (ub & ~mask);
    double out;
    memcpy(&out, &r, sizeof out);
    return out;
}
static inline __attribute__((always_inline)) float llg_selectf(bool c, float a, float b) {
    unsigned int ua, ub;
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    const unsigned int mask = 0u - (unsigned int)c;
    const unsigned int r = (ua & mask) | (ub & ~mask);
    float out;
    memcpy(&out, &r, sizeof out);
    return out;
}
#endif

// the parameter block is passed by value and read in place (CUDA ≥ 11.7 on compute capability ≥ 7.0;
// older GPUs and the host copy it)
#if LLG_DEVICE_TARGET && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 700
#define LLG_GRID_CONSTANT __grid_constant__
#else
#define LLG_GRID_CONSTANT
#endif

// read-only coefficient tables: constant memory on the GPU, not const-qualified so that the compiler
// reads them as operands of the arithmetic instructions instead of materialising each as an immediate
#if LLG_DEVICE_TARGET
#define LLG_CONSTANT_ARRAY __constant__
#else
#define LLG_CONSTANT_ARRAY static const
#endif

// Compile-time switches (-D on the command line; defaults below):
//   LLG_USE_TABLE  1: torque from a TorqueTable (interleaved rows, gpuqd.dynamics.layout) via 4-point Lagrange in s,
//                  with the log-clustered angle map s(θ) of gpuqd.transport.torque_table
//   LLG_BOTH_FREE  1: the source macrospin m is free as well, pushed by the source torque
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


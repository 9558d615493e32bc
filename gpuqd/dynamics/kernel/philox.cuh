// Philox4x32-10 and the three thermal-field normals per draw (docs/physics.md §11).
// Words are identical to gpuqd/dynamics/philox.py; the Gaussian mapping is its normals_from_words.
#pragma once
#include "target.cuh"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u
#define SOURCE_STREAM_BIT 0x80000000u

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

// float32 Box–Muller, operation for operation as uniform_f32 / log_f32 / sincospi_f32 /
// normals_from_words in gpuqd/dynamics/philox.py: only correctly rounded float32 operations (the _rn
// intrinsics are never contracted into fused multiply-adds), so every engine gets bit-identical normals.
// Constants are the float32 values of philox.py, written as their shortest decimal representations.
__device__ __forceinline__ unsigned int llg_float_bits(float x) {
#if LLG_DEVICE_TARGET
    return __float_as_uint(x);
#else
    unsigned int bits;
    memcpy(&bits, &x, sizeof bits);
    return bits;
#endif
}

__device__ __forceinline__ float llg_bits_float(unsigned int bits) {
#if LLG_DEVICE_TARGET
    return __uint_as_float(bits);
#else
    float x;
    memcpy(&x, &bits, sizeof x);
    return x;
#endif
}

__device__ __forceinline__ float llg_uniform_f32(unsigned int w) {
    return __fmul_rn(__fadd_rn((float)(w >> 9), 0.5f), 1.1920929e-07f);  // ((w >> 9) + ½)·2⁻²³, exact
}

__device__ __forceinline__ float llg_log_f32(float u) {
    // u = m·2^e, m ∈ [1, 2), from the bits (u is a normal float: u ≥ 2⁻²⁴)
    const unsigned int bits = llg_float_bits(u);
    float m = llg_bits_float((bits & 0x007FFFFFu) | 0x3F800000u);
    float e = (float)((int)(bits >> 23) - 127);
    if (m > 1.4142135f) {
        m = __fmul_rn(m, 0.5f);
        e = __fadd_rn(e, 1.0f);
    }
    const float f = __fdiv_rn(__fsub_rn(m, 1.0f), __fadd_rn(m, 1.0f));
    const float f2 = __fmul_rn(f, f);
    float poly = 0.11111111f;
    poly = __fadd_rn(__fmul_rn(poly, f2), 0.14285715f);
    poly = __fadd_rn(__fmul_rn(poly, f2), 0.2f);
    poly = __fadd_rn(__fmul_rn(poly, f2), 0.33333334f);
    poly = __fmul_rn(poly, f2);
    const float two_f = __fadd_rn(f, f);
    return __fadd_rn(__fmul_rn(e, 0.69314575f),
                     __fadd_rn(__fmul_rn(e, 1.4286068e-06f), __fadd_rn(two_f, __fmul_rn(two_f, poly))));
}

// (sin πx, cos πx) for x ∈ [0, 2]: exact quadrant reduction, |y| ≤ ¼, Taylor polynomials in z = π y.
__device__ __forceinline__ void llg_sincospi_f32(float x, float& sin_x, float& cos_x) {
    const float q = rintf(__fadd_rn(x, x));
    const float y = __fsub_rn(x, __fmul_rn(q, 0.5f));
    const float z = __fmul_rn(y, 3.1415927f);
    const float z2 = __fmul_rn(z, z);
    float ps = 2.7557319e-06f;
    ps = __fadd_rn(__fmul_rn(ps, z2), -1.984127e-04f);
    ps = __fadd_rn(__fmul_rn(ps, z2), 0.008333334f);
    ps = __fadd_rn(__fmul_rn(ps, z2), -0.16666667f);
    const float sin_z = __fadd_rn(z, __fmul_rn(z, __fmul_rn(z2, ps)));
    float pc = -2.755732e-07f;
    pc = __fadd_rn(__fmul_rn(pc, z2), 2.4801588e-05f);
    pc = __fadd_rn(__fmul_rn(pc, z2), -0.0013888889f);
    pc = __fadd_rn(__fmul_rn(pc, z2), 0.041666668f);
    pc = __fadd_rn(__fmul_rn(pc, z2), -0.5f);
    const float cos_z = __fadd_rn(1.0f, __fmul_rn(z2, pc));
    const int quadrant = ((int)q) & 3;
    sin_x = quadrant == 0 ? sin_z : (quadrant == 1 ? cos_z : (quadrant == 2 ? -sin_z : -cos_z));
    cos_x = quadrant == 0 ? cos_z : (quadrant == 1 ? -sin_z : (quadrant == 2 ? -cos_z : sin_z));
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
    const float u1 = llg_uniform_f32(w.y), u3 = llg_uniform_f32(w.w);
    const float r01 = __fsqrt_rn(__fmul_rn(-2.0f, llg_log_f32(llg_uniform_f32(w.x))));
    const float r2 = __fsqrt_rn(__fmul_rn(-2.0f, llg_log_f32(llg_uniform_f32(w.z))));
    float s01, c01, s23, c23;
    llg_sincospi_f32(__fadd_rn(u1, u1), s01, c01);
    llg_sincospi_f32(__fadd_rn(u3, u3), s23, c23);
    (void)s23;
    h[0] = (double)__fmul_rn(r01, c01) * scale;
    h[1] = (double)__fmul_rn(r01, s01) * scale;
    h[2] = (double)__fmul_rn(r2, c23) * scale;
}

// The four words for counter (step, traj_lo, traj_hi) — the generator alone, for cross-checks.
__device__ __forceinline__ uint4 philox_counter_words(long long step, unsigned long long traj, unsigned int key0,
                                                      unsigned int key1) {
    const unsigned long long uk = (unsigned long long)step;
    return philox4x32_10(make_uint4((unsigned int)(uk & 0xFFFFFFFFull), (unsigned int)(uk >> 32),
                                    (unsigned int)(traj & 0xFFFFFFFFull), (unsigned int)(traj >> 32)),
                         key0, key1);
}

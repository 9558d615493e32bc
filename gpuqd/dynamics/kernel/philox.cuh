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

// float32 Box–Muller, operation for operation as uniform_f32 / minus_two_log_f32 / sincos_2pi_f32 /
// normals_from_words in gpuqd/dynamics/philox.py. Only correctly rounded float32 operations: + − × and
// √ (_rn intrinsics, never contracted) and the fused multiply-add fmaf (one rounding on every target;
// NumPy emulates it exactly), so every engine gets bit-identical normals (tested over all 2²³ inputs).
// Constants are the float32 values of philox.py (shortest decimal representations).
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

__device__ __forceinline__ float llg_fmaf(float a, float b, float c) {
#if LLG_DEVICE_TARGET
    return __fmaf_rn(a, b, c);
#else
    return fmaf(a, b, c);
#endif
}

// u = ((w >> 9) + ½)·2⁻²³ ∈ (0, 1), exact
__device__ __forceinline__ float llg_uniform_f32(unsigned int w) {
    return llg_fmaf((float)(w >> 9), 1.1920929e-07f, 5.9604645e-08f);
}

// −2 ln u for a normal positive float u: u = m·2^e, m ∈ (√½, √2], ln m = t + t² P(t), t = m − 1 (exact)
__device__ __forceinline__ float llg_minus_two_log_f32(float u) {
    const unsigned int bits = llg_float_bits(u);
    const float m1 = llg_bits_float((bits & 0x007FFFFFu) | 0x3F800000u);
    const float e1 = (float)((int)(bits >> 23) - 127);
    // m ∈ (√½, √2]: both candidates computed, one selected (no branch: vectorises across trajectories)
    const bool halve = m1 > 1.4142135f;
    const float m_half = __fmul_rn(m1, 0.5f), e_plus = __fadd_rn(e1, 1.0f);
    const float m = llg_selectf(halve, m_half, m1), e = llg_selectf(halve, e_plus, e1);
    const float t = __fsub_rn(m, 1.0f);
    float p = -0.07866668f;
    p = llg_fmaf(p, t, 0.12821749f);
    p = llg_fmaf(p, t, -0.13101634f);
    p = llg_fmaf(p, t, 0.14189f);
    p = llg_fmaf(p, t, -0.166276f);
    p = llg_fmaf(p, t, 0.20001969f);
    p = llg_fmaf(p, t, -0.25000772f);
    p = llg_fmaf(p, t, 0.33333322f);
    p = llg_fmaf(p, t, -0.49999997f);
    const float log_m = llg_fmaf(__fmul_rn(t, t), p, t);
    return __fmul_rn(-2.0f, llg_fmaf(e, 0.6931472f, log_m));
}

// (sin 2πu, cos 2πu) for u = ((w >> 9) + ½)·2⁻²³, reduced exactly in integers: k = w >> 9 = q·2²¹ + d,
// 2πu = q·π/2 + z, z = π(d + ½)·2⁻²² ∈ (−π/4, π/4); sin z = z + z³ S(z²), cos z = 1 + z² C(z²).
__device__ __forceinline__ void llg_sincos_2pi_f32(unsigned int w, float& sin_x, float& cos_x) {
    const int k = (int)(w >> 9);
    const int q = (k + (1 << 20)) >> 21;
    const float z = llg_fmaf((float)(k - (q << 21)), 7.490141e-07f, 3.7450704e-07f);
    const float z2 = __fmul_rn(z, z);
    float pc = 2.4463838e-05f;
    pc = llg_fmaf(pc, z2, -0.001388759f);
    pc = llg_fmaf(pc, z2, 0.04166665f);
    pc = llg_fmaf(pc, z2, -0.5f);
    const float cos_z = llg_fmaf(z2, pc, 1.0f);
    float ps = -0.0001958795f;
    ps = llg_fmaf(ps, z2, 0.008332749f);
    ps = llg_fmaf(ps, z2, -0.16666664f);
    const float sin_z = llg_fmaf(__fmul_rn(z, z2), ps, z);
    // quadrant q (mod 4): odd q swaps sin and cos; sin < 0 for q = 2, 3, cos < 0 for q = 1, 2
    const bool swap = (q & 1) != 0;
    const unsigned int sin_sign = ((unsigned int)q & 2u) << 30, cos_sign = ((unsigned int)(q + 1) & 2u) << 30;
    sin_x = llg_bits_float(llg_float_bits(llg_selectf(swap, cos_z, sin_z)) ^ sin_sign);
    cos_x = llg_bits_float(llg_float_bits(llg_selectf(swap, sin_z, cos_z)) ^ cos_sign);
}

// Three standard normals (float32) from one draw (words 0,1 → cos/sin pair, words 2,3 → cos; see
// philox.py); the thermal field is normal × noise_scale, formed in FP64 where it is used (llg_rhs.cuh).
__device__ __forceinline__ void thermal_normals(long long k, unsigned long long traj, unsigned int stream_bit,
                                                unsigned int key0, unsigned int key1, float xi[3]) {
    const unsigned long long uk = (unsigned long long)k;
    const uint4 ctr = make_uint4((unsigned int)(uk & 0xFFFFFFFFull), (unsigned int)(uk >> 32),
                                 (unsigned int)(traj & 0xFFFFFFFFull),
                                 ((unsigned int)(traj >> 32)) ^ stream_bit);
    const uint4 w = philox4x32_10(ctr, key0, key1);
    const float r01 = __fsqrt_rn(llg_minus_two_log_f32(llg_uniform_f32(w.x)));
    const float r2 = __fsqrt_rn(llg_minus_two_log_f32(llg_uniform_f32(w.z)));
    float s01, c01, s23, c23;
    llg_sincos_2pi_f32(w.y, s01, c01);
    llg_sincos_2pi_f32(w.w, s23, c23);
    (void)s23;
    xi[0] = __fmul_rn(r01, c01);
    xi[1] = __fmul_rn(r01, s01);
    xi[2] = __fmul_rn(r2, c23);
}

// The four words for counter (step, traj_lo, traj_hi) — the generator alone, for cross-checks.
__device__ __forceinline__ uint4 philox_counter_words(long long step, unsigned long long traj, unsigned int key0,
                                                      unsigned int key1) {
    const unsigned long long uk = (unsigned long long)step;
    return philox4x32_10(make_uint4((unsigned int)(uk & 0xFFFFFFFFull), (unsigned int)(uk >> 32),
                                    (unsigned int)(traj & 0xFFFFFFFFull), (unsigned int)(traj >> 32)),
                         key0, key1);
}

// Philox4x32-10 and the three thermal-field normals per draw (docs/physics.md §11).
// Words are identical to gpuqd/dynamics/philox.py; the Gaussian mapping is its normals_from_words.
#pragma once
#include "target.cuh"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u
#define SOURCE_STREAM_BIT 0x80000000u
#define LLG_INV_2_32 2.3283064365386963e-10

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
    // cos/sin(2π u) as sincospi(2u): no argument reduction (2u ∈ (0, 2]), one call for the pair
    double s01, c01;
    sincospi(2.0 * u1, &s01, &c01);
    h[0] = r01 * c01 * scale;
    h[1] = r01 * s01 * scale;
    h[2] = r2 * cospi(2.0 * u3) * scale;
}

// The four words for counter (step, traj_lo, traj_hi) — the generator alone, for cross-checks.
__device__ __forceinline__ uint4 philox_counter_words(long long step, unsigned long long traj, unsigned int key0,
                                                      unsigned int key1) {
    const unsigned long long uk = (unsigned long long)step;
    return philox4x32_10(make_uint4((unsigned int)(uk & 0xFFFFFFFFull), (unsigned int)(uk >> 32),
                                    (unsigned int)(traj & 0xFFFFFFFFull), (unsigned int)(traj >> 32)),
                         key0, key1);
}

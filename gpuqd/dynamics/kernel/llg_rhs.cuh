// Right-hand side of the stochastic LLG equation in explicit Landau–Lifshitz form (docs/physics.md §6.1,
// §6.2); mirrors NumpyEngine._field/_rhs of gpuqd/dynamics/engines/numpy_engine.py operation for operation.
#pragma once
#include "target.cuh"
#include "llg_layout.cuh"

// dn/dt at direction n (not necessarily normalised); a = the other magnet's direction (e_z when the
// source is fixed), (fl, dl) the coefficients of the torque on n, thermal field h = xi·noise_scale
// (xi: the step's float32 normals; held in float32 between the stages), ac = h_x cos(Ω t)
// (the AC field at the stage time, computed once per time by the caller; 0 without AC drive).
__device__ __forceinline__ void llg_rhs(const double n[3], const double a[3], double fl, double dl, double ac,
                                        const float xi[3], const LlgParams& p, double f[3]) {
    const double x = n[0], y = n[1], z = n[2];
    const double h0 = (double)xi[0] * p.noise_scale, h1 = (double)xi[1] * p.noise_scale,
                 h2 = (double)xi[2] * p.noise_scale;
    double px = p.fx - h0, py = p.fy - h1, pz = p.kv * z + p.fz - h2;
#if LLG_HAS_AC
    px += ac;
#else
    (void)ac;
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
    (void)a;
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

// Complex digamma function psi(z) = d ln Gamma(z)/dz for Re z > 0, in double precision.
// docs/physics.md §4.5: upward recurrence psi(z) = psi(z + n) - sum_{j<n} 1/(z + j) until Re(z + n) >= 10,
// then the asymptotic series psi(w) = ln w - 1/(2w) - sum_{k=1}^{7} B_{2k} / (2k w^{2k}) (next term below
// 5e-17 for |w| >= 10). One source for the GPU (CuPy ElementwiseKernel preamble) and the host (compiled by
// g++ in the tests and compared with SciPy's digamma).
#ifndef GPUQD_DIGAMMA_CUH
#define GPUQD_DIGAMMA_CUH

#ifdef __CUDACC__
#define GPUQD_HOST_DEVICE __host__ __device__
#else
#define GPUQD_HOST_DEVICE
#include <math.h>
#endif

GPUQD_HOST_DEVICE inline void gpuqd_digamma(double x, double y, double* out_re, double* out_im) {
    double shift_re = 0.0, shift_im = 0.0;  // sum_{j<n} 1/(z + j)
    while (x < 10.0) {
        const double d = x * x + y * y;
        shift_re += x / d;
        shift_im -= y / d;
        x += 1.0;
    }
    const double d = x * x + y * y;
    const double inv_re = x / d, inv_im = -y / d;                                    // 1/w
    const double inv2_re = inv_re * inv_re - inv_im * inv_im, inv2_im = 2.0 * inv_re * inv_im;  // 1/w^2
    // B_{2k}/(2k) for k = 1..7
    const double c[7] = {1.0 / 12.0, -1.0 / 120.0, 1.0 / 252.0, -1.0 / 240.0, 1.0 / 132.0,
                         -691.0 / 32760.0, 1.0 / 12.0};
    double s_re = c[6], s_im = 0.0;
    for (int k = 5; k >= 0; --k) {  // Horner in 1/w^2
        const double t_re = s_re * inv2_re - s_im * inv2_im;
        const double t_im = s_re * inv2_im + s_im * inv2_re;
        s_re = c[k] + t_re;
        s_im = t_im;
    }
    const double series_re = s_re * inv2_re - s_im * inv2_im;
    const double series_im = s_re * inv2_im + s_im * inv2_re;
    *out_re = 0.5 * log(d) - 0.5 * inv_re - series_re - shift_re;
    *out_im = atan2(y, x) - 0.5 * inv_im - series_im - shift_im;
}

#endif  // GPUQD_DIGAMMA_CUH

// Host (CPU) entry points built from the same kernel source as llg_kernel.cu: OpenMP over
// trajectories, each calling llg_advance_trajectory exactly as one CUDA thread does. The noise
// depends on (seed, trajectory id, step) only, so results do not depend on the thread count.
// Built and loaded by gpuqd/dynamics/host_build.py (system C++ compiler, -O3, -fopenmp).
#include "advance.cuh"

extern "C" int llg_host_openmp(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

// On x86-64 the step loop is compiled twice, with and without the FMA instruction set, and the loader
// picks the one the CPU supports: fmaf (the noise, kernel/philox.cuh) is then one instruction instead of
// a library call. Both give identical results (fmaf is exactly rounded either way; FP64 contraction
// stays off, -ffp-contract=off).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LLG_HOST_CLONES __attribute__((target_clones("fma", "default")))
#else
#define LLG_HOST_CLONES
#endif

extern "C" LLG_HOST_CLONES void llg_heun_advance(LLG_KERNEL_PARAMS, int n_threads) {
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(n_threads)
#else
    (void)n_threads;
#endif
    for (int j = 0; j < n_traj; ++j) llg_advance_trajectory(j, LLG_KERNEL_ARGS);
}

extern "C" void philox_words(unsigned int* __restrict__ out, long long step, unsigned long long traj_offset,
                             unsigned int key0, unsigned int key1, int n) {
    for (int i = 0; i < n; ++i) {
        const uint4 w = philox_counter_words(step, traj_offset + (unsigned long long)i, key0, key1);
        out[4 * i] = w.x;
        out[4 * i + 1] = w.y;
        out[4 * i + 2] = w.z;
        out[4 * i + 3] = w.w;
    }
}

// Test entry points: the kernel's angle functions (kernel/angle.cuh) and the float32 pieces of the
// normals (kernel/philox.cuh), element by element.
extern "C" void llg_angle_functions(const double* cos_theta, double* theta, double* s, int n, const LlgParams params) {
    for (int i = 0; i < n; ++i) {
        theta[i] = llg_acos(cos_theta[i]);
        s[i] = llg_table_coordinate(theta[i], params.theta_min, params.theta_min_plus_pi, params.inv_theta_mid,
                                    params.inv_map_scale);
    }
}

extern "C" void llg_normal_parts(const unsigned int* words, float* minus_two_log, float* sincos, int n) {
    for (int i = 0; i < n; ++i) {
        minus_two_log[i] = llg_minus_two_log_f32(llg_uniform_f32(words[i]));
        llg_sincos_2pi_f32(words[i], sincos[2 * i], sincos[2 * i + 1]);
    }
}

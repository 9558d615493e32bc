// Host (CPU) entry points built from the same kernel source as llg_kernel.cu (kernel/advance.cuh).
// llg_heun_advance: OpenMP over blocks of ``lanes`` trajectories, each block advanced by
// llg_advance_lanes with the trajectories in the inner, vectorised loop; lanes = 0 runs the scalar
// driver llg_advance_trajectory per trajectory, exactly as one CUDA thread does. The noise depends on
// (seed, trajectory id, step) only and every driver performs the same IEEE operations per trajectory
// (-ffp-contract=off: no fused multiply-adds but the explicit fmaf of the noise), so results do not
// depend on the thread count, the lane count or the instruction set.
// Built and loaded by gpuqd/dynamics/host_build.py (system C++ compiler, -O3, -fopenmp).
#include "advance.cuh"

extern "C" int llg_host_openmp(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

// Instruction sets: the lane driver is compiled once per set and the entry point picks the best one the
// CPU supports at run time (GCC function-specific targets + __builtin_cpu_supports on x86-64; other
// compilers and machines get the baseline only).
#define LLG_ISA_BASELINE 1
#define LLG_ISA_AVX2_FMA 2
#define LLG_ISA_AVX512 3
#ifndef LLG_HOST_MULTI_ISA  // (host_build.py sets it to 0 when the compiler rejects the variants)
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LLG_HOST_MULTI_ISA 1
#else
#define LLG_HOST_MULTI_ISA 0
#endif
#endif

#define LLG_DEFINE_LANE_WORKER(name, attributes)                                                              \
    static attributes __attribute__((noinline)) void name(int j_begin, int j_end, int lanes,                  \
                                                          LLG_TRAJECTORY_PARAMS) {                            \
        for (int j0 = j_begin; j0 < j_end; j0 += lanes)                                                       \
            llg_advance_lanes(j0, j_end - j0 < lanes ? j_end - j0 : lanes, LLG_KERNEL_ARGS);                  \
    }

LLG_DEFINE_LANE_WORKER(llg_lanes_baseline, )
#if LLG_HOST_MULTI_ISA
LLG_DEFINE_LANE_WORKER(llg_lanes_avx2_fma, __attribute__((target("avx2,fma"))))
LLG_DEFINE_LANE_WORKER(llg_lanes_avx512, __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma"))))
#endif

// The best supported instruction set not above ``requested`` (0: the best supported).
extern "C" int llg_host_isa(int requested) {
    int best = LLG_ISA_BASELINE;
#if LLG_HOST_MULTI_ISA
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = LLG_ISA_AVX2_FMA;
    if (best == LLG_ISA_AVX2_FMA && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw"))
        best = LLG_ISA_AVX512;
#endif
    return requested >= LLG_ISA_BASELINE && requested < best ? requested : best;
}

typedef void (*LlgLaneWorker)(int, int, int, LLG_TRAJECTORY_PARAMS);

// lanes: trajectories per block (1 … LLG_HOST_MAX_LANES; 0: scalar driver); isa: see llg_host_isa.
// Returns the instruction set used (0 for the scalar driver).
extern "C" int llg_heun_advance(LLG_KERNEL_PARAMS, int n_threads, int lanes, int isa) {
    if (lanes <= 0) {
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(n_threads)
#else
        (void)n_threads;
#endif
        for (int j = 0; j < n_traj; ++j) llg_advance_trajectory(j, LLG_KERNEL_ARGS);
        return 0;
    }
    lanes = lanes > LLG_HOST_MAX_LANES ? LLG_HOST_MAX_LANES : lanes;
    const int used = llg_host_isa(isa);
    LlgLaneWorker worker = llg_lanes_baseline;
#if LLG_HOST_MULTI_ISA
    if (used == LLG_ISA_AVX512) worker = llg_lanes_avx512;
    else if (used == LLG_ISA_AVX2_FMA) worker = llg_lanes_avx2_fma;
#endif
    const int n_blocks = (n_traj + lanes - 1) / lanes;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(n_threads)
#else
    (void)n_threads;
#endif
    for (int b = 0; b < n_blocks; ++b) {
        const int j0 = b * lanes, j1 = j0 + lanes < n_traj ? j0 + lanes : n_traj;
        worker(j0, j1, lanes, LLG_KERNEL_ARGS);
    }
    return used;
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

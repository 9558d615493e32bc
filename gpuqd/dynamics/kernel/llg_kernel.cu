// CUDA entry points of the fused stochastic-Heun LLG kernel (FP64): one thread advances one
// trajectory for many steps. The step itself is in kernel/advance.cuh (shared with the host build,
// llg_host.cpp); the parameter block and state layout come from the generated llg_layout.cuh
// (gpuqd/dynamics/layout.py). Compile through gpuqd.dynamics.kernel_source, which resolves the includes.
#include "advance.cuh"

// Occupancy: at N = 1e5 trajectories (782 blocks of 128) one wave on an H100 (132 SMs) needs 6 resident
// blocks per SM, i.e. at most 80 registers per thread; the launch bounds ask ptxas for that. With a free
// source (two noise draws, two magnets) 80 registers would spill, so 4 blocks (128 registers), and 3
// (168 registers) for a table with cubic anisotropy and AC drive as well.
#ifndef LLG_THREADS_PER_BLOCK
#define LLG_THREADS_PER_BLOCK 128
#endif
#ifndef LLG_MIN_BLOCKS_PER_SM
#if LLG_BOTH_FREE && LLG_HAS_CUBIC && LLG_HAS_AC && LLG_USE_TABLE
#define LLG_MIN_BLOCKS_PER_SM 3
#elif LLG_BOTH_FREE
#define LLG_MIN_BLOCKS_PER_SM 4
#else
#define LLG_MIN_BLOCKS_PER_SM 6
#endif
#endif

extern "C" __global__ void __launch_bounds__(LLG_THREADS_PER_BLOCK, LLG_MIN_BLOCKS_PER_SM)
    llg_heun_advance(LLG_KERNEL_PARAMS) {
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= n_traj) return;
    llg_advance_trajectory(j, LLG_KERNEL_ARGS);
}

// Philox words only (cross-backend test of the generator): out[4*i + w] for counters
// (k, traj_offset + i) with k = step, i < n.
extern "C" __global__ void philox_words(unsigned int* __restrict__ out, long long step,
                                        unsigned long long traj_offset, unsigned int key0,
                                        unsigned int key1, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const uint4 w = philox_counter_words(step, traj_offset + (unsigned long long)i, key0, key1);
    out[4 * i] = w.x;
    out[4 * i + 1] = w.y;
    out[4 * i + 2] = w.z;
    out[4 * i + 3] = w.w;
}

// Test entry points (tests/dynamics/test_dynamics_gpu.py): the angle functions of kernel/angle.cuh and
// the float32 pieces of the normals of kernel/philox.cuh, one element per thread, as the host build's
// functions of the same names.
extern "C" __global__ void llg_angle_functions(const double* __restrict__ cos_theta, double* __restrict__ theta,
                                               double* __restrict__ s, int n, const LLG_GRID_CONSTANT LlgParams params) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    theta[i] = llg_acos(cos_theta[i]);
    s[i] = llg_table_coordinate(theta[i], params.theta_min, params.theta_min_plus_pi, params.inv_theta_mid,
                                params.inv_map_scale);
}

extern "C" __global__ void llg_normal_parts(const unsigned int* __restrict__ words, float* __restrict__ minus_two_log,
                                            float* __restrict__ sincos, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    minus_two_log[i] = llg_minus_two_log_f32(llg_uniform_f32(words[i]));
    llg_sincos_2pi_f32(words[i], sincos[2 * i], sincos[2 * i + 1]);
}

// CUDA entry points of the fused stochastic-Heun LLG kernel (FP64): one thread advances one
// trajectory for many steps. The step itself is in kernel/advance.cuh (shared with the host build,
// llg_host.cpp); the parameter block and state layout come from the generated llg_layout.cuh
// (gpuqd/dynamics/layout.py). Compile through gpuqd.dynamics.kernel_source, which resolves the includes.
#include "kernel/advance.cuh"

extern "C" __global__ void llg_heun_advance(LLG_KERNEL_PARAMS) {
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

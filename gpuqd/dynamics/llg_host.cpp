// Host (CPU) entry points built from the same kernel source as llg_kernel.cu: OpenMP over
// trajectories, each calling llg_advance_trajectory exactly as one CUDA thread does. The noise
// depends on (seed, trajectory id, step) only, so results do not depend on the thread count.
// Built and loaded by gpuqd/dynamics/host_build.py (system C++ compiler, -O3, -fopenmp).
#include "kernel/advance.cuh"

extern "C" int llg_host_openmp(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

extern "C" void llg_heun_advance(LLG_KERNEL_PARAMS, int n_threads) {
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

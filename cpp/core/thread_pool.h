// A small persistent thread pool for large kernels (fork-join: every thread runs the same
// function with its own index). Chosen over OpenMP so the library controls its own threads:
// no second OpenMP runtime beside PyTorch's or numpy's, a clean reset in forked children, and a
// thread count settable at run time. Plain function pointers keep templates out of the per-ISA
// kernel units (see kernels_portable.h on the one-definition rule).
#pragma once
#include <cstdint>

namespace tapegrad::threads {

using Task = void (*)(void* ctx, int thread_index, int num_threads);

// Threads used by parallel kernels: TAPEGRAD_NUM_THREADS, else the hardware's count.
int num_threads();
// Sets the count (>= 1); takes effect at the next parallel call.
void set_num_threads(int n);
// Runs task(ctx, i, n) for i in [0, n) with n = min(num_threads(), max_threads), the caller
// taking i = 0, and returns when all are done. Nested calls run serially on the caller.
void parallel_run(Task task, void* ctx, int max_threads);

// Elements from which elementwise ops, fills and full sums split over threads (parallel.h).
// Settable for bench/thread_thresholds.py, which times both sides of the default.
int64_t parallel_elements();
void set_parallel_elements(int64_t n);

}  // namespace tapegrad::threads

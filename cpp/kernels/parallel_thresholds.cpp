// The sizes from which GEMM kernels use more than one thread (see kernels.h). Atomics, because a
// benchmark may change them while another thread runs a kernel; kernels read them once per call.
#include <atomic>

#include "kernels/kernels.h"

namespace tapegrad::kernels {
namespace {

// Measured with bench/thread_thresholds.py: speedup of 2 threads over 1 when the second vCPU is
// free (three runs; with the pool's threads polling, a hand-off costs ~1 us instead of 15-25):
// - blocked GEMM: 1.22-1.26 at 64^3 (0.26 M multiply-adds), 1.32-1.40 at 96^3;
// - few columns (m x 784 . 784 x 10): 0.95-1.00 at m = 32, 1.20-1.29 at m = 64 (0.50 M), 1.30 at 128;
// - GEMV (m x 64): 1.15-1.52 at m = 1000 (64 K), 1.37-1.73 at m = 2000 (128 K).
// Each threshold sits where the gain is clear in every run. While another process holds the
// second vCPU any split loses (0.5-0.9x in the same sweep): the machine, not the sizes, decides.
std::atomic<double> g_gemm_madds{262144.0};
std::atomic<double> g_few_columns_madds{524288.0};
std::atomic<double> g_gemv_madds{98304.0};

}  // namespace

ParallelThresholds parallel_thresholds() {
  return {g_gemm_madds.load(std::memory_order_relaxed),
          g_few_columns_madds.load(std::memory_order_relaxed),
          g_gemv_madds.load(std::memory_order_relaxed)};
}

void set_parallel_thresholds(const ParallelThresholds& t) {
  g_gemm_madds.store(t.gemm_madds, std::memory_order_relaxed);
  g_few_columns_madds.store(t.few_columns_madds, std::memory_order_relaxed);
  g_gemv_madds.store(t.gemv_madds, std::memory_order_relaxed);
}

}  // namespace tapegrad::kernels

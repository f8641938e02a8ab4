// The sizes from which GEMM kernels use more than one thread (see kernels.h). Atomics, because a
// benchmark may change them while another thread runs a kernel; kernels read them once per call.
#include <atomic>

#include "kernels/kernels.h"

namespace tapegrad::kernels {
namespace {

// Each threshold sits where a second thread's gain over one is clear in every run of
// bench/thread_thresholds.py with the second core free (docs/kernels.md has the figures). While
// another process holds that core any split loses: the machine, not the sizes, decides.
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

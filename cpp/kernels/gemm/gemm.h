// The GEMM of one instruction set's table and the choice of its path: a skinny shape's own path
// (skinny.h), else the blocked, packed path (blocked.h), else plain loops (unblocked.h). The
// choice depends on the shape alone, never on the thread count.
#pragma once
#include <cstdint>

#include "kernels/gemm/blocked.h"
#include "kernels/gemm/partition.h"
#include "kernels/gemm/skinny.h"
#include "kernels/gemm/unblocked.h"
#include "kernels/kernels.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

// Below this many multiply-adds, packing costs more than it saves.
constexpr double kBlockedFromMadds = 32768.0;

// C = alpha * op(A) op(B) + beta * C (kernels.h).
template <typename T>
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
          const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (gemm_skinny(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)) return;
  // Threads from parallel_thresholds().gemm_madds on: below it a second thread costs more
  // (hand-off, duplicate packing) than it saves.
  const double madds = static_cast<double>(m) * n * k;
  const int threads = gemm_threads(madds, parallel_thresholds().gemm_madds);
  if (k > 0 && madds >= kBlockedFromMadds &&
      gemm_blocked(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads))
    return;
  gemm_unblocked(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

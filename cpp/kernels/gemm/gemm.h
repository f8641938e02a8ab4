// The GEMM of one instruction set's table and the choice of its path: a skinny shape's own path
// (skinny.h), else for a large enough product the small path (small.h) or the blocked, packed
// path (blocked.h), which give the same bits, else plain loops. The choice depends on the shape
// alone, never on the thread count.
#pragma once
#include <cstdint>

#include "kernels/gemm/blocked.h"
#include "kernels/gemm/partition.h"
#include "kernels/gemm/skinny.h"
#include "kernels/gemm/small.h"
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
      (gemm_small(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads) ||
       gemm_blocked(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads)))
    return;
  // Plain loops for the rest (and when the blocked path cannot get its buffers), in orders that
  // keep the innermost loop unit-stride where the layout allows.
  for (int64_t i = 0; i < m; ++i) {
    T* crow = c + i * ldc;
    if (beta == T(0)) {
      for (int64_t j = 0; j < n; ++j) crow[j] = T(0);
    } else if (beta != T(1)) {
      for (int64_t j = 0; j < n; ++j) crow[j] *= beta;
    }
  }
  if (!tb) {
    // C[i,:] += alpha * A(i,p) * B[p,:]  (B rows contiguous)
    for (int64_t i = 0; i < m; ++i) {
      T* crow = c + i * ldc;
      for (int64_t p = 0; p < k; ++p) {
        const T av = alpha * (ta ? a[p * lda + i] : a[i * lda + p]);
        const T* brow = b + p * ldb;
        for (int64_t j = 0; j < n; ++j) crow[j] += av * brow[j];
      }
    }
    return;
  }
  // B transposed: C[i,j] += alpha * dot(A(i,:), B[j,:]) with B rows contiguous.
  for (int64_t i = 0; i < m; ++i) {
    T* crow = c + i * ldc;
    for (int64_t j = 0; j < n; ++j) {
      const T* brow = b + j * ldb;
      T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      int64_t p = 0;
      if (!ta) {
        const T* arow = a + i * lda;
        for (; p + 4 <= k; p += 4) {
          s0 += arow[p] * brow[p];
          s1 += arow[p + 1] * brow[p + 1];
          s2 += arow[p + 2] * brow[p + 2];
          s3 += arow[p + 3] * brow[p + 3];
        }
        for (; p < k; ++p) s0 += arow[p] * brow[p];
      } else {
        for (; p < k; ++p) s0 += a[p * lda + i] * brow[p];
      }
      crow[j] += alpha * ((s0 + s1) + (s2 + s3));
    }
  }
}

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

// The portable GEMV kernel (n == 1): one row at a time, the scalar reference.
#pragma once
#include <cstdint>

namespace tapegrad::kernels::TG_ISA {
namespace {

// y[i] = alpha * dot(A[i, :], x) + beta * y[i] for row-major A (rows contiguous, x unit stride).
// descending: rows last to first (see SimdGemv); each y[i] is the same either way.
template <typename T>
struct PortableGemv {
  static void run(int64_t m, int64_t k, T alpha, const T* a, int64_t lda, const T* x, T beta,
                  T* y, int64_t incy, bool descending) {
    for (int64_t n = 0; n < m; ++n) {
      const int64_t i = descending ? m - 1 - n : n;
      const T* row = a + i * lda;
      T s = 0;
      for (int64_t p = 0; p < k; ++p) s += row[p] * x[p];
      y[i * incy] = beta == T(0) ? alpha * s : alpha * s + beta * y[i * incy];
    }
  }
};

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

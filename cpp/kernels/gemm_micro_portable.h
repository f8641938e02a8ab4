// Portable GEMM micro-kernel: an MR x NR tile accumulated in a local array. Compiled without
// vectorization it is the scalar reference; with AVX-512 flags the compiler vectorizes its rows.
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

template <typename T>
struct PortableMicro {
  static constexpr int MR = 6;
  static constexpr int NR = 64 / static_cast<int>(sizeof(T));  // one 64-byte row per tile row

  // C[0:mr, 0:nr] = alpha * sum_p A[p][i] B[p][j] + beta * C (beta == 0: C not read).
  // kPackedA: a is a packed MR x kc panel. Otherwise rows[i] points at A(i, 0) in the matrix
  // itself and A(i, p) = rows[i][p * a_step].
  // stream_c, b_ahead: ignored (the SIMD tiles' non-temporal stores and prefetches change no
  // value).
  template <bool kPackedA>
  static void run(int64_t kc, const T* a, const T* const* rows, int64_t a_step, const T* b, T* c,
                  int64_t ldc, T alpha, T beta, int mr, int nr, bool stream_c = false,
                  const T* b_ahead = nullptr) {
    (void)stream_c;
    (void)b_ahead;
    T acc[MR][NR] = {};
    for (int64_t p = 0; p < kc; ++p) {
      const T* bp = b + p * NR;
      for (int i = 0; i < MR; ++i) {
        const T ai = kPackedA ? a[p * MR + i] : rows[i][p * a_step];
        for (int j = 0; j < NR; ++j) acc[i][j] += ai * bp[j];
      }
    }
    for (int i = 0; i < mr; ++i) {
      T* crow = c + i * ldc;
      for (int j = 0; j < nr; ++j)
        crow[j] = beta == T(0) ? alpha * acc[i][j] : alpha * acc[i][j] + beta * crow[j];
    }
  }
};

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

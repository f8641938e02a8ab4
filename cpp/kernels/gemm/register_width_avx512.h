// The avx512 path's GEMV and few-columns kernels: the SIMD templates in zmm registers, or in ymm
// registers for the k that zmm serves worse. Both vectorise along k.
#pragma once
#include <cstdint>

#include "kernels/gemm/few_columns_simd.h"
#include "kernels/gemm/gemv_simd.h"
#include "kernels/simd/vec_avx2.h"
#include "kernels/simd/vec_avx512.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

// Whether a kernel that vectorises along k takes zmm registers: k is at least one zmm (W lanes)
// and k % W < W / 2, i.e. its scalar tail is the one ymm would leave. Then each row's chain has
// half the FMAs and A half the loads; with a longer tail, the scalar steps cost more than zmm
// saves. The choice depends on k alone: every call of a shape gives the same bits, whatever the
// thread count.
template <typename T>
constexpr bool zmm_pays(int64_t k) {
  constexpr int64_t W = Avx512Vec<T>::W;
  return k >= W && k % W < W / 2;
}

template <typename T>
struct Avx512Gemv {
  static void run(int64_t m, int64_t k, T alpha, const T* a, int64_t lda, const T* x, T beta,
                  T* y, int64_t incy, bool descending) {
    if (zmm_pays<T>(k))
      SimdGemv<T, Avx512Vec>::run(m, k, alpha, a, lda, x, beta, y, incy, descending);
    else
      SimdGemv<T, Avx2Vec>::run(m, k, alpha, a, lda, x, beta, y, incy, descending);
  }
};

template <typename T>
struct Avx512FewColumns {
  static void transpose_b(int64_t k, int64_t n, const T* b, int64_t b_row, int64_t b_col, T* bt) {
    SimdFewColumns<T, Avx2Vec>::transpose_b(k, n, b, b_row, b_col, bt);
  }
  static void run(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* bt,
                  T beta, T* c, int64_t ldc) {
    if (zmm_pays<T>(k))
      SimdFewColumns<T, Avx512Vec>::run(m, n, k, alpha, a, lda, bt, beta, c, ldc);
    else
      SimdFewColumns<T, Avx2Vec>::run(m, n, k, alpha, a, lda, bt, beta, c, ldc);
  }
};

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

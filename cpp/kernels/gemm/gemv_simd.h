// The SIMD GEMV kernel (n == 1), one template over a vector type (simd/vec_*.h): ymm on the avx2
// path, ymm or zmm on the avx512 path (register_width_avx512.h).
#pragma once
#include <cstdint>

namespace tapegrad::kernels::TG_ISA {
namespace {

// The GEMV over a vector type (Vec<T>: V, W, zero, load, fma, hsum4).
template <typename T, template <typename> class Vec>
struct SimdGemv {
  // Rows per group, one from each eighth of A (i, i + q, ..., i + 7q): eight sequential streams
  // in flight read A faster than one, and eight independent FMA chains per k step keep the loads
  // from waiting on FMA latency when a row is only a few vectors long. A multiple of 4 (hsum4).
  static constexpr int kRowsPerGroup = 8;

  // y[i] = alpha * dot(A[i, :], x) + beta * y[i] for row-major A and unit-stride x, in groups of
  // kRowsPerGroup rows, then the last m % kRowsPerGroup rows one at a time. Each row's sum is
  // formed the same way wherever it falls (same k order, same four-way horizontal sum), so
  // results do not depend on how rows are grouped or split between threads, nor on the
  // direction.
  // descending: the row groups are taken last to first. The caller alternates it between calls,
  // so a matrix a little larger than L2 starts where the previous call ended, on the rows still
  // in L2, instead of always meeting the ones the previous call's tail evicted.
  static void run(int64_t m, int64_t k, T alpha, const T* a, int64_t lda, const T* x, T beta,
                  T* y, int64_t incy, bool descending) {
    // beta decided once, not per row: a group of short rows is a few dozen cycles, and a
    // per-row branch would be a large part of them.
    if (beta == T(0)) {
      rows<false>(m, k, alpha, a, lda, x, beta, y, incy, descending);
    } else {
      rows<true>(m, k, alpha, a, lda, x, beta, y, incy, descending);
    }
  }

 private:
  template <bool kBeta>
  static void rows(int64_t m, int64_t k, T alpha, const T* a, int64_t lda, const T* x, T beta,
                   T* y, int64_t incy, bool descending) {
    using X = Vec<T>;
    using V = typename X::V;
    constexpr int W = X::W;
    auto finish = [&](T* out, T s) { *out = kBeta ? alpha * s + beta * *out : alpha * s; };
    constexpr int G = kRowsPerGroup;
    const int64_t q = m / G;
    // The last few rows (m % G) are at the end of A: first when descending.
    if (descending) single_rows<kBeta>(G * q, m, k, alpha, a, lda, x, beta, y, incy);
    const int64_t step = descending ? -1 : 1;
    for (int64_t n = 0, i = descending ? q - 1 : 0; n < q; ++n, i += step) {
      const T* r[G];
      r[0] = a + i * lda;
      for (int j = 1; j < G; ++j) r[j] = r[j - 1] + q * lda;
      V s[G];
      for (int j = 0; j < G; ++j) s[j] = X::zero();
      int64_t p = 0;
      for (; p + W <= k; p += W) {
        const V xv = X::load(x + p);
#pragma GCC unroll 8
        for (int j = 0; j < G; ++j) s[j] = X::fma(X::load(r[j] + p), xv, s[j]);
      }
      T t[G];
#pragma GCC unroll 2
      for (int j = 0; j < G; j += 4) X::hsum4(s[j], s[j + 1], s[j + 2], s[j + 3], t + j);
      if (__builtin_expect(p < k, 0)) {
        for (; p < k; ++p)
          for (int j = 0; j < G; ++j) t[j] += r[j][p] * x[p];
      }
      T* yi = y + i * incy;
      const int64_t yq = q * incy;
      for (int j = 0; j < G; ++j) finish(yi + j * yq, t[j]);
    }
    if (!descending) single_rows<kBeta>(G * q, m, k, alpha, a, lda, x, beta, y, incy);
  }

  // Rows [lo, hi) one at a time.
  template <bool kBeta>
  static void single_rows(int64_t lo, int64_t hi, int64_t k, T alpha, const T* a, int64_t lda,
                          const T* x, T beta, T* y, int64_t incy) {
    using X = Vec<T>;
    using V = typename X::V;
    constexpr int W = X::W;
    for (int64_t i = lo; i < hi; ++i) {
      const T* r = a + i * lda;
      V s = X::zero();
      int64_t p = 0;
      for (; p + W <= k; p += W) s = X::fma(X::load(r + p), X::load(x + p), s);
      T t[4];
      X::hsum4(s, X::zero(), X::zero(), X::zero(), t);  // the same sum as in the groups above
      for (; p < k; ++p) t[0] += r[p] * x[p];
      T* out = y + i * incy;
      *out = kBeta ? alpha * t[0] + beta * *out : alpha * t[0];
    }
  }
};

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

// The SIMD few-columns kernel (C with 2..15 columns), one template over a vector type
// (simd/vec_*.h): ymm on the avx2 path, ymm or zmm on the avx512 path (register_width_avx512.h).
#pragma once
#include <cstdint>

#include "kernels/simd/vec_avx2.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

// C = alpha * A Bt^T + beta * C for few columns (n < 16) and row-major A: each C element is a dot
// product vectorised along k, so no lane is wasted on padding columns, as a 16-wide tile would
// waste them. Blocks of R rows x J columns (R * J <= 12 accumulators) share their loads: R + J
// vector loads feed R * J FMAs. bt is B transposed, n rows of k. Over a vector type (Vec<T>: V,
// W, zero, load, fma, hsum4); B is transposed with ymm tiles whatever the vector type.
template <typename T, template <typename> class Vec>
struct SimdFewColumns {
  using X = Vec<T>;
  using V = typename X::V;
  static constexpr int W = X::W;

  template <int R, int J>
  static void block(int64_t k, const T* a, int64_t lda, const T* bt, T alpha, T beta, T* c,
                    int64_t ldc) {
    V acc[R][J];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int j = 0; j < J; ++j) acc[r][j] = X::zero();
    int64_t p = 0;
    for (; p + W <= k; p += W) {
      V av[R];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) av[r] = X::load(a + r * lda + p);
#pragma GCC unroll 8
      for (int j = 0; j < J; ++j) {
        // In a register, so the compiler does not fold this load into each of the R FMAs (at
        // 12 accumulators that would make the loop load-bound).
        V bj = X::load(bt + j * k + p);
        asm("" : "+x"(bj));
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) acc[r][j] = X::fma(av[r], bj, acc[r][j]);
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      T sums[4];
      X::hsum4(acc[r][0], J > 1 ? acc[r][J > 1 ? 1 : 0] : X::zero(),
               J > 2 ? acc[r][J > 2 ? 2 : 0] : X::zero(), J > 3 ? acc[r][J > 3 ? 3 : 0] : X::zero(),
               sums);
#pragma GCC unroll 4
      for (int j = 0; j < J; ++j) {
        T s = sums[j];
        for (int64_t q = p; q < k; ++q) s += a[r * lda + q] * bt[j * k + q];
        T& out = c[r * ldc + j];
        out = beta == T(0) ? alpha * s : alpha * s + beta * out;
      }
    }
  }

  // Rows [0, R) x all n columns, in column groups of at most 4, as even as possible
  // (10 = 4 + 3 + 3), so every block keeps 9-12 accumulators busy.
  template <int R>
  static void rows(int64_t n, int64_t k, const T* a, int64_t lda, const T* bt, T alpha, T beta,
                   T* c, int64_t ldc) {
    const int64_t groups = (n + 3) / 4;
    int64_t j = 0;
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t left = n - j, width = (left + (groups - g) - 1) / (groups - g);
      const T* btj = bt + j * k;
      switch (width) {
        case 4: block<R, 4>(k, a, lda, btj, alpha, beta, c + j, ldc); break;
        case 3: block<R, 3>(k, a, lda, btj, alpha, beta, c + j, ldc); break;
        case 2: block<R, 2>(k, a, lda, btj, alpha, beta, c + j, ldc); break;
        default: block<R, 1>(k, a, lda, btj, alpha, beta, c + j, ldc); break;
      }
      j += width;
    }
  }

  // bt (n x k, rows contiguous) = B (k x n, element (p, j) at b[p * b_row + j * b_col]).
  // Row-major B goes through W x W register transposes: a strided scalar copy would be a sizeable
  // part of a product this small.
  static void transpose_b(int64_t k, int64_t n, const T* b, int64_t b_row, int64_t b_col, T* bt) {
    if (b_row == 1) {  // B's columns are contiguous already: a copy
      for (int64_t j = 0; j < n; ++j)
        for (int64_t p = 0; p < k; ++p) bt[j * k + p] = b[p + j * b_col];
      return;
    }
    int64_t p0 = 0;  // k steps [0, p0) are done by tiles
    if (b_col == 1) {
      constexpr int TW = Avx2Vec<T>::W;  // the tile's width
      p0 = k - k % TW;
      for (int64_t j = 0; j < n; j += TW) {
        const int cols = n - j < TW ? static_cast<int>(n - j) : TW;
        for (int64_t p = 0; p < p0; p += TW)
          Avx2Vec<T>::transpose_tile(b + p * b_row + j, b_row, bt + j * k + p, k, cols);
      }
    }
    for (int64_t j = 0; j < n; ++j)  // the rest
      for (int64_t p = p0; p < k; ++p) bt[j * k + p] = b[p * b_row + j * b_col];
  }

  // Blocks of 3 rows (their A rows stay in L1 across the column groups), then the last 1-2.
  static void run(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* bt,
                  T beta, T* c, int64_t ldc) {
    int64_t i = 0;
    for (; i + 3 <= m; i += 3) rows<3>(n, k, a + i * lda, lda, bt, alpha, beta, c + i * ldc, ldc);
    for (; i < m; ++i) rows<1>(n, k, a + i * lda, lda, bt, alpha, beta, c + i * ldc, ldc);
  }
};

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

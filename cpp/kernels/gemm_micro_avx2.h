// AVX2+FMA GEMM micro-kernels: a 6 x 16 float tile (12 ymm accumulators) and a 6 x 8 double
// tile, the largest that leave registers for the B row and the A broadcast. The accumulators are
// named variables, not an array: an array indexed after the loop makes the compiler keep it in
// memory and store every accumulator on every k step.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace tapegrad::kernels::TG_ISA {
namespace {

template <typename T> struct Avx2Micro;

// One k step of a 6-row tile: row i of the tile gets A[i] * (b0, b1).
#define TG_ROW(i, c0, c1, bcast, fma)          \
  {                                            \
    const auto ai = bcast(ap + i);             \
    c0 = fma(ai, b0, c0);                      \
    c1 = fma(ai, b1, c1);                      \
  }

template <>
struct Avx2Micro<float> {
  static constexpr int MR = 6, NR = 16;
  static void run(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float alpha,
                  float beta, int mr, int nr) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
           c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int64_t p = 0; p < kc; ++p) {
      const __m256 b0 = _mm256_loadu_ps(b + p * NR);
      const __m256 b1 = _mm256_loadu_ps(b + p * NR + 8);
      const float* ap = a + p * MR;
      TG_ROW(0, c00, c01, _mm256_broadcast_ss, _mm256_fmadd_ps)
      TG_ROW(1, c10, c11, _mm256_broadcast_ss, _mm256_fmadd_ps)
      TG_ROW(2, c20, c21, _mm256_broadcast_ss, _mm256_fmadd_ps)
      TG_ROW(3, c30, c31, _mm256_broadcast_ss, _mm256_fmadd_ps)
      TG_ROW(4, c40, c41, _mm256_broadcast_ss, _mm256_fmadd_ps)
      TG_ROW(5, c50, c51, _mm256_broadcast_ss, _mm256_fmadd_ps)
    }
    alignas(32) float tile[MR][NR];
    const __m256 rows[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                                {c30, c31}, {c40, c41}, {c50, c51}};
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    if (mr == MR && nr == NR) {
      for (int i = 0; i < MR; ++i) {
        float* crow = c + i * ldc;
        __m256 r0 = _mm256_mul_ps(va, rows[i][0]), r1 = _mm256_mul_ps(va, rows[i][1]);
        if (beta != 0.0f) {
          r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(crow), r0);
          r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(crow + 8), r1);
        }
        _mm256_storeu_ps(crow, r0);
        _mm256_storeu_ps(crow + 8, r1);
      }
      return;
    }
    for (int i = 0; i < mr; ++i) {
      _mm256_store_ps(tile[i], rows[i][0]);
      _mm256_store_ps(tile[i] + 8, rows[i][1]);
      float* crow = c + i * ldc;
      for (int j = 0; j < nr; ++j)
        crow[j] = beta == 0.0f ? alpha * tile[i][j] : alpha * tile[i][j] + beta * crow[j];
    }
  }
};

template <>
struct Avx2Micro<double> {
  static constexpr int MR = 6, NR = 8;
  static void run(int64_t kc, const double* a, const double* b, double* c, int64_t ldc,
                  double alpha, double beta, int mr, int nr) {
    __m256d c00 = _mm256_setzero_pd(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
            c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int64_t p = 0; p < kc; ++p) {
      const __m256d b0 = _mm256_loadu_pd(b + p * NR);
      const __m256d b1 = _mm256_loadu_pd(b + p * NR + 4);
      const double* ap = a + p * MR;
      TG_ROW(0, c00, c01, _mm256_broadcast_sd, _mm256_fmadd_pd)
      TG_ROW(1, c10, c11, _mm256_broadcast_sd, _mm256_fmadd_pd)
      TG_ROW(2, c20, c21, _mm256_broadcast_sd, _mm256_fmadd_pd)
      TG_ROW(3, c30, c31, _mm256_broadcast_sd, _mm256_fmadd_pd)
      TG_ROW(4, c40, c41, _mm256_broadcast_sd, _mm256_fmadd_pd)
      TG_ROW(5, c50, c51, _mm256_broadcast_sd, _mm256_fmadd_pd)
    }
    alignas(32) double tile[MR][NR];
    const __m256d rows[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                                 {c30, c31}, {c40, c41}, {c50, c51}};
    for (int i = 0; i < mr; ++i) {
      _mm256_store_pd(tile[i], rows[i][0]);
      _mm256_store_pd(tile[i] + 4, rows[i][1]);
      double* crow = c + i * ldc;
      for (int j = 0; j < nr; ++j)
        crow[j] = beta == 0.0 ? alpha * tile[i][j] : alpha * tile[i][j] + beta * crow[j];
    }
  }
};

#undef TG_ROW

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

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
template <typename T> struct Avx2Gemv;

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline double hsum(__m256d v) {
  __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

// Matrix-vector product, four rows at a time so each x load feeds four FMAs.
template <typename T, typename V, int W, typename Load, typename Fma, typename Zero>
void gemv_rows(int64_t m, int64_t k, T alpha, const T* a, int64_t lda, const T* x, T beta, T* y,
               int64_t incy, Load load, Fma fma, Zero zero) {
  auto finish = [&](int64_t i, T s) {
    y[i * incy] = beta == T(0) ? alpha * s : alpha * s + beta * y[i * incy];
  };
  int64_t i = 0;
  for (; i + 4 <= m; i += 4) {
    const T* r0 = a + i * lda;
    const T* r1 = r0 + lda;
    const T* r2 = r1 + lda;
    const T* r3 = r2 + lda;
    V s0 = zero(), s1 = zero(), s2 = zero(), s3 = zero();
    int64_t p = 0;
    for (; p + W <= k; p += W) {
      const V xv = load(x + p);
      s0 = fma(load(r0 + p), xv, s0);
      s1 = fma(load(r1 + p), xv, s1);
      s2 = fma(load(r2 + p), xv, s2);
      s3 = fma(load(r3 + p), xv, s3);
    }
    T t0 = hsum(s0), t1 = hsum(s1), t2 = hsum(s2), t3 = hsum(s3);
    for (; p < k; ++p) {
      t0 += r0[p] * x[p];
      t1 += r1[p] * x[p];
      t2 += r2[p] * x[p];
      t3 += r3[p] * x[p];
    }
    finish(i, t0);
    finish(i + 1, t1);
    finish(i + 2, t2);
    finish(i + 3, t3);
  }
  for (; i < m; ++i) {
    const T* r = a + i * lda;
    V s = zero();
    int64_t p = 0;
    for (; p + W <= k; p += W) s = fma(load(r + p), load(x + p), s);
    T t = hsum(s);
    for (; p < k; ++p) t += r[p] * x[p];
    finish(i, t);
  }
}

template <>
struct Avx2Gemv<float> {
  static void run(int64_t m, int64_t k, float alpha, const float* a, int64_t lda, const float* x,
                  float beta, float* y, int64_t incy) {
    gemv_rows<float, __m256, 8>(
        m, k, alpha, a, lda, x, beta, y, incy, [](const float* p) { return _mm256_loadu_ps(p); },
        [](__m256 u, __m256 v, __m256 w) { return _mm256_fmadd_ps(u, v, w); },
        [] { return _mm256_setzero_ps(); });
  }
};

template <>
struct Avx2Gemv<double> {
  static void run(int64_t m, int64_t k, double alpha, const double* a, int64_t lda,
                  const double* x, double beta, double* y, int64_t incy) {
    gemv_rows<double, __m256d, 4>(
        m, k, alpha, a, lda, x, beta, y, incy, [](const double* p) { return _mm256_loadu_pd(p); },
        [](__m256d u, __m256d v, __m256d w) { return _mm256_fmadd_pd(u, v, w); },
        [] { return _mm256_setzero_pd(); });
  }
};

// One k step of a 6-row tile: row i of the tile gets A(i, p) * (b0, b1). A is either packed
// (MR values per k step at ap) or read in place through row pointers r0..r5 and a k stride.
#define TG_A(i) (kPackedA ? ap + i : r##i + p * a_step)
#define TG_ROW(i, c0, c1, bcast, fma)          \
  {                                            \
    const auto ai = bcast(TG_A(i));            \
    c0 = fma(ai, b0, c0);                      \
    c1 = fma(ai, b1, c1);                      \
  }

template <>
struct Avx2Micro<float> {
  static constexpr int MR = 6, NR = 16;
  // kPackedA: a is a packed MR x kc panel. Otherwise rows[i] points at A(i, 0) in the matrix
  // itself and A(i, p) = rows[i][p * a_step].
  template <bool kPackedA>
  static void run(int64_t kc, const float* a, const float* const* rows, int64_t a_step,
                  const float* b, float* c, int64_t ldc, float alpha, float beta, int mr, int nr) {
    const float *r0 = rows[0], *r1 = rows[1], *r2 = rows[2], *r3 = rows[3], *r4 = rows[4],
                *r5 = rows[5];
    // The C tile's rows are far apart in memory: start fetching them now so the stores at the
    // end do not wait on misses.
    for (int i = 0; i < mr; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
           c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int64_t p = 0; p < kc; ++p) {
      // Packed panels are 64-byte aligned and a B row is 64 bytes: aligned loads.
      const __m256 b0 = _mm256_load_ps(b + p * NR);
      const __m256 b1 = _mm256_load_ps(b + p * NR + 8);
      const float* ap = a + p * MR;
      TG_ROW(0, c00, c01, _mm256_broadcast_ss, _mm256_fmadd_ps)
      TG_ROW(1, c10, c11, _mm256_broadcast_ss, _mm256_fmadd_ps)
      TG_ROW(2, c20, c21, _mm256_broadcast_ss, _mm256_fmadd_ps)
      TG_ROW(3, c30, c31, _mm256_broadcast_ss, _mm256_fmadd_ps)
      TG_ROW(4, c40, c41, _mm256_broadcast_ss, _mm256_fmadd_ps)
      TG_ROW(5, c50, c51, _mm256_broadcast_ss, _mm256_fmadd_ps)
    }
    alignas(32) float tile[MR][NR];
    const __m256 tile_rows[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                                {c30, c31}, {c40, c41}, {c50, c51}};
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    if (mr == MR && nr == NR) {
      for (int i = 0; i < MR; ++i) {
        float* crow = c + i * ldc;
        __m256 r0 = _mm256_mul_ps(va, tile_rows[i][0]), r1 = _mm256_mul_ps(va, tile_rows[i][1]);
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
      _mm256_store_ps(tile[i], tile_rows[i][0]);
      _mm256_store_ps(tile[i] + 8, tile_rows[i][1]);
      float* crow = c + i * ldc;
      for (int j = 0; j < nr; ++j)
        crow[j] = beta == 0.0f ? alpha * tile[i][j] : alpha * tile[i][j] + beta * crow[j];
    }
  }
};

template <>
struct Avx2Micro<double> {
  static constexpr int MR = 6, NR = 8;
  template <bool kPackedA>
  static void run(int64_t kc, const double* a, const double* const* rows, int64_t a_step,
                  const double* b, double* c, int64_t ldc, double alpha, double beta, int mr,
                  int nr) {
    const double *r0 = rows[0], *r1 = rows[1], *r2 = rows[2], *r3 = rows[3], *r4 = rows[4],
                 *r5 = rows[5];
    for (int i = 0; i < mr; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    __m256d c00 = _mm256_setzero_pd(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
            c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int64_t p = 0; p < kc; ++p) {
      const __m256d b0 = _mm256_load_pd(b + p * NR);
      const __m256d b1 = _mm256_load_pd(b + p * NR + 4);
      const double* ap = a + p * MR;
      TG_ROW(0, c00, c01, _mm256_broadcast_sd, _mm256_fmadd_pd)
      TG_ROW(1, c10, c11, _mm256_broadcast_sd, _mm256_fmadd_pd)
      TG_ROW(2, c20, c21, _mm256_broadcast_sd, _mm256_fmadd_pd)
      TG_ROW(3, c30, c31, _mm256_broadcast_sd, _mm256_fmadd_pd)
      TG_ROW(4, c40, c41, _mm256_broadcast_sd, _mm256_fmadd_pd)
      TG_ROW(5, c50, c51, _mm256_broadcast_sd, _mm256_fmadd_pd)
    }
    alignas(32) double tile[MR][NR];
    const __m256d tile_rows[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                                 {c30, c31}, {c40, c41}, {c50, c51}};
    for (int i = 0; i < mr; ++i) {
      _mm256_store_pd(tile[i], tile_rows[i][0]);
      _mm256_store_pd(tile[i] + 4, tile_rows[i][1]);
      double* crow = c + i * ldc;
      for (int j = 0; j < nr; ++j)
        crow[j] = beta == 0.0 ? alpha * tile[i][j] : alpha * tile[i][j] + beta * crow[j];
    }
  }
};

#undef TG_ROW
#undef TG_A

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

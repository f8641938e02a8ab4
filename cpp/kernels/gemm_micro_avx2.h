// AVX2+FMA GEMM kernels, one template for float and double over a small vector-traits struct:
// - the micro-kernel: a 6 x (2 vectors) tile, i.e. 6 x 16 float or 6 x 8 double, held in 12 ymm
//   accumulators: the largest tile that leaves registers for the B row and the A broadcast;
// - GEMV (n == 1): four rows at a time, so each vector load of x feeds four FMAs.
// The accumulators are named variables, not an array: an array indexed after the loop makes the
// compiler keep it in memory and store every accumulator on every k step.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace tapegrad::kernels::TG_ISA {
namespace {

template <typename T> struct Avx2Vec;

template <>
struct Avx2Vec<float> {
  using V = __m256;
  static constexpr int W = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static V load_aligned(const float* p) { return _mm256_load_ps(p); }
  static V bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static void store_aligned(float* p, V v) { _mm256_store_ps(p, v); }
  static float hsum(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
  }
};

template <>
struct Avx2Vec<double> {
  using V = __m256d;
  static constexpr int W = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V set1(double x) { return _mm256_set1_pd(x); }
  static V load(const double* p) { return _mm256_loadu_pd(p); }
  static V load_aligned(const double* p) { return _mm256_load_pd(p); }
  static V bcast(const double* p) { return _mm256_broadcast_sd(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  static void store_aligned(double* p, V v) { _mm256_store_pd(p, v); }
  static double hsum(V v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  }
};

template <typename T>
struct Avx2Gemv {
  // y[i] = alpha * dot(A[i, :], x) + beta * y[i] for row-major A and unit-stride x.
  static void run(int64_t m, int64_t k, T alpha, const T* a, int64_t lda, const T* x, T beta,
                  T* y, int64_t incy) {
    using X = Avx2Vec<T>;
    using V = typename X::V;
    constexpr int W = X::W;
    auto finish = [&](int64_t i, T s) {
      y[i * incy] = beta == T(0) ? alpha * s : alpha * s + beta * y[i * incy];
    };
    int64_t i = 0;
    for (; i + 4 <= m; i += 4) {
      const T* r0 = a + i * lda;
      const T* r1 = r0 + lda;
      const T* r2 = r1 + lda;
      const T* r3 = r2 + lda;
      V s0 = X::zero(), s1 = X::zero(), s2 = X::zero(), s3 = X::zero();
      int64_t p = 0;
      for (; p + W <= k; p += W) {
        const V xv = X::load(x + p);
        s0 = X::fma(X::load(r0 + p), xv, s0);
        s1 = X::fma(X::load(r1 + p), xv, s1);
        s2 = X::fma(X::load(r2 + p), xv, s2);
        s3 = X::fma(X::load(r3 + p), xv, s3);
      }
      T t0 = X::hsum(s0), t1 = X::hsum(s1), t2 = X::hsum(s2), t3 = X::hsum(s3);
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
      V s = X::zero();
      int64_t p = 0;
      for (; p + W <= k; p += W) s = X::fma(X::load(r + p), X::load(x + p), s);
      T t = X::hsum(s);
      for (; p < k; ++p) t += r[p] * x[p];
      finish(i, t);
    }
  }
};

// One k step of the tile: row i gets A(i, p) * (b0, b1). A is either packed (MR values per k
// step at ap) or read in place through row pointers r0..r5 and a k stride.
#define TG_ROW(i, c0, c1)                                          \
  {                                                                \
    const V ai = X::bcast(kPackedA ? ap + i : r##i + p * a_step);  \
    c0 = X::fma(ai, b0, c0);                                       \
    c1 = X::fma(ai, b1, c1);                                       \
  }

template <typename T>
struct Avx2Micro {
  using X = Avx2Vec<T>;
  using V = typename X::V;
  static constexpr int MR = 6, NR = 2 * X::W;

  // C[0:mr, 0:nr] = alpha * op(A) B + beta * C (beta == 0: C not read). kPackedA: a is a packed
  // MR x kc panel; otherwise rows[i] points at A(i, 0) and A(i, p) = rows[i][p * a_step].
  template <bool kPackedA>
  static void run(int64_t kc, const T* a, const T* const* rows, int64_t a_step, const T* b, T* c,
                  int64_t ldc, T alpha, T beta, int mr, int nr) {
    const T* r0 = kPackedA ? nullptr : rows[0];
    const T* r1 = kPackedA ? nullptr : rows[1];
    const T* r2 = kPackedA ? nullptr : rows[2];
    const T* r3 = kPackedA ? nullptr : rows[3];
    const T* r4 = kPackedA ? nullptr : rows[4];
    const T* r5 = kPackedA ? nullptr : rows[5];
    // The C tile's rows are far apart in memory: start fetching them now so the stores at the
    // end do not wait on misses.
    for (int i = 0; i < mr; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    V c00 = X::zero(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
      c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int64_t p = 0; p < kc; ++p) {
      // Packed B panels are 64-byte aligned and a B row is 64 bytes: aligned loads.
      const V b0 = X::load_aligned(b + p * NR);
      const V b1 = X::load_aligned(b + p * NR + X::W);
      const T* ap = a + p * MR;
      TG_ROW(0, c00, c01)
      TG_ROW(1, c10, c11)
      TG_ROW(2, c20, c21)
      TG_ROW(3, c30, c31)
      TG_ROW(4, c40, c41)
      TG_ROW(5, c50, c51)
    }
    const V tile_rows[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                                {c30, c31}, {c40, c41}, {c50, c51}};
    const V va = X::set1(alpha), vb = X::set1(beta);
    if (mr == MR && nr == NR) {
      for (int i = 0; i < MR; ++i) {
        T* crow = c + i * ldc;
        V o0 = X::mul(va, tile_rows[i][0]), o1 = X::mul(va, tile_rows[i][1]);
        if (beta != T(0)) {
          o0 = X::fma(vb, X::load(crow), o0);
          o1 = X::fma(vb, X::load(crow + X::W), o1);
        }
        X::store(crow, o0);
        X::store(crow + X::W, o1);
      }
      return;
    }
    alignas(32) T tile[MR][NR];
    for (int i = 0; i < mr; ++i) {
      X::store_aligned(tile[i], tile_rows[i][0]);
      X::store_aligned(tile[i] + X::W, tile_rows[i][1]);
      T* crow = c + i * ldc;
      for (int j = 0; j < nr; ++j)
        crow[j] = beta == T(0) ? alpha * tile[i][j] : alpha * tile[i][j] + beta * crow[j];
    }
  }
};

#undef TG_ROW

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

// AVX2+FMA GEMM kernels, one template for float and double over a small vector-traits struct:
// - the micro-kernel (SimdMicro, also the avx512 one over Avx512Vec): here a 6 x (2 vectors)
//   tile, i.e. 6 x 16 float or 6 x 8 double, held in 12 ymm accumulators: the largest tile that
//   leaves registers for the B row and the A broadcast;
// - GEMV (n == 1): eight rows at a time, from the eight eighths of A, so each vector load of x
//   feeds eight FMAs and eight memory streams are in flight;
// - the few-columns kernel, and the packers' register transposes.
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
  static void stream(float* p, V v) { _mm256_stream_ps(p, v); }  // p 32-byte aligned
  static float hsum(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
  }
  // The four sums of a, b, c, d at once (horizontal adds share their shuffles).
  static void hsum4(V a, V b, V c, V d, float* out) {
    const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
  }
  // dst[j * ldd + i] = src[i * lds + j] for i < 8, j < cols <= 8, in registers (columns past
  // `cols` are neither read nor written).
  static void transpose_tile(const float* src, int64_t lds, float* dst, int64_t ldd, int cols) {
    __m256 r[8], t[8];
    if (cols == 8) {
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * lds);
    } else {
      const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
      const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols), lane);
      for (int i = 0; i < 8; ++i) r[i] = _mm256_maskload_ps(src + i * lds, mask);
    }
    for (int i = 0; i < 8; i += 2) {  // pairs of rows interleaved: (r0[0], r1[0], r0[1], r1[1]) ...
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int h = 0; h < 8; h += 4) {  // four rows' worth of each column in each 128-bit half
      r[h] = _mm256_shuffle_ps(t[h], t[h + 2], 0x44);
      r[h + 1] = _mm256_shuffle_ps(t[h], t[h + 2], 0xEE);
      r[h + 2] = _mm256_shuffle_ps(t[h + 1], t[h + 3], 0x44);
      r[h + 3] = _mm256_shuffle_ps(t[h + 1], t[h + 3], 0xEE);
    }
    for (int j = 0; j < 4; ++j) {  // rows 0-3 from the low halves, rows 4-7 from the high ones
      t[j] = _mm256_permute2f128_ps(r[j], r[j + 4], 0x20);
      t[j + 4] = _mm256_permute2f128_ps(r[j], r[j + 4], 0x31);
    }
    for (int j = 0; j < cols; ++j) _mm256_storeu_ps(dst + j * ldd, t[j]);
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
  static void stream(double* p, V v) { _mm256_stream_pd(p, v); }  // p 32-byte aligned
  static double hsum(V v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  }
  static void hsum4(V a, V b, V c, V d, double* out) {
    const __m256d ab = _mm256_hadd_pd(a, b), cd = _mm256_hadd_pd(c, d);
    _mm_storeu_pd(out, _mm_add_pd(_mm256_castpd256_pd128(ab), _mm256_extractf128_pd(ab, 1)));
    _mm_storeu_pd(out + 2, _mm_add_pd(_mm256_castpd256_pd128(cd), _mm256_extractf128_pd(cd, 1)));
  }
  // dst[j * ldd + i] = src[i * lds + j] for i < 4, j < cols <= 4, in registers.
  static void transpose_tile(const double* src, int64_t lds, double* dst, int64_t ldd, int cols) {
    __m256d r[4];
    if (cols == 4) {
      for (int i = 0; i < 4; ++i) r[i] = _mm256_loadu_pd(src + i * lds);
    } else {
      const __m256i mask = _mm256_cmpgt_epi64(_mm256_set1_epi64x(cols), _mm256_setr_epi64x(0, 1, 2, 3));
      for (int i = 0; i < 4; ++i) r[i] = _mm256_maskload_pd(src + i * lds, mask);
    }
    const __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
    const __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    const __m256d out[4] = {_mm256_permute2f128_pd(t0, t2, 0x20), _mm256_permute2f128_pd(t1, t3, 0x20),
                            _mm256_permute2f128_pd(t0, t2, 0x31), _mm256_permute2f128_pd(t1, t3, 0x31)};
    for (int j = 0; j < cols; ++j) _mm256_storeu_pd(dst + j * ldd, out[j]);
  }
};

// Rows per GEMV group (a multiple of 4); a macro so that kernel_ab can build a side with another
// value (KERNEL_AB_DEFS_B="-DTG_GEMV_ROWS=4").
#ifndef TG_GEMV_ROWS
#define TG_GEMV_ROWS 8
#endif
// The GEMV over a vector type's traits (Vec<T>: V, W, zero, load, fma, hsum4): ymm here, zmm
// too on the avx512 path (gemm_micro_avx512.h).
template <typename T, template <typename> class Vec>
struct SimdGemv {
  // y[i] = alpha * dot(A[i, :], x) + beta * y[i] for row-major A and unit-stride x. Rows are
  // taken eight at a time from the eight eighths of A (i, i + q, ..., i + 7q): several
  // sequential streams in flight instead of one read A faster (10000 x 64 float from L3, median
  // per call: 52-55 us with four adjacent rows, 39-42 us with quarters). Eight rather than four:
  // with k = 64 each row's sum is a chain of 8 dependent FMAs, and four chains left the loads
  // waiting on FMA latency with A in L2 (kernel_ab, 1 thread: 0.93-0.95x the time at 10000 x
  // 64, 0.94-0.98x at 5000 and 2500 rows; 2 threads 1.01). Each row's sum is formed the same way
  // wherever it falls (same k order, same four-way horizontal sum), so results do not depend on
  // how rows are grouped or split between threads, nor on the direction (below).
  // descending: the row groups are taken last to first. The caller alternates it between calls,
  // so a matrix a little larger than L2 (10000 x 64 float: 2.56 MB, L2 2 MiB here) starts where
  // the previous call ended, on the rows still in L2, instead of always meeting the ones the
  // previous call's tail evicted.
  static void run(int64_t m, int64_t k, T alpha, const T* a, int64_t lda, const T* x, T beta,
                  T* y, int64_t incy, bool descending) {
    // beta decided once, not per row: with k = 64 a group of four rows is ~50 cycles, and the
    // per-row branch and tail bookkeeping cost a quarter of that (64 -> 40 us per call above).
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
    constexpr int G = TG_GEMV_ROWS;  // rows per group (a multiple of 4), one from each G-th of A
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

template <typename T> using Avx2Gemv = SimdGemv<T, Avx2Vec>;

// C = alpha * A Bt^T + beta * C for few columns (n <= 16) and row-major A: each C element is a dot
// product along k, vectorized along k, so no lane is wasted on padding columns (a 16-wide tile
// would waste 6 of 16 lanes at n = 10). Blocks of R rows x J columns (R * J <= 12 accumulators)
// share their loads: R + J vector loads feed R * J FMAs. bt is B transposed, n rows of k. Over a
// vector type's traits (Vec<T>: V, W, zero, load, fma, hsum4): ymm here, zmm too on the avx512
// path (gemm_micro_avx512.h); B is transposed with ymm tiles either way.
template <typename T, template <typename> class Vec>
struct SimdSmallN {
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
  // Row-major B goes through W x W register transposes: the strided scalar copy it replaces took
  // 5.5 us for 784 x 10 (a tenth of that product, and all of it on one thread).
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

template <typename T> using Avx2SmallN = SimdSmallN<T, Avx2Vec>;

// Packs a full 6-row panel of row-major float A (rows `lda` apart, contiguous along k) into
// the micro-kernel's order, 6 values per k step: four k steps at a time, a 4x4 transpose in
// registers for rows 0-3 and an interleave for rows 4-5, instead of 24 scalar stores.
inline void pack_rows6(const float* a, int64_t lda, int64_t kc, float* out) {
  const float* r[6] = {a, a + lda, a + 2 * lda, a + 3 * lda, a + 4 * lda, a + 5 * lda};
  int64_t p = 0;
  for (; p + 4 <= kc; p += 4) {
    __m128 x0 = _mm_loadu_ps(r[0] + p), x1 = _mm_loadu_ps(r[1] + p);
    __m128 x2 = _mm_loadu_ps(r[2] + p), x3 = _mm_loadu_ps(r[3] + p);
    const __m128 x4 = _mm_loadu_ps(r[4] + p), x5 = _mm_loadu_ps(r[5] + p);
    _MM_TRANSPOSE4_PS(x0, x1, x2, x3);  // x_q = rows 0-3 at k step p + q
    const __m128 lo = _mm_unpacklo_ps(x4, x5), hi = _mm_unpackhi_ps(x4, x5);
    float* d = out + p * 6;
    _mm_storeu_ps(d, x0);
    _mm_storel_pi(reinterpret_cast<__m64*>(d + 4), lo);
    _mm_storeu_ps(d + 6, x1);
    _mm_storeh_pi(reinterpret_cast<__m64*>(d + 10), lo);
    _mm_storeu_ps(d + 12, x2);
    _mm_storel_pi(reinterpret_cast<__m64*>(d + 16), hi);
    _mm_storeu_ps(d + 18, x3);
    _mm_storeh_pi(reinterpret_cast<__m64*>(d + 22), hi);
  }
  for (; p < kc; ++p)
    for (int i = 0; i < 6; ++i) out[p * 6 + i] = r[i][p];
}

// The same for double: 4x4 transposes of 256-bit rows.
inline void pack_rows6(const double* a, int64_t lda, int64_t kc, double* out) {
  const double* r[6] = {a, a + lda, a + 2 * lda, a + 3 * lda, a + 4 * lda, a + 5 * lda};
  int64_t p = 0;
  for (; p + 4 <= kc; p += 4) {
    const __m256d x0 = _mm256_loadu_pd(r[0] + p), x1 = _mm256_loadu_pd(r[1] + p);
    const __m256d x2 = _mm256_loadu_pd(r[2] + p), x3 = _mm256_loadu_pd(r[3] + p);
    const __m256d x4 = _mm256_loadu_pd(r[4] + p), x5 = _mm256_loadu_pd(r[5] + p);
    const __m256d t0 = _mm256_unpacklo_pd(x0, x1), t1 = _mm256_unpackhi_pd(x0, x1);
    const __m256d t2 = _mm256_unpacklo_pd(x2, x3), t3 = _mm256_unpackhi_pd(x2, x3);
    const __m256d u0 = _mm256_unpacklo_pd(x4, x5), u1 = _mm256_unpackhi_pd(x4, x5);
    double* d = out + p * 6;
    _mm256_storeu_pd(d, _mm256_permute2f128_pd(t0, t2, 0x20));
    _mm_storeu_pd(d + 4, _mm256_castpd256_pd128(u0));
    _mm256_storeu_pd(d + 6, _mm256_permute2f128_pd(t1, t3, 0x20));
    _mm_storeu_pd(d + 10, _mm256_castpd256_pd128(u1));
    _mm256_storeu_pd(d + 12, _mm256_permute2f128_pd(t0, t2, 0x31));
    _mm_storeu_pd(d + 16, _mm256_extractf128_pd(u0, 1));
    _mm256_storeu_pd(d + 18, _mm256_permute2f128_pd(t1, t3, 0x31));
    _mm_storeu_pd(d + 22, _mm256_extractf128_pd(u1, 1));
  }
  for (; p < kc; ++p)
    for (int i = 0; i < 6; ++i) out[p * 6 + i] = r[i][p];
}

// out[q * stride + i] = src[i][p + q] for i, q < 8: one 8x8 transpose in registers.
inline void transpose8x8_store(const float* const* src, int64_t p, float* out, int stride) {
  const __m256 r0 = _mm256_loadu_ps(src[0] + p), r1 = _mm256_loadu_ps(src[1] + p);
  const __m256 r2 = _mm256_loadu_ps(src[2] + p), r3 = _mm256_loadu_ps(src[3] + p);
  const __m256 r4 = _mm256_loadu_ps(src[4] + p), r5 = _mm256_loadu_ps(src[5] + p);
  const __m256 r6 = _mm256_loadu_ps(src[6] + p), r7 = _mm256_loadu_ps(src[7] + p);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  // s_q holds k steps q and q+4 of columns 0-3 (low half) or 4-7 (high half) of this block.
  _mm256_storeu_ps(out + 0 * stride, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(out + 1 * stride, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(out + 2 * stride, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(out + 3 * stride, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(out + 4 * stride, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(out + 5 * stride, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(out + 6 * stride, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_storeu_ps(out + 7 * stride, _mm256_permute2f128_ps(s3, s7, 0x31));
}

// S k steps (p to p + S - 1) of R rows r[i], interleaved into out (R values per k step): an 8x8
// register transpose per 8 rows and 8 steps, a 4x4 one per last 4 rows and 4 steps, element
// copies for any last 1-3 rows.
template <int R, int S>
inline void interleave_steps(const float* const* r, int64_t p, float* out) {
  int g = 0;
  for (; g + 8 <= R; g += 8)
    for (int h = 0; h < S; h += 8) transpose8x8_store(r + g, p + h, out + (p + h) * R + g, R);
  if (g + 4 <= R) {
    for (int h = 0; h < S; h += 4) {
      __m128 x0 = _mm_loadu_ps(r[g] + p + h), x1 = _mm_loadu_ps(r[g + 1] + p + h);
      __m128 x2 = _mm_loadu_ps(r[g + 2] + p + h), x3 = _mm_loadu_ps(r[g + 3] + p + h);
      _MM_TRANSPOSE4_PS(x0, x1, x2, x3);
      float* d = out + (p + h) * R + g;
      _mm_storeu_ps(d, x0);
      _mm_storeu_ps(d + R, x1);
      _mm_storeu_ps(d + 2 * R, x2);
      _mm_storeu_ps(d + 3 * R, x3);
    }
    g += 4;
  }
  for (; g < R; ++g)
    for (int q = 0; q < S; ++q) out[(p + q) * R + g] = r[g][p + q];
}

// The same for double: S k steps of R rows, a 4x4 transpose of 256-bit rows per 4 rows and 4
// steps, element copies for any last 1-3 rows.
template <int R, int S>
inline void interleave_steps(const double* const* r, int64_t p, double* out) {
  int g = 0;
  for (; g + 4 <= R; g += 4) {
    for (int h = 0; h < S; h += 4) {
      const int64_t q = p + h;
      const __m256d x0 = _mm256_loadu_pd(r[g] + q), x1 = _mm256_loadu_pd(r[g + 1] + q);
      const __m256d x2 = _mm256_loadu_pd(r[g + 2] + q), x3 = _mm256_loadu_pd(r[g + 3] + q);
      const __m256d t0 = _mm256_unpacklo_pd(x0, x1), t1 = _mm256_unpackhi_pd(x0, x1);
      const __m256d t2 = _mm256_unpacklo_pd(x2, x3), t3 = _mm256_unpackhi_pd(x2, x3);
      double* d = out + q * R + g;
      _mm256_storeu_pd(d, _mm256_permute2f128_pd(t0, t2, 0x20));
      _mm256_storeu_pd(d + R, _mm256_permute2f128_pd(t1, t3, 0x20));
      _mm256_storeu_pd(d + 2 * R, _mm256_permute2f128_pd(t0, t2, 0x31));
      _mm256_storeu_pd(d + 3 * R, _mm256_permute2f128_pd(t1, t3, 0x31));
    }
  }
  for (; g < R; ++g)
    for (int q = 0; q < S; ++q) out[(p + q) * R + g] = r[g][p + q];
}

// out[p * R + i] = src_i[p] for the R rows src_i = src + i * ld (p < kc): R rows interleaved,
// R values per k step. It packs a full panel of either operand whose packed order runs across
// its stored rows: an NR-column panel of transposed B (column j of op(B) is row j of B) or, for
// the avx512 tile, an MR-row panel of row-major A.
// A whole 64-byte line of each row at a time (16 float or 8 double k steps), then half a line,
// then single steps, so each line is read whole while it is in L1: rows ld apart share L1 sets
// when ld is a multiple of 1 KiB, and half-line steps read each line in two halves, the second
// often after the line had been evicted. Sapphire Rapids, 1 thread: the packing alone took
// 0.90x the time for the 32-row panels of a transposed 1024 x 1024 B (0.75x for the 12-row
// panels of a 256 x 1024 A); the whole 256 x 1024 . (1024 x 1024)^T product (the deep step's
// g W^T) 0.973x (kernel_ab), other shapes unchanged (0.998-1.000).
template <int R, typename T>
void pack_interleaved(const T* src, int64_t ld, int64_t kc, T* out) {
  constexpr int kLine = 64 / static_cast<int>(sizeof(T)), kHalf = kLine / 2;
  const T* r[R];
  for (int i = 0; i < R; ++i) r[i] = src + i * ld;
  int64_t p = 0;
  for (; p + kLine <= kc; p += kLine) interleave_steps<R, kLine>(r, p, out);
  for (; p + kHalf <= kc; p += kHalf) interleave_steps<R, kHalf>(r, p, out);
  for (; p < kc; ++p)
    for (int i = 0; i < R; ++i) out[p * R + i] = r[i][p];
}

// The micro-kernel: an MR x (2 vectors) tile of C in 2 * MR accumulators, over vector traits
// with Avx2Vec's members: Avx2Vec with MR = 6 here (12 of the 16 ymm registers), Avx512Vec
// with MR = 12 in gemm_micro_avx512.h (24 of the 32 zmm registers); plus 2 for the B row and 1
// for the A broadcast. Per k step 2 vector loads and MR broadcasts (load-port only) feed 2 * MR
// FMAs: the FMA ports, not the loads, set the pace. The accumulator array is indexed only by
// constants after the unrolling, so it lives in registers (checked in the assembly of both
// tiles: no stack traffic in the k loop).
template <typename T, template <typename> class Vec, int MR_>
struct SimdMicro {
  using X = Vec<T>;
  using V = typename X::V;
  static constexpr int MR = MR_, NR = 2 * X::W;

  // Full panels (see gemm_blocked.h's packers).
  static void pack_rows(const T* a, int64_t lda, int64_t kc, T* out) {
    if constexpr (MR == 6) {
      pack_rows6(a, lda, kc, out);
    } else {
      pack_interleaved<MR>(a, lda, kc, out);
    }
  }
  static void pack_cols(const T* b, int64_t ldb, int64_t kc, T* out) { pack_interleaved<NR>(b, ldb, kc, out); }

  // C[0:mr, 0:nr] = alpha * op(A) B + beta * C (beta == 0: C not read). kPackedA: a is a packed
  // MR x kc panel; otherwise rows[i] points at A(i, 0) and A(i, p) = rows[i][p * a_step].
  // A packed tile of at most 4 or 8 rows (the bottom edge of C: 256 rows are 21 tiles and 4
  // rows) runs a 4- or 8-row loop: each C element is the same chain of FMAs, so the same bits.
  // stream_c (with beta == 0, and C's rows aligned to 64 bytes: see gemm_blocked.h) writes a
  // whole tile with non-temporal stores, which do not read C's lines first.
  // b_ahead (packed A only): kc * 16 bytes of packed B to bring into L2 meanwhile, one line every
  // 4 k steps (see multiply_block).
  template <bool kPackedA>
  static void run(int64_t kc, const T* a, const T* const* rows, int64_t a_step, const T* b, T* c,
                  int64_t ldc, T alpha, T beta, int mr, int nr, bool stream_c = false,
                  const T* b_ahead = nullptr) {
    if constexpr (kPackedA) {
      if (b_ahead) return run_tile<true>(kc, a, b, c, ldc, alpha, beta, mr, nr, stream_c, b_ahead);
      return run_tile<false>(kc, a, b, c, ldc, alpha, beta, mr, nr, stream_c, nullptr);
    } else {
      run_rows<false, MR, false>(kc, a, rows, a_step, b, c, ldc, alpha, beta, mr, nr, stream_c,
                                 nullptr);
    }
  }

 private:
  template <bool kAhead>
  static void run_tile(int64_t kc, const T* a, const T* b, T* c, int64_t ldc, T alpha, T beta,
                       int mr, int nr, bool stream_c, const T* ahead) {
    if constexpr (MR > 8) {
      if (mr <= 4)
        return run_rows<true, 4, kAhead>(kc, a, nullptr, 0, b, c, ldc, alpha, beta, mr, nr,
                                         stream_c, ahead);
      if (mr <= 8)
        return run_rows<true, 8, kAhead>(kc, a, nullptr, 0, b, c, ldc, alpha, beta, mr, nr,
                                         stream_c, ahead);
    }
    run_rows<true, MR, kAhead>(kc, a, nullptr, 0, b, c, ldc, alpha, beta, mr, nr, stream_c,
                               ahead);
  }

  // The tile's first ROWS rows (mr <= ROWS <= MR); a packed panel still holds MR values per k step.
  template <bool kPackedA, int ROWS, bool kAhead>
  static void run_rows(int64_t kc, const T* a, const T* const* rows, int64_t a_step, const T* b,
                       T* c, int64_t ldc, T alpha, T beta, int mr, int nr, bool stream_c,
                       const T* ahead) {
    const bool streaming = stream_c && beta == T(0) && mr == ROWS && nr == NR;
    // The C tile's rows are far apart: start fetching them now so the stores at the end do not
    // wait on misses; both ends of each row, which is 64 (ymm) or 128 (zmm) bytes, one or two
    // lines when aligned. Into L2, not L1: with ldc a multiple of 1 KiB the rows share one L1
    // set with the B panel the loop keeps reusing, and in L1 they could evict it. (Fetching
    // only the first line of a 128-byte row ran 1.05x the time at 2048^3, fair A/B.)
    for (int i = 0; i < mr && !streaming; ++i) {
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T1);
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T1);
    }
    V acc[ROWS][2];
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i) acc[i][0] = acc[i][1] = X::zero();
    for (int64_t p = 0; p < kc; ++p) {
      // B's row 16 k steps ahead, both lines of a zmm row: when the packed panel is past L2
      // (2048^3: 344 x 2048 floats) the hardware stream restarts at every 4 KiB. kernel_ab,
      // avx512: 0.979-0.981x the time at 2048^3 in busier spells, 0.995-1.001x at 512^3-2048^3
      // and the 256-row shapes in quiet ones, on 2 threads too; same bits.
      _mm_prefetch(reinterpret_cast<const char*>(b + (p + 16) * NR), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(b + (p + 16) * NR + NR - 1), _MM_HINT_T0);
      if constexpr (kAhead)
        _mm_prefetch(reinterpret_cast<const char*>(ahead + p * (16 / sizeof(T))), _MM_HINT_T1);
      const V b0 = X::load_aligned(b + p * NR);  // packed B panels are 64-byte aligned
      const V b1 = X::load_aligned(b + p * NR + X::W);
#pragma GCC unroll 16
      for (int i = 0; i < ROWS; ++i) {
        const V ai = X::bcast(kPackedA ? a + p * MR + i : rows[i] + p * a_step);
        acc[i][0] = X::fma(ai, b0, acc[i][0]);
        acc[i][1] = X::fma(ai, b1, acc[i][1]);
      }
    }
    const V va = X::set1(alpha), vb = X::set1(beta);
    if (streaming) {
#pragma GCC unroll 16
      for (int i = 0; i < ROWS; ++i) {
        X::stream(c + i * ldc, X::mul(va, acc[i][0]));
        X::stream(c + i * ldc + X::W, X::mul(va, acc[i][1]));
      }
      return;
    }
    if (mr == ROWS && nr == NR) {
#pragma GCC unroll 16
      for (int i = 0; i < ROWS; ++i) {
        T* crow = c + i * ldc;
        V o0 = X::mul(va, acc[i][0]), o1 = X::mul(va, acc[i][1]);
        if (beta != T(0)) {
          o0 = X::fma(vb, X::load(crow), o0);
          o1 = X::fma(vb, X::load(crow + X::W), o1);
        }
        X::store(crow, o0);
        X::store(crow + X::W, o1);
      }
      return;
    }
    alignas(64) T tile[ROWS][NR];
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i) {
      X::store_aligned(tile[i], acc[i][0]);
      X::store_aligned(tile[i] + X::W, acc[i][1]);
    }
    for (int i = 0; i < mr; ++i) {
      T* crow = c + i * ldc;
      for (int j = 0; j < nr; ++j)
        crow[j] = beta == T(0) ? alpha * tile[i][j] : alpha * tile[i][j] + beta * crow[j];
    }
  }
};

template <typename T> using Avx2Micro = SimdMicro<T, Avx2Vec, 6>;

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

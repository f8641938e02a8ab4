// AVX-512 GEMM kernels: the vector traits for gemm_micro_avx2.h's micro-kernel template, its
// tile height and block sizes.
// The GEMV and the few-columns kernel are gemm_micro_avx2.h's, in zmm registers for most k
// (Avx512Gemv, Avx512SmallN below).
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "kernels/gemm_micro_avx2.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

template <typename T> struct Avx512Vec;

template <>
struct Avx512Vec<float> {
  using V = __m512;
  static constexpr int W = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static V load_aligned(const float* p) { return _mm512_load_ps(p); }
  static V bcast(const float* p) { return _mm512_set1_ps(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static void store_aligned(float* p, V v) { _mm512_store_ps(p, v); }
  static void stream(float* p, V v) { _mm512_stream_ps(p, v); }  // p 64-byte aligned
  // out[0..3] = the sums of a, b, c, d: each folded to 8 lanes, then Avx2Vec's sum.
  static void hsum4(V a, V b, V c, V d, float* out) {
    Avx2Vec<float>::hsum4(fold(a), fold(b), fold(c), fold(d), out);
  }
  static __m256 fold(V a) {
    return _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
  }
};

template <>
struct Avx512Vec<double> {
  using V = __m512d;
  static constexpr int W = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V set1(double x) { return _mm512_set1_pd(x); }
  static V load(const double* p) { return _mm512_loadu_pd(p); }
  static V load_aligned(const double* p) { return _mm512_load_pd(p); }
  static V bcast(const double* p) { return _mm512_set1_pd(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static void store(double* p, V v) { _mm512_storeu_pd(p, v); }
  static void store_aligned(double* p, V v) { _mm512_store_pd(p, v); }
  static void stream(double* p, V v) { _mm512_stream_pd(p, v); }  // p 64-byte aligned
  static void hsum4(V a, V b, V c, V d, double* out) {
    Avx2Vec<double>::hsum4(fold(a), fold(b), fold(c), fold(d), out);
  }
  static __m256d fold(V a) {
    return _mm256_add_pd(_mm512_castpd512_pd256(a), _mm512_extractf64x4_pd(a, 1));
  }
};

// Whether a kernel that vectorizes along k takes zmm registers: k is at least one zmm (W lanes)
// and k % W < W / 2, i.e. its scalar tail is the one ymm would leave. The choice depends on k
// alone: every call of a shape gives the same bits, whatever the thread count.
// The GEMV (Avx512Gemv): each row's chain has half the FMAs and A half the loads. kernel_ab,
// 10000 x 64 . 64 x 1 float: 0.86-0.92x the time on 2 threads (each half of A in its core's
// L2), 0.94-0.95x on 1; 2500 rows (in L2) 0.82-0.84x on 1 thread, 0.95x on 2; 17000 rows (from
// L3) 0.97-1.00x. Other k keep the ymm kernel.
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

// The few-columns kernel (dot products along k) in zmm registers on the same rule as the GEMV.
// kernel_ab, 256 x 784 . 784 x 10 float: 0.77x the time on 1 thread, 0.84x on 2. With a k whose
// zmm tail is longer than ymm's it lost (1000 x 300 . 300 x 5: 1.31x), hence the rule. (An
// earlier zmm version, before the kernel took 3-row blocks, read 1.07-1.46x.)
template <typename T>
struct Avx512SmallN {
  static void transpose_b(int64_t k, int64_t n, const T* b, int64_t b_row, int64_t b_col, T* bt) {
    Avx2SmallN<T>::transpose_b(k, n, b, b_row, b_col, bt);
  }
  static void run(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* bt,
                  T beta, T* c, int64_t ldc) {
    if (zmm_pays<T>(k))
      SimdSmallN<T, Avx512Vec>::run(m, n, k, alpha, a, lda, bt, beta, c, ldc);
    else
      Avx2SmallN<T>::run(m, n, k, alpha, a, lda, bt, beta, c, ldc);
  }
};

#ifndef TG_AVX512_MR
#define TG_AVX512_MR 12
#endif
// The micro-kernel (gemm_micro_avx2.h's SimdMicro) in zmm registers: 12 x 32 float, 12 x 16 double.
template <typename T> using Avx512Micro = SimdMicro<T, Avx512Vec, TG_AVX512_MR>;

// Block sizes for this tile, measured on Sapphire Rapids (per core: L1d 48 KiB, L2 2 MiB; L3
// 105 MiB shared) with the fair A/B (bench/kernel_ab, KERNEL_AB_ISA=avx512), float:
//   KC = 384: 0.93-0.99x the time of 256 at 256^3-2048^3 and 256x1024x1024 (fewer passes over
//       C per product); 192 ran 1.02-1.08x.
//       The B micro-panel (384 x 32 x 4 B = 48 KiB) is then as large as L1d: it is the A
//       micro-panel (12 x 384 x 4 B = 18 KiB) that streams, from L2.
//   MC = 120 (10 tiles): the packed A block, 180 KiB, a tenth of L2; 240 and 480 were no faster.
//   NC = 3072: the packed B panel, 4.5 MiB, lives in L3.
//   ONE_BLOCK_K = 512 from ONE_BLOCK_ROWS = 512 rows of C (float; gemm_blocked.h): k in
//       (384, 512] as one K block. kernel_ab (operands on huge pages; identical builds read
//       1.000-1.007): 0.947-0.949x the time at 1024x1024x512, 0.935x at 2048x2048x512,
//       0.983-0.986x at 512^3; on 2 threads 0.963-0.971x. With 256 rows a 512 block lost
//       (1.028x at 256x1024x512). Blocks of 512 for any k (from 512 rows) read 0.977-1.005x at
//       2048^3 in quiet spells but 0.97-1.10x in busy ones, and are not used.
//   WIDE_NC = 1024 from WIDE_PANEL_BYTES = 4 MiB (float; gemm_blocked.h's gemm_nest_wide): when
//       the usual B panel (a K block by up to NC columns) would pass 4 MiB, twice L2, B goes in
//       panels of 1024 columns that stay in L2, A packed once per K block for up to
//       WIDE_ROWS = 4096 rows (6 MiB). kernel_ab: 0.948x the time at 3000^3, 0.906-0.908x at
//       256x4096x1024 (plain and both transposed). Panels of 2.2-2.75 MiB gained nothing from
//       the wide order (1.004x at 2048^3, 1.015-1.027x at 1500^3) and keep the usual one.
// Double keeps KC and halves MC and NC: the same bytes per block as float (its B micro-panel,
// 384 x 16 x 8 B, is float's size too).
// MR 8, 10 and 14 were each 1-3% slower than 12 (same A/B). The TG_AVX512_* macros exist so
// that kernel_ab can build a side with other values (KERNEL_AB_DEFS_B="-DTG_AVX512_MR=8").
#ifndef TG_AVX512_KC
#define TG_AVX512_KC 384
#endif
#ifndef TG_AVX512_MC
#define TG_AVX512_MC 120
#endif
#ifndef TG_AVX512_NC
#define TG_AVX512_NC 3072
#endif
#ifndef TG_AVX512_WIDE_NC
#define TG_AVX512_WIDE_NC 1024
#endif
#ifndef TG_AVX512_ONE_BLOCK_K
#define TG_AVX512_ONE_BLOCK_K 512
#endif
template <typename T> struct Avx512Blocking;
template <> struct Avx512Blocking<float> {
  static constexpr int64_t KC = TG_AVX512_KC, MC = TG_AVX512_MC, NC = TG_AVX512_NC;
  static constexpr int64_t ONE_BLOCK_K = TG_AVX512_ONE_BLOCK_K, ONE_BLOCK_ROWS = 512;
  static constexpr int64_t WIDE_NC = TG_AVX512_WIDE_NC, WIDE_ROWS = 4096;
  static constexpr int64_t WIDE_PANEL_BYTES = int64_t(4) << 20;
};
template <> struct Avx512Blocking<double> {
  static constexpr int64_t KC = TG_AVX512_KC, MC = TG_AVX512_MC / 2, NC = TG_AVX512_NC / 2;
  static constexpr int64_t ONE_BLOCK_K = KC, ONE_BLOCK_ROWS = 0;  // not measured for double
  static constexpr int64_t WIDE_NC = 0, WIDE_ROWS = 0, WIDE_PANEL_BYTES = 0;  // nor this
};

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

// AVX-512 GEMM kernels: an MR x (2 vectors) micro-kernel in zmm registers.
// GEMV and the few-columns kernel stay on the AVX2 code (gemm_micro_avx2.h): GEMV is limited by
// memory, and the few-columns kernel with its dot products in zmm registers took 1.07-1.46x the
// time of the ymm one at 256 x 784 . 784 x 10 and similar shapes (fair A/B, Sapphire Rapids).
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
};

// The micro-kernel: an MR x (2 zmm) tile of C in 2 * MR accumulators. MR = 12 uses 24 of the 32
// zmm registers, plus 2 for the B row and 1 for the A broadcast. Per k step 2 vector loads and
// MR broadcasts (load-port only) feed 2 * MR FMAs: the FMA ports, not the loads, set the pace.
// The accumulator array is indexed only by constants after the unrolling, so it lives in
// registers (checked in the assembly: no stack traffic in the k loop).
template <typename T, int MR_>
struct Avx512MicroT {
  using X = Avx512Vec<T>;
  using V = typename X::V;
  static constexpr int MR = MR_, NR = 2 * X::W;

  // Full panels, both through gemm_micro_avx2.h's row interleave (see gemm_blocked.h's packers).
  static void pack_rows(const T* a, int64_t lda, int64_t kc, T* out) { pack_interleaved<MR>(a, lda, kc, out); }
  static void pack_cols(const T* b, int64_t ldb, int64_t kc, T* out) { pack_interleaved<NR>(b, ldb, kc, out); }

  // C[0:mr, 0:nr] = alpha * op(A) B + beta * C (beta == 0: C not read). kPackedA: a is a packed
  // MR x kc panel; otherwise rows[i] points at A(i, 0) and A(i, p) = rows[i][p * a_step].
  // A packed tile of at most 4 or 8 rows (the bottom edge of C: 256 rows are 21 tiles and 4
  // rows) runs a 4- or 8-row loop: each C element is the same chain of FMAs, so the same bits.
  template <bool kPackedA>
  static void run(int64_t kc, const T* a, const T* const* rows, int64_t a_step, const T* b, T* c,
                  int64_t ldc, T alpha, T beta, int mr, int nr) {
    if constexpr (kPackedA && MR > 8) {
      if (mr <= 4) return run_rows<true, 4>(kc, a, rows, a_step, b, c, ldc, alpha, beta, mr, nr);
      if (mr <= 8) return run_rows<true, 8>(kc, a, rows, a_step, b, c, ldc, alpha, beta, mr, nr);
    }
    run_rows<kPackedA, MR>(kc, a, rows, a_step, b, c, ldc, alpha, beta, mr, nr);
  }

 private:
  // The tile's first ROWS rows (mr <= ROWS <= MR); a packed panel still holds MR values per k step.
  template <bool kPackedA, int ROWS>
  static void run_rows(int64_t kc, const T* a, const T* const* rows, int64_t a_step, const T* b,
                       T* c, int64_t ldc, T alpha, T beta, int mr, int nr) {
    // The C tile's rows are far apart: start fetching them now (see gemm_micro_avx2.h). A row
    // of the tile is 128 bytes, two cache lines (three when C is not 64-byte aligned): fetch
    // its first and last byte's lines.
    for (int i = 0; i < mr; ++i) {
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T1);
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T1);
    }
    V acc[ROWS][2];
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i) acc[i][0] = acc[i][1] = X::zero();
    for (int64_t p = 0; p < kc; ++p) {
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

#ifndef TG_AVX512_MR
#define TG_AVX512_MR 12
#endif
template <typename T> using Avx512Micro = Avx512MicroT<T, TG_AVX512_MR>;

// Block sizes for this tile, measured on Sapphire Rapids (per core: L1d 48 KiB, L2 2 MiB; L3
// 105 MiB shared) with the fair A/B (bench/kernel_ab, KERNEL_AB_ISA=avx512), float:
//   KC = 384: 0.93-0.99x the time of 256 at 256^3-2048^3 and 256x1024x1024 (fewer passes over
//       C per product); 512 ran 0.90x at 2048^3 but 1.03x at 256x1024x1024, 192 ran 1.02-1.08x.
//       The B micro-panel (384 x 32 x 4 B = 48 KiB) is then as large as L1d: it is the A
//       micro-panel (12 x 384 x 4 B = 18 KiB) that streams, from L2.
//   MC = 120 (10 tiles): the packed A block, 180 KiB, a tenth of L2; 240 and 480 were no faster.
//   NC = 3072: the packed B panel, 4.5 MiB, lives in L3.
// Double keeps KC and halves MC and NC: the same bytes per block as float (its B micro-panel,
// 384 x 16 x 8 B, is float's size too).
// MR 8, 10 and 14 were each 1-3% slower than 12 (same A/B). The TG_AVX512_* macros exist so
// that kernel_ab can build a side with other values (KERNEL_AB_DEFS_B="-DTG_AVX512_MR=8").
#ifndef TG_AVX512_KC
#define TG_AVX512_KC 384
#define TG_AVX512_MC 120
#define TG_AVX512_NC 3072
#endif
template <typename T> struct Avx512Blocking;
template <> struct Avx512Blocking<float> {
  static constexpr int64_t KC = TG_AVX512_KC, MC = TG_AVX512_MC, NC = TG_AVX512_NC;
};
template <> struct Avx512Blocking<double> {
  static constexpr int64_t KC = TG_AVX512_KC, MC = TG_AVX512_MC / 2, NC = TG_AVX512_NC / 2;
};

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

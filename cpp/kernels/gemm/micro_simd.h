// The SIMD micro-kernel, one template over a vector type (simd/vec_*.h) and a tile height: the
// avx2 tile in ymm registers and the avx512 tile in zmm registers.
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "kernels/gemm/pack_simd.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

// The micro-kernel: an MR x (2 vectors) tile of C in 2 * MR accumulators, over a vector type
// with Avx2Vec's members (Avx2Vec with MR = 6: 12 of the 16 ymm registers; Avx512Vec with
// MR = 12: 24 of the 32 zmm registers), plus 2 registers for the B row and 1 for the A
// broadcast. Per k step 2 vector loads and MR broadcasts (load-port only) feed 2 * MR FMAs: the
// FMA ports, not the loads, set the pace. The accumulator array is indexed only by constants
// after the unrolling, so it lives in registers (no stack traffic in the k loop).
template <typename T, template <typename> class Vec, int MR_>
struct SimdMicro {
  using X = Vec<T>;
  using V = typename X::V;
  static constexpr int MR = MR_, NR = 2 * X::W, W = X::W;

  // Full panels (pack.h calls these when the micro-kernel has them).
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
  // stream_c (with beta == 0, and C's rows aligned to 64 bytes: see streaming_stores.h) writes a
  // whole tile with non-temporal stores, which do not read C's lines first.
  // b_ahead (packed A only): kc * 16 bytes of packed B to bring into L2 meanwhile, one line every
  // 4 k steps (see multiply_block). Neither changes a value.
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

  // The same tile with A read in place (rows, a_step, as in run<false>) and B either a packed
  // micro-panel (kPackedB) or read in place: B(p, 0:NR) = b[p * b_step + 0:NR], which must hold
  // NR values for every p < kc. A tile of at most 4 or 8 rows runs a 4- or 8-row loop (rows
  // past mr are never read); each C element is the chain of FMAs of run, so the same bits.
  template <bool kPackedB>
  static void run_in_place(int64_t kc, const T* const* rows, int64_t a_step, const T* b,
                           int64_t b_step, T* c, int64_t ldc, T alpha, T beta, int mr, int nr) {
    if constexpr (MR > 8) {
      if (mr <= 4)
        return run_rows<false, 4, false, kPackedB>(kc, nullptr, rows, a_step, b, c, ldc, alpha,
                                                   beta, mr, nr, false, nullptr, b_step);
      if (mr <= 8)
        return run_rows<false, 8, false, kPackedB>(kc, nullptr, rows, a_step, b, c, ldc, alpha,
                                                   beta, mr, nr, false, nullptr, b_step);
    }
    run_rows<false, MR, false, kPackedB>(kc, nullptr, rows, a_step, b, c, ldc, alpha, beta, mr,
                                         nr, false, nullptr, b_step);
  }

  // Rows of a narrow tile (run_narrow): twice MR, its one vector per row in as many registers.
  static constexpr int NARROW_ROWS = 2 * MR;

  // A C at most one vector wide (nr <= W): run_in_place<true>'s tile computing only the first
  // vector of each row of the packed B micro-panel, with up to NARROW_ROWS rows (rows holds
  // that many pointers; rows past mr are never read). Each C element is the same chain of FMAs.
  static void run_narrow(int64_t kc, const T* const* rows, int64_t a_step, const T* b, T* c,
                         int64_t ldc, T alpha, T beta, int mr, int nr) {
    if (mr <= 8)
      return run_rows<false, 8, false, true, 1>(kc, nullptr, rows, a_step, b, c, ldc, alpha, beta,
                                                mr, nr, false, nullptr);
    run_rows<false, NARROW_ROWS, false, true, 1>(kc, nullptr, rows, a_step, b, c, ldc, alpha,
                                                 beta, mr, nr, false, nullptr);
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
  // kPackedB: b is a packed micro-panel (NR values per k step, 64-byte aligned); otherwise B's
  // row p starts at b + p * b_step. NV: the vectors of each row computed (2, or 1 for a C at
  // most one vector wide, nr <= W, whose tile may then have up to NARROW_ROWS rows).
  template <bool kPackedA, int ROWS, bool kAhead, bool kPackedB = true, int NV = 2>
  static void run_rows(int64_t kc, const T* a, const T* const* rows, int64_t a_step, const T* b,
                       T* c, int64_t ldc, T alpha, T beta, int mr, int nr, bool stream_c,
                       const T* ahead, int64_t b_step = NR) {
    static_assert(NV == 2 || NV == 1, "a tile row is one or two vectors");
    static_assert(NV == 1 || ROWS <= MR, "two-vector tiles have at most MR rows");
    constexpr int kWidth = NV * X::W;
    const bool streaming = stream_c && beta == T(0) && mr == ROWS && nr == kWidth;
    // The C tile's rows are far apart: start fetching them now so the stores at the end do not
    // wait on misses; both ends of each row, which is 64 (ymm) or 128 (zmm) bytes, one or two
    // lines when aligned. Into L2, not L1: with ldc a multiple of 1 KiB the rows share one L1
    // set with the B panel the loop keeps reusing, and in L1 they could evict it.
    for (int i = 0; i < mr && !streaming; ++i) {
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T1);
      _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + kWidth - 1), _MM_HINT_T1);
    }
    V acc[ROWS][NV];
#pragma GCC unroll 32
    for (int i = 0; i < ROWS; ++i)
      for (int v = 0; v < NV; ++v) acc[i][v] = X::zero();
    for (int64_t p = 0; p < kc; ++p) {
      // B's row 16 k steps ahead, both lines of a zmm row: when the packed panel is past L2
      // the hardware prefetcher's stream restarts at every 4 KiB page.
      if constexpr (kPackedB) {
        _mm_prefetch(reinterpret_cast<const char*>(b + (p + 16) * NR), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(b + (p + 16) * NR + NR - 1), _MM_HINT_T0);
      }
      if constexpr (kAhead)
        _mm_prefetch(reinterpret_cast<const char*>(ahead + p * (16 / sizeof(T))), _MM_HINT_T1);
      // Packed B panels are 64-byte aligned; B in place may not be.
      const V b0 = kPackedB ? X::load_aligned(b + p * NR) : X::load(b + p * b_step);
      V b1 = b0;
      if constexpr (NV == 2)
        b1 = kPackedB ? X::load_aligned(b + p * NR + X::W) : X::load(b + p * b_step + X::W);
#pragma GCC unroll 32
      for (int i = 0; i < ROWS; ++i) {
        const V ai = X::bcast(kPackedA ? a + p * MR + i : rows[i] + p * a_step);
        acc[i][0] = X::fma(ai, b0, acc[i][0]);
        if constexpr (NV == 2) acc[i][NV - 1] = X::fma(ai, b1, acc[i][NV - 1]);
      }
    }
    // alpha == 1 leaves each sum as it is: 1 * x is x, so the product is skipped.
    const bool scaled = alpha != T(1);
    const V va = X::set1(alpha), vb = X::set1(beta);
    if (streaming) {
#pragma GCC unroll 32
      for (int i = 0; i < ROWS; ++i)
        for (int v = 0; v < NV; ++v)
          X::stream(c + i * ldc + v * X::W, scaled ? X::mul(va, acc[i][v]) : acc[i][v]);
      return;
    }
    if (mr == ROWS && nr == kWidth) {
#pragma GCC unroll 32
      for (int i = 0; i < ROWS; ++i) {
        T* crow = c + i * ldc;
        for (int v = 0; v < NV; ++v) {
          V o = scaled ? X::mul(va, acc[i][v]) : acc[i][v];
          if (beta != T(0)) o = X::fma(vb, X::load(crow + v * X::W), o);
          X::store(crow + v * X::W, o);
        }
      }
      return;
    }
    alignas(64) T tile[ROWS][kWidth];
#pragma GCC unroll 32
    for (int i = 0; i < ROWS; ++i)
      for (int v = 0; v < NV; ++v) X::store_aligned(tile[i] + v * X::W, acc[i][v]);
    for (int i = 0; i < mr; ++i) {
      T* crow = c + i * ldc;
      for (int j = 0; j < nr; ++j)
        crow[j] = beta == T(0) ? alpha * tile[i][j] : alpha * tile[i][j] + beta * crow[j];
    }
  }
};

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

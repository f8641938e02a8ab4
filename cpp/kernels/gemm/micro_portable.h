// The portable micro-kernel: an MR x NR tile of C accumulated in a local array, one 64-byte row
// per tile row. Compiled without vectorisation it is the scalar reference.
#pragma once
#include <cstdint>

namespace tapegrad::kernels::TG_ISA {
namespace {

template <typename T, int MR_>
struct PortableMicro {
  static constexpr int MR = MR_;
  static constexpr int NR = 64 / static_cast<int>(sizeof(T));
  // A "vector" of the narrow tile (run_narrow): the whole row; its rows: MR.
  static constexpr int W = NR, NARROW_ROWS = MR;

  // C[0:mr, 0:nr] = alpha * sum_p A[p][i] B[p][j] + beta * C (beta == 0: C not read).
  // kPackedA: a is a packed MR x kc panel. Otherwise rows[i] points at A(i, 0) in the matrix
  // itself and A(i, p) = rows[i][p * a_step].
  // stream_c, b_ahead: ignored (the SIMD tiles' non-temporal stores and prefetches change no
  // value).
  template <bool kPackedA>
  static void run(int64_t kc, const T* a, const T* const* rows, int64_t a_step, const T* b, T* c,
                  int64_t ldc, T alpha, T beta, int mr, int nr, bool stream_c = false,
                  const T* b_ahead = nullptr) {
    (void)stream_c;
    (void)b_ahead;
    T acc[MR][NR] = {};
    for (int64_t p = 0; p < kc; ++p) {
      const T* bp = b + p * NR;
      for (int i = 0; i < MR; ++i) {
        const T ai = kPackedA ? a[p * MR + i] : rows[i][p * a_step];
        for (int j = 0; j < NR; ++j) acc[i][j] += ai * bp[j];
      }
    }
    for (int i = 0; i < mr; ++i) {
      T* crow = c + i * ldc;
      for (int j = 0; j < nr; ++j)
        crow[j] = beta == T(0) ? alpha * acc[i][j] : alpha * acc[i][j] + beta * crow[j];
    }
  }

  // The same tile with A read in place (rows, a_step, as in run<false>) and B either a packed
  // micro-panel (kPackedB) or read in place: B(p, 0:NR) = b[p * b_step + 0:NR], which must hold
  // NR values for every p < kc. Rows past mr are never read. Each C element gets run's sums.
  template <bool kPackedB>
  static void run_in_place(int64_t kc, const T* const* rows, int64_t a_step, const T* b,
                           int64_t b_step, T* c, int64_t ldc, T alpha, T beta, int mr, int nr) {
    if (kPackedB) b_step = NR;
    T acc[MR][NR] = {};
    for (int64_t p = 0; p < kc; ++p) {
      const T* bp = b + p * b_step;
      for (int i = 0; i < mr; ++i) {
        const T ai = rows[i][p * a_step];
        for (int j = 0; j < NR; ++j) acc[i][j] += ai * bp[j];
      }
    }
    for (int i = 0; i < mr; ++i) {
      T* crow = c + i * ldc;
      for (int j = 0; j < nr; ++j)
        crow[j] = beta == T(0) ? alpha * acc[i][j] : alpha * acc[i][j] + beta * crow[j];
    }
  }

  // The packed-B tile of run_in_place for a C at most W columns wide: here the same tile.
  static void run_narrow(int64_t kc, const T* const* rows, int64_t a_step, const T* b, T* c,
                         int64_t ldc, T alpha, T beta, int mr, int nr) {
    run_in_place<true>(kc, rows, a_step, b, NR, c, ldc, alpha, beta, mr, nr);
  }
};

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

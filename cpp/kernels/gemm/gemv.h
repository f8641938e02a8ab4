// The GEMV path (n == 1, rows of A and the vector contiguous): Gemv<T> (this ISA's kernel) on
// pieces of A's rows, on several threads when A is large enough.
#pragma once
#include <atomic>
#include <cstdint>

#include "core/thread_pool.h"
#include "kernels/gemm/partition.h"
#include "kernels/kernels.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

// The pieces are whole multiples of this many rows.
constexpr int64_t kGemvPieceRows = 4;

template <typename T>
struct GemvJob {
  int64_t m, k, lda, incy;
  T alpha, beta;
  const T* a;
  const T* x;
  T* y;
  bool descending;
};

// Piece p of `pieces`: a range of rows. The kernel forms each row's sum the same way wherever the
// row falls, so each y element is the same for any piece.
template <typename T>
void gemv_slice(void* ctx, int p, int pieces) {
  const GemvJob<T>& j = *static_cast<const GemvJob<T>*>(ctx);
  int64_t lo, hi;
  thread_share(j.m, kGemvPieceRows, p, pieces, &lo, &hi);
  if (hi > lo)
    Gemv<T>::run(hi - lo, j.k, j.alpha, j.a + lo * j.lda, j.lda, j.x, j.beta, j.y + lo * j.incy,
                 j.incy, j.descending);
}

// y = alpha * A x + beta * y, on several threads when A is large enough (it streams A from
// memory: several cores draw more bandwidth than one).
//
// On one thread, every other call reads A last row to first. Training reads the same A again
// and again (the seed step's inputs, every step); when A is a little larger than L2, reading it
// in one direction every time evicts each row just before it is needed again, and alternating
// starts each call on the rows the previous one left in L2. Not on several threads: there each
// thread's share fits its own L2 best when it reads the same rows every call. The direction
// never changes a result (each y element is one row's sum).
template <typename T>
void gemv(int64_t m, int64_t k, T alpha, const T* a, int64_t lda, const T* x, T beta, T* y,
          int64_t incy) {
  static std::atomic<unsigned> calls{0};
  const double madds = static_cast<double>(m) * k;
  const int nt = gemm_threads(madds, parallel_thresholds().gemv_madds);
  const bool descending = nt == 1 && (calls.fetch_add(1, std::memory_order_relaxed) & 1u);
  GemvJob<T> job{m, k, lda, incy, alpha, beta, a, x, y, descending};
  const int64_t pieces = (m + kGemvPieceRows - 1) / kGemvPieceRows;
  threads::parallel_chunks(&gemv_slice<T>, &job, threads::chunk_count(nt, pieces), nt);
}

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

// The few-columns path (C with 2..15 columns, A rows contiguous along k): B transposed once per
// thread, then FewColumns<T> (this ISA's kernel) on pieces of whole 3-row blocks.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/allocator.h"
#include "core/thread_pool.h"
#include "kernels/gemm/buffers.h"
#include "kernels/gemm/partition.h"
#include "kernels/kernels.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

// Threads the few-columns path uses at most: its per-thread copies of B are arrays of this size.
constexpr int kMaxFewColumnsThreads = 64;

template <typename T>
struct FewColumnsJob {
  int64_t m, n, k, lda, ldc;
  T alpha, beta;
  const T* a;
  const T* b;
  int64_t b_row, b_col;
  T* c;
  int nt;
  // B transposed (n x k), one copy per thread, made by that thread at its first chunk, so each
  // thread reads a copy in its own core's cache (one copy made by the caller would cross to the
  // other cores at every call).
  T* bt[kMaxFewColumnsThreads];
  bool ready[kMaxFewColumnsThreads];  // slot t is only ever touched by the thread with index t
};

// Piece p of `pieces` (claimed by any thread, threads::parallel_chunks): whole 3-row blocks, and
// each C element's sum is the same whatever the piece and whichever thread's copy of B it reads.
template <typename T>
void few_columns_slice(void* ctx, int p, int pieces) {
  FewColumnsJob<T>& j = *static_cast<FewColumnsJob<T>*>(ctx);
  int t = threads::thread_index();
  if (t >= j.nt) t = 0;  // a nested call running serially on a worker
  if (!j.ready[t]) {
    FewColumns<T>::transpose_b(j.k, j.n, j.b, j.b_row, j.b_col, j.bt[t]);
    j.ready[t] = true;
  }
  int64_t lo, hi;
  thread_share(j.m, 3, p, pieces, &lo, &hi);
  if (hi > lo)
    FewColumns<T>::run(hi - lo, j.n, j.k, j.alpha, j.a + lo * j.lda, j.lda, j.bt[t], j.beta,
                       j.c + lo * j.ldc, j.ldc);
}

// Few columns (2..15) and A rows contiguous along k: B is transposed into a small buffer (n x k)
// per thread and every C element is a k-vectorized dot product. False when the buffers cannot
// be had.
template <typename T>
bool gemm_few_columns(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
                      const T* b, int64_t b_row, int64_t b_col, T beta, T* c, int64_t ldc) {
  const double madds = static_cast<double>(m) * n * k;
  int nt = gemm_threads(madds, parallel_thresholds().few_columns_madds);
  if (nt > kMaxFewColumnsThreads) nt = kMaxFewColumnsThreads;
  FewColumnsJob<T> job{m, n, k, lda, ldc, alpha, beta, a, b, b_row, b_col, c, nt, {}, {}};
  size_t cap[kMaxFewColumnsThreads] = {};
  bool ok = true;
  for (int t = 0; t < nt && ok; ++t) ok = (job.bt[t] = take_buffer<T>(n * k, &cap[t])) != nullptr;
  if (ok) threads::parallel_chunks(&few_columns_slice<T>, &job, threads::chunk_count(nt, (m + 2) / 3),
                                   nt);
  // In reverse: the allocator's cache hands out the last buffer returned first, so the next call
  // gives each thread the buffer it used now, still in its own cache (in take order they came
  // back swapped, and writing the other core's lines cost as much as sharing one copy).
  for (int t = nt - 1; t >= 0; --t) allocator::release(job.bt[t], cap[t]);
  return ok;
}

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

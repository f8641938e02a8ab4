// The blocked GEMM's driver: the K block, the packing buffers, non-temporal C, and the thread
// schedule that runs the loop nests.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/allocator.h"
#include "core/thread_pool.h"
#include "kernels/gemm/buffers.h"
#include "kernels/gemm/loop_nest.h"
#include "kernels/gemm/partition.h"
#include "kernels/gemm/schedule.h"
#include "kernels/gemm/streaming_stores.h"
#include "kernels/gemm/tiles.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

// C = alpha * op(A) op(B) + beta * C over all of C, on `threads` threads, K blocks of KC.
// Returns false, having touched nothing, when the packing buffers cannot be allocated.
template <typename T, int64_t KC>
bool gemm_blocked_kc(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                     int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc, int threads) {
  using Tile = Micro<T>;
  constexpr int64_t MC = Tiles<T>::MC, NC = Tiles<T>::NC;
  if (threads > kMaxGemmThreads) threads = kMaxGemmThreads;
  if (threads < 1) threads = 1;
  DynamicSchedule schedule;
  const bool dynamic = plan_dynamic<T, KC>(m, n, k, threads, &schedule);
  const bool stream_c = stream_c_pays(m, n, k, KC, beta, c, ldc);
  GemmJob<T> job{ta, tb, stream_c, m, n, k, alpha, beta, a, b, c, lda, ldb, ldc, {}, {},
                 dynamic ? &schedule : nullptr};
  // Sized for the whole problem, clipped to the blocks: every share fits.
  const int64_t kc = min64(KC, k);
  // A thread's share of C is no larger than C, so if it takes the wide order, C would too.
  int64_t a_count =
      (wide_nest<T, KC>(m, n, k) ? wide_rows<T>(m) : min64(MC, round_up(m, Tile::MR))) * kc;
  int64_t b_count = min64(NC, round_up(n, Tile::NR)) * kc;
  int a_buffers = threads, b_buffers = threads;
  if (dynamic && schedule.along_n) {
    a_count = round_up(m, Tile::MR) * kc;  // all of A's rows, double-buffered
    a_buffers = 2;
    b_count = dynamic_block_extent(schedule) * kc;
  } else if (dynamic) {
    a_count = dynamic_block_extent(schedule) * kc;
    b_buffers = 2;  // one B panel shared by every thread, double-buffered
  }
  size_t a_cap[kMaxGemmThreads] = {}, b_cap[kMaxGemmThreads] = {};
  bool ok = !dynamic || allocate_counters(&schedule);
  for (int t = 0; t < threads && ok; ++t) {
    if (t < a_buffers) ok = (job.ap[t] = take_buffer<T>(a_count, &a_cap[t])) != nullptr;
    if (ok && t < b_buffers) ok = (job.bp[t] = take_buffer<T>(b_count, &b_cap[t])) != nullptr;
  }
  if (ok && dynamic) threads::parallel_chunks(&gemm_slice<T, KC>, &job, threads, threads);
  else if (ok) threads::parallel_run(&gemm_slice<T, KC>, &job, threads);
  for (int t = 0; t < threads; ++t) {
    allocator::release(job.ap[t], a_cap[t]);
    allocator::release(job.bp[t], b_cap[t]);
  }
  return ok;
}

// The K block: BlockSizes' KC, except that a k a little past it (up to ONE_BLOCK_K) is one
// block when C has ONE_BLOCK_ROWS rows or more: one pass over C instead of two. With few rows
// the packed B panel (k x n) serves few A blocks and must stay in L2, which the deeper block
// breaks. The choice depends on the shape alone, never on the thread count, so results stay
// bitwise equal for any count. Each K block size is a compile-time constant of its own copy of
// the loops.
template <typename T>
bool gemm_blocked(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                  int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc, int threads) {
  constexpr int64_t KC = Tiles<T>::KC, ONE_BLOCK_K = BlockSizes<T>::ONE_BLOCK_K;
  if constexpr (ONE_BLOCK_K > KC) {
    if (k > KC && k <= ONE_BLOCK_K && m >= BlockSizes<T>::ONE_BLOCK_ROWS)
      return gemm_blocked_kc<T, ONE_BLOCK_K>(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                                             threads);
  }
  return gemm_blocked_kc<T, KC>(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads);
}

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

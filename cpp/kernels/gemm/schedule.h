// The thread schedule of the blocked GEMM: a fixed part of C per thread (one thread, or a C one
// micro-tile wide) or the dynamic schedule, in which threads claim blocks of C. Each C element
// is computed by the same tiles and K blocks as on one thread, so every thread count gives the
// same bits.
#pragma once
#include <xmmintrin.h>  // _mm_sfence, baseline x86-64

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <new>

#include "core/spin_wait.h"
#include "core/thread_pool.h"
#include "kernels/gemm/loop_nest.h"
#include "kernels/gemm/partition.h"
#include "kernels/gemm/tiles.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

// Threads a blocked GEMM uses at most: its per-thread buffers are arrays of this size.
constexpr int kMaxGemmThreads = 64;

// A C one micro-tile wide with this many rows per thread or more is cut into fixed parts that
// each read their A in place (gemm_nest), as on one thread; packing A, which the dynamic
// schedule does, would only add a pass over it. Fewer rows take the dynamic schedule.
constexpr int64_t kInPlaceRowsFrom = 512;

// The dynamic schedule of a product on several threads (gemm_dynamic below). Steps follow the
// serial nest: B panels of `nstep` columns, K blocks of `kstep` within each. A step has `packs`
// shares of the operand every thread needs, packed into one of two shared buffers, and `blocks`
// blocks that each pack their own part of the other operand and multiply it:
// - along M (C at least as tall as wide): B panels shared; a block is a range of A's rows;
// - along N (C wider than tall): all of A's rows shared, one panel per K block (nstep = 0); a
//   block is a range of B's columns, multiplied by every A block of `mstep` rows.
// Blocks are cut in whole micro-tiles as thread_share cuts (extent, unit) into `blocks`, and each
// thread has a home range of them, the same in every step (`homes` ranges).
struct DynamicSchedule {
  bool along_n;
  int64_t nstep, kstep, mstep, extent, unit;
  int64_t kblocks, blocks, packs, steps;
  int homes;
  std::unique_ptr<std::atomic<int64_t>[]> counters;
  std::atomic<int64_t>* pack_next = nullptr;    // [step]: next share to claim
  std::atomic<int64_t>* packed = nullptr;       // [step]: shares done
  std::atomic<int64_t>* multiplied = nullptr;   // [step]: blocks done
  std::atomic<int64_t>* block_steps = nullptr;  // [block]: steps it has been multiplied in
  std::atomic<int64_t>* ranges = nullptr;       // [step * homes + home]: unclaimed (front, back)
};

template <typename T>
struct GemmJob {
  bool ta, tb, stream_c;
  int64_t m, n, k;
  T alpha, beta;
  const T* a;
  const T* b;
  T* c;
  int64_t lda, ldb, ldc;
  // Packing buffers, one pair per thread; in the dynamic schedule the operand every thread needs
  // (B along M, A along N) is packed into slots 0 and 1 of its array.
  T* ap[kMaxGemmThreads];
  T* bp[kMaxGemmThreads];
  DynamicSchedule* dynamic;  // set for the dynamic schedule (gemm_dynamic), else null
};

// Several threads: a dynamic schedule instead of fixed shares. Each thread goes through the
// steps in order. In each it claims shares of the shared operand from a counter, then the blocks
// of its home range from the front, then blocks left in the other threads' ranges from the back.
// An item waits only on items already claimed: a share on the blocks of step s - 2, which used
// its buffer last; a block on its step's shares and on the same block's previous step (C
// accumulates the K blocks in order). A thread leaves a step only when all its items are
// claimed, so every wait ends. On a quiet machine each thread multiplies the same rows or
// columns of C in every step, as with fixed shares, and C stays in its cache; when the OS
// deschedules a thread, the others take what is left of its range, and the product waits at
// most for the item it holds. Each C element is computed by the same tiles and K blocks as on
// one thread: the same bits.
namespace dynamic_claim {
// A range word holds the first unclaimed block in its high half and the end in its low half.
inline int64_t word(int64_t front, int64_t back) { return front << 32 | back; }
// Takes a block from the front (owner) or the back (another thread); -1 when the range is empty.
inline int64_t take(std::atomic<int64_t>& range, bool front) {
  int64_t w = range.load(std::memory_order_relaxed);
  for (;;) {
    const int64_t f = w >> 32, b = w & 0xffffffff;
    if (f >= b) return -1;
    const int64_t next = front ? word(f + 1, b) : word(f, b - 1);
    if (range.compare_exchange_weak(w, next, std::memory_order_relaxed)) return front ? f : b - 1;
  }
}
}  // namespace dynamic_claim

template <typename T>
void dynamic_pack_share(const GemmJob<T>& j, const DynamicSchedule& d, int64_t s, int64_t r) {
  constexpr int MR = Tiles<T>::MR, NR = Tiles<T>::NR;
  const int64_t pc = s % d.kblocks * d.kstep, kc = min64(d.kstep, j.k - pc);
  int64_t lo, hi;
  if (d.along_n) {  // A's rows, block ic at ap + ic * kc as pack_a lays it
    thread_share(j.m, MR, static_cast<int>(r), static_cast<int>(d.packs), &lo, &hi);
    if (hi > lo) pack_a<T, MR>(j.ta, j.a, j.lda, lo, pc, hi - lo, kc, j.ap[s & 1] + lo * kc);
  } else {
    const int64_t jc = s / d.kblocks * d.nstep, nc = min64(d.nstep, j.n - jc);
    thread_share(nc, NR, static_cast<int>(r), static_cast<int>(d.packs), &lo, &hi);
    if (hi > lo) pack_b<T, NR>(j.tb, j.b, j.ldb, pc, jc + lo, kc, hi - lo, j.bp[s & 1] + lo * kc);
  }
}

template <typename T>
void dynamic_block(const GemmJob<T>& j, const DynamicSchedule& d, int64_t s, int64_t block, int t) {
  constexpr int MR = Tiles<T>::MR, NR = Tiles<T>::NR;
  const int64_t pc = s % d.kblocks * d.kstep, kc = min64(d.kstep, j.k - pc);
  const T beta_here = pc == 0 ? j.beta : T(1);  // later K blocks accumulate
  int64_t lo, hi;
  thread_share(d.extent, d.unit, static_cast<int>(block), static_cast<int>(d.blocks), &lo, &hi);
  if (hi <= lo) return;
  if (d.along_n) {
    const T* ap = j.ap[s & 1];
    pack_b<T, NR>(j.tb, j.b, j.ldb, pc, lo, kc, hi - lo, j.bp[t]);
    for (int64_t ic = 0; ic < j.m; ic += d.mstep)
      multiply_block(kc, min64(d.mstep, j.m - ic), hi - lo, ap + ic * kc, j.bp[t],
                     j.c + ic * j.ldc + lo, j.ldc, j.alpha, beta_here, j.stream_c);
  } else {
    const int64_t jc = s / d.kblocks * d.nstep, nc = min64(d.nstep, j.n - jc);
    pack_a<T, MR>(j.ta, j.a, j.lda, lo, pc, hi - lo, kc, j.ap[t]);
    multiply_block(kc, hi - lo, nc, j.ap[t], j.bp[s & 1], j.c + lo * j.ldc + jc, j.ldc, j.alpha,
                   beta_here, j.stream_c);
  }
}

// Home `t`'s part of the schedule (a chunk of parallel_chunks; its buffers are slot t's).
template <typename T>
void gemm_dynamic(const GemmJob<T>& j, int t) {
  DynamicSchedule& d = *j.dynamic;
  for (int64_t s = 0; s < d.steps; ++s) {
    for (int64_t r; (r = d.pack_next[s].fetch_add(1, std::memory_order_relaxed)) < d.packs;) {
      if (s >= 2) threads::wait_at_least(d.multiplied[s - 2], d.blocks);
      dynamic_pack_share(j, d, s, r);
      d.packed[s].fetch_add(1, std::memory_order_release);
    }
    for (int i = 0; i < d.homes; ++i) {
      const int home = (t + i) % d.homes;
      for (int64_t block; (block = dynamic_claim::take(d.ranges[s * d.homes + home], i == 0)) >= 0;) {
        threads::wait_at_least(d.packed[s], d.packs);
        threads::wait_at_least(d.block_steps[block], s);
        dynamic_block(j, d, s, block, t);
        d.block_steps[block].fetch_add(1, std::memory_order_release);
        d.multiplied[s].fetch_add(1, std::memory_order_release);
      }
    }
  }
}

// Blocks per thread and step the dynamic schedule aims for: enough that a thread the OS runs
// alone can take over the rest at a fine grain. Blocks are also at most MC rows (along M) or NC
// columns (along N), and a multiple of the thread count, so the home ranges are equal.
constexpr int64_t kDynamicBlocksPerThread = 4;

// Fills `d` (all but its counters) for an m x n x k product on `threads` threads, or returns
// false when the product takes the fixed shares (gemm_part) instead: C one micro-tile wide with
// rows enough for independent parts, each reading its A in place (gemm_nest), which packing
// would only slow. The largest block is what each thread's own buffer must hold.
template <typename T, int64_t KC>
bool plan_dynamic(int64_t m, int64_t n, int64_t k, int threads, DynamicSchedule* d) {
  constexpr int MR = Tiles<T>::MR, NR = Tiles<T>::NR;
  constexpr int64_t MC = Tiles<T>::MC, NC = Tiles<T>::NC;
  if (threads < 2 || (n <= NR && m / threads >= kInPlaceRowsFrom)) return false;
  d->homes = threads;
  d->kstep = equal_block_step(k, KC, 8);
  d->kblocks = (k + d->kstep - 1) / d->kstep;
  d->mstep = equal_block_step(m, MC, MR);
  const int64_t want = kDynamicBlocksPerThread * threads;
  d->along_n = m < n && (m + d->mstep - 1) / d->mstep < want;
  int64_t panels = 1, most_per_block;
  if (d->along_n) {
    d->nstep = 0;
    d->extent = n;
    d->unit = NR;
    most_per_block = NC / NR;
    d->packs = min64(2 * threads, (m + MR - 1) / MR);
  } else {
    d->nstep = NC;
    d->extent = m;
    d->unit = MR;
    most_per_block = MC / MR;
    d->packs = min64(2 * threads, (min64(n, NC) + NR - 1) / NR);
    panels = (n + NC - 1) / NC;
  }
  const int64_t units = (d->extent + d->unit - 1) / d->unit;
  d->blocks = round_up(std::max(want, (units + most_per_block - 1) / most_per_block), threads);
  d->steps = panels * d->kblocks;
  return true;
}

// The largest block's rows (along M) or columns (along N).
inline int64_t dynamic_block_extent(const DynamicSchedule& d) {
  const int64_t units = (d.extent + d.unit - 1) / d.unit;
  return (units + d.blocks - 1) / d.blocks * d.unit;
}

// The schedule's counters, set to their start; false when there is no memory for them.
inline bool allocate_counters(DynamicSchedule* d) {
  const int64_t per_step = 3 + d->homes;
  d->counters.reset(new (std::nothrow) std::atomic<int64_t>[per_step * d->steps + d->blocks]());
  if (!d->counters) return false;
  d->pack_next = d->counters.get();
  d->packed = d->pack_next + d->steps;
  d->multiplied = d->packed + d->steps;
  d->block_steps = d->multiplied + d->steps;
  d->ranges = d->block_steps + d->blocks;
  for (int64_t s = 0; s < d->steps; ++s)
    for (int h = 0; h < d->homes; ++h)
      d->ranges[s * d->homes + h].store(
          dynamic_claim::word(d->blocks * h / d->homes, d->blocks * (h + 1) / d->homes),
          std::memory_order_relaxed);
  return true;
}

// Thread t's fixed part of C: all of it on one thread; else whole micro-tiles of rows, each an
// independent product with its own buffers (a C one micro-tile wide, whose A each part reads in
// place).
template <typename T, int64_t KC>
void gemm_part(const GemmJob<T>& j, int t, int nt) {
  if (nt == 1) {
    gemm_nest<T, KC>(j.ta, j.tb, j.m, j.n, j.k, j.alpha, j.a, j.lda, j.b, j.ldb, j.beta, j.c,
                     j.ldc, j.ap[0], j.bp[0], j.stream_c);
    return;
  }
  int64_t lo, hi;
  thread_share(j.m, Tiles<T>::MR, t, nt, &lo, &hi);
  if (hi > lo)
    gemm_nest<T, KC>(j.ta, j.tb, hi - lo, j.n, j.k, j.alpha, j.a + (j.ta ? lo : lo * j.lda),
                     j.lda, j.b, j.ldb, j.beta, j.c + lo * j.ldc, j.ldc, j.ap[t], j.bp[t],
                     j.stream_c);
}

template <typename T, int64_t KC>
void gemm_slice(void* ctx, int t, int nt) {
  const GemmJob<T>& j = *static_cast<const GemmJob<T>*>(ctx);
  if (j.dynamic) {
    gemm_dynamic<T>(j, t);  // t: a chunk of parallel_chunks, one per thread
  } else {
    gemm_part<T, KC>(j, t, nt);
  }
  // Non-temporal stores are weakly ordered: the release that ends this thread's part of the job
  // does not order them. The fence makes them visible before whoever reads C next.
  if (j.stream_c) _mm_sfence();
}

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

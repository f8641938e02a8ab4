// How the GEMM paths cut their work: blocks along one dimension, shares between threads, and
// how many threads a path takes. Every cut depends on the shape (and, for shares, on the thread
// index and count) alone, so each element of C is computed the same way on every call.
#pragma once
#include <cstdint>

#include "core/thread_pool.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

inline int64_t round_up(int64_t x, int64_t unit) { return (x + unit - 1) / unit * unit; }

// Thread t's share [*lo, *hi) of [0, extent) in whole units: fixed by (t, nt) alone, so each
// element is computed the same way whatever the thread count.
inline void thread_share(int64_t extent, int64_t unit, int t, int nt, int64_t* lo, int64_t* hi) {
  const int64_t units = (extent + unit - 1) / unit;
  *lo = units * t / nt * unit;
  *hi = min64(extent, units * (t + 1) / nt * unit);
}

// The step that cuts `extent` into equal blocks of at most `max_block`, each a whole number of
// `unit`s (the last may be shorter), instead of full blocks and a short rest: a short last block
// costs a whole pass over the other operand (along M: the B panel; along K: C) for little work.
// For M the unit is the micro-tile's rows, for K 8 steps (the packers take 8 k steps at a time).
// Depends on the extent alone, never on the thread count.
inline int64_t equal_block_step(int64_t extent, int64_t max_block, int64_t unit) {
  const int64_t blocks = (extent + max_block - 1) / max_block;
  return blocks <= 1 ? max_block : round_up((extent + blocks - 1) / blocks, unit);
}

// Threads for a GEMM path of `madds` multiply-adds whose threshold is `from` (kernels.h).
inline int gemm_threads(double madds, double from) { return madds >= from ? threads::num_threads() : 1; }

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

// Splits a range of independent elements over the thread pool when it is large enough to pay
// for the wake-up; smaller ranges run on the calling thread.
#pragma once
#include <cstdint>

#include "core/thread_pool.h"

namespace tapegrad {

// Calls f(begin, end) over disjoint pieces of [0, n) whose ends are multiples of `align`
// (except n), on several threads when n >= min_n (by default threads::parallel_elements(), the
// elementwise threshold). f must only touch its own piece, and compute each element the same
// way whatever the piece: the pieces depend on the thread count.
template <typename F>
void parallel_ranges(int64_t n, F&& f, int64_t align = 16, int64_t min_n = -1) {
  const int nt = threads::num_threads();
  if (min_n < 0) min_n = threads::parallel_elements();
  if (n < min_n || n < 2 || nt <= 1) {
    f(int64_t(0), n);
    return;
  }
  struct Ctx {
    F* f;
    int64_t n, align;
  } ctx{&f, n, align};
  threads::parallel_chunks(
      [](void* c, int piece, int count) {
        const Ctx& x = *static_cast<const Ctx*>(c);
        const int64_t units = (x.n + x.align - 1) / x.align;
        const int64_t lo = units * piece / count * x.align;
        int64_t hi = units * (piece + 1) / count * x.align;
        if (hi > x.n) hi = x.n;
        if (lo < hi) (*x.f)(lo, hi);
      },
      &ctx, threads::chunk_count(nt, (n + align - 1) / align), nt);
}

}  // namespace tapegrad

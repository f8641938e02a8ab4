// Splits a range of independent elements over the thread pool when it is large enough to pay
// for the wake-up; smaller ranges run on the calling thread.
#pragma once
#include <cstdint>

#include "core/thread_pool.h"

namespace tapegrad {

// Calls f(begin, end) over disjoint pieces of [0, n) whose ends are multiples of `align`
// (except n), on several threads when n >= min_n (by default threads::parallel_elements(), the
// elementwise threshold). f must only touch its own piece.
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
  threads::parallel_run(
      [](void* c, int t, int count) {
        const Ctx& x = *static_cast<const Ctx*>(c);
        const int64_t blocks = (x.n + x.align - 1) / x.align;
        const int64_t lo = blocks * t / count * x.align;
        int64_t hi = blocks * (t + 1) / count * x.align;
        if (hi > x.n) hi = x.n;
        if (lo < hi) (*x.f)(lo, hi);
      },
      &ctx, nt);
}

}  // namespace tapegrad

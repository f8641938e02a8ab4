// A barrier for the threads of one thread-pool job (all of them running at once, see
// thread_pool.h). It spins, because a job's phases last microseconds to milliseconds and
// sleeping would cost more than that; after a while it yields, in case a participant was
// descheduled on an overloaded machine.
//
// wait() is defined out of line (spin_barrier.cpp, built with the baseline flags): the per-ISA
// kernel units use the barrier, and an inline copy built with AVX-512 flags could be the one the
// linker keeps for every unit (see kernels_portable.h on the one-definition rule).
#pragma once
#include <atomic>
#include <cstdint>

namespace tapegrad::threads {

class SpinBarrier {
 public:
  // Returns once all `count` participants have called wait(count) for this phase; every
  // participant passes the same count. count <= 1 returns at once.
  void wait(int count);

 private:
  std::atomic<int> arrived_{0};
  std::atomic<unsigned> phase_{0};
};

// Returns once `value` (acquire) is at least `target`, waiting the way the barrier does: for a
// count that other threads of the same job raise as they finish work they have claimed.
void wait_at_least(const std::atomic<int64_t>& value, int64_t target);

}  // namespace tapegrad::threads

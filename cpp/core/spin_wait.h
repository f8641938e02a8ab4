// Waiting inside a thread-pool job (see thread_pool.h) for work another thread of the same job
// has claimed. It spins, because such waits last microseconds to milliseconds and sleeping would
// cost more than that; after a while it yields, in case that thread was descheduled on an
// overloaded machine.
//
// Defined out of line (spin_wait.cpp, built with the baseline flags): the per-ISA kernel units
// call it, and an inline copy built with AVX-512 flags could be the one the linker keeps for
// every unit (see kernels/table.h on the one-definition rule).
#pragma once
#include <atomic>
#include <cstdint>

namespace tapegrad::threads {

// Returns once `value` (acquire) is at least `target`: for a count that other threads of the
// job raise (release) as they finish the work they claimed. A long wait counts as a stall.
void wait_at_least(const std::atomic<int64_t>& value, int64_t target);

}  // namespace tapegrad::threads

#include "core/spin_barrier.h"

#include <chrono>
#include <thread>

#include "core/thread_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace tapegrad::threads {

void SpinBarrier::wait(int count) {
  if (count <= 1) return;
  const unsigned phase = phase_.load(std::memory_order_acquire);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) == count - 1) {
    arrived_.store(0, std::memory_order_relaxed);  // ordered before the release below
    phase_.fetch_add(1, std::memory_order_release);
    return;
  }
  // A long wait means a participant was descheduled: reported once, so the pool's stall count
  // sees it (thread_pool.h, stalls()).
  std::chrono::steady_clock::time_point since{};
  bool reported = false;
  for (unsigned spins = 0; phase_.load(std::memory_order_acquire) == phase; ++spins) {
    if ((spins & 1023) == 1023 && !reported) {
      const auto now = std::chrono::steady_clock::now();
      if (since == std::chrono::steady_clock::time_point{}) since = now;
      else reported = note_if_stall(now - since);
    }
    if (spins < 20000) {
#if defined(__x86_64__) || defined(__i386__)
      _mm_pause();
#endif
    } else {
      std::this_thread::yield();
    }
  }
}

}  // namespace tapegrad::threads

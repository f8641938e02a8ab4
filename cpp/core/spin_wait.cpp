#include "core/spin_wait.h"

#include <chrono>
#include <thread>

#include "core/thread_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace tapegrad::threads {

void wait_at_least(const std::atomic<int64_t>& value, int64_t target) {
  // A long wait means the thread doing the work was descheduled: reported once, so the pool's
  // stall count sees it (thread_pool.h, stalls()).
  std::chrono::steady_clock::time_point since{};
  bool reported = false;
  for (unsigned spins = 0; value.load(std::memory_order_acquire) < target; ++spins) {
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

#include "core/spin_barrier.h"

#include <chrono>
#include <thread>

#include "core/thread_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace tapegrad::threads {

namespace {

// Spins on pause, then yields, until done() holds. A long wait means a participant was
// descheduled: reported once, so the pool's stall count sees it (thread_pool.h, stalls()).
template <typename Done>
void spin_until(Done done) {
  std::chrono::steady_clock::time_point since{};
  bool reported = false;
  for (unsigned spins = 0; !done(); ++spins) {
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

}  // namespace

void SpinBarrier::wait(int count) {
  if (count <= 1) return;
  const unsigned phase = phase_.load(std::memory_order_acquire);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) == count - 1) {
    arrived_.store(0, std::memory_order_relaxed);  // ordered before the release below
    phase_.fetch_add(1, std::memory_order_release);
    return;
  }
  spin_until([&] { return phase_.load(std::memory_order_acquire) != phase; });
}

void wait_at_least(const std::atomic<int64_t>& value, int64_t target) {
  spin_until([&] { return value.load(std::memory_order_acquire) >= target; });
}

}  // namespace tapegrad::threads

#include "core/allocator.h"

#include <cstdlib>
#include <mutex>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "core/errors.h"

namespace tapegrad::allocator {
namespace {

// Size classes: 64 bytes minimum, then four classes per power of two, so rounding wastes at most
// 25% while repeated shapes land in the same class.
constexpr int kClassesPerOctave = 4;
constexpr int kNumClasses = 64 * kClassesPerOctave;
// Free blocks kept at most: beyond this a released block goes straight back to the system.
// Under AddressSanitizer nothing is cached, so a use after free of tensor storage is reported.
#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kMaxCachedBytes = 0;
#else
constexpr size_t kMaxCachedBytes = size_t(512) << 20;
#endif

int size_class(size_t n, size_t* rounded) {
  if (n <= kAlignment) {
    *rounded = kAlignment;
    return 0;
  }
  int octave = 63 - __builtin_clzll(n - 1);  // n-1 in [2^octave, 2^(octave+1))
  size_t base = size_t(1) << octave;
  size_t step = base / kClassesPerOctave;
  size_t sub = (n - 1 - base) / step;  // 0..3
  *rounded = base + (sub + 1) * step;
  if (*rounded % kAlignment) *rounded = (*rounded / kAlignment + 1) * kAlignment;
  return octave * kClassesPerOctave + static_cast<int>(sub);
}

struct Cache {
  std::mutex mu;
  std::vector<void*> free_lists[kNumClasses];
  Stats st{};
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: tensors may outlive static destructors
  return *c;
}

// Blocks from 2 MiB up start on a 2 MiB boundary and ask Linux for transparent huge pages (where
// THP is "madvise", as here, nothing else would give them). A 2048^2 float GEMM touches its
// 16 MiB C matrix six rows at a time, each row on another 4 KiB page: with 4 KiB pages that is
// more pages than the TLB holds. numpy does the same for its arrays from 4 MiB.
constexpr size_t kHugePage = size_t(2) << 20;

void* system_allocate(size_t rounded) {
  if (rounded < kHugePage) return std::aligned_alloc(kAlignment, rounded);
  const size_t whole = (rounded + kHugePage - 1) / kHugePage * kHugePage;
  void* p = std::aligned_alloc(kHugePage, whole);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (p) madvise(p, whole, MADV_HUGEPAGE);  // advice only: failure changes nothing
#endif
  return p;
}

}  // namespace

void* allocate(size_t nbytes, size_t* capacity) {
  size_t rounded;
  int cls = size_class(nbytes, &rounded);
  *capacity = rounded;
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto& list = c.free_lists[cls];
    if (!list.empty()) {
      void* p = list.back();
      list.pop_back();
      c.st.cached_blocks--;
      c.st.cached_bytes -= rounded;
      c.st.live_blocks++;
      c.st.live_bytes += rounded;
      if (c.st.live_bytes > c.st.peak_live_bytes) c.st.peak_live_bytes = c.st.live_bytes;
      return p;
    }
  }
  void* p = system_allocate(rounded);
  if (!p) {
    empty_cache();
    p = system_allocate(rounded);
    if (!p) throw MemoryError("out of memory allocating " + std::to_string(nbytes) + " bytes");
  }
  std::lock_guard<std::mutex> lock(c.mu);
  c.st.system_allocs++;
  c.st.live_blocks++;
  c.st.live_bytes += rounded;
  if (c.st.live_bytes > c.st.peak_live_bytes) c.st.peak_live_bytes = c.st.live_bytes;
  return p;
}

void release(void* ptr, size_t capacity) {
  if (!ptr) return;
  size_t rounded;
  int cls = size_class(capacity, &rounded);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    c.st.live_blocks--;
    c.st.live_bytes -= rounded;
    if (c.st.cached_bytes + static_cast<int64_t>(rounded) <= static_cast<int64_t>(kMaxCachedBytes)) {
      c.free_lists[cls].push_back(ptr);
      c.st.cached_blocks++;
      c.st.cached_bytes += rounded;
      return;
    }
  }
  std::free(ptr);
}

Stats stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.st;
}

void reset_peak() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.st.peak_live_bytes = c.st.live_bytes;
}

void empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto& list : c.free_lists) {
    for (void* p : list) std::free(p);
    list.clear();
  }
  c.st.cached_blocks = 0;
  c.st.cached_bytes = 0;
}

}  // namespace tapegrad::allocator

// Caching allocator for tensor storage: 64-byte aligned blocks, kept on per-size-class free lists
// when freed so a training loop that makes the same shapes every step stops calling malloc.
#pragma once
#include <cstddef>
#include <cstdint>

namespace tapegrad::allocator {

constexpr size_t kAlignment = 64;

// Returns a block of at least `nbytes` (rounded up to its size class, reported in *capacity).
// Throws MemoryError when the system is out of memory.
void* allocate(size_t nbytes, size_t* capacity);
// Returns a block obtained from allocate(); `capacity` is the value allocate() reported.
void release(void* ptr, size_t capacity);

struct Stats {
  int64_t live_blocks;     // handed out, not yet released
  int64_t live_bytes;
  int64_t cached_blocks;   // on free lists
  int64_t cached_bytes;
  int64_t system_allocs;   // calls that reached the system allocator
  int64_t peak_live_bytes; // the most live_bytes reached since the last reset_peak()
};
Stats stats();
// Starts a new peak_live_bytes measurement from the bytes live now.
void reset_peak();
// Gives every cached block back to the system.
void empty_cache();

}  // namespace tapegrad::allocator

// Scratch buffers of the GEMM paths (packed panels, transposed B).
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/allocator.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

// From the tensor allocator's cache, so a training loop that repeats its shapes does not map and
// fault in fresh pages on every call. Null when memory is exhausted; return it with
// allocator::release(ptr, *capacity).
template <typename T>
T* take_buffer(int64_t count, size_t* capacity) {
  try {
    return static_cast<T*>(allocator::allocate(static_cast<size_t>(count) * sizeof(T), capacity));
  } catch (...) {
    return nullptr;
  }
}

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

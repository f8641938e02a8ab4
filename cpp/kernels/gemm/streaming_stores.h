// When the GEMM writes C with non-temporal stores (the micro-kernel's stream_c).
#pragma once
#include <cstdint>

namespace tapegrad::kernels::TG_ISA {
namespace {

// Non-temporal stores for C when it is written once and is larger than L2: one K block
// (k <= KC), beta == 0. Such a C leaves L2 anyway, and a normal store first reads each line it
// writes (write-allocate) and pushes other data out of the caches on the way; the gain is in what
// the caller's next ops find still in cache, not in the product itself. The tiles need C's rows
// 64-byte aligned, as the allocator's buffers with whole-64-byte rows are. The stores are weakly
// ordered: whoever issues them fences before the product ends (schedule.h).
constexpr int64_t kStreamCBytes = int64_t(2) << 20;

template <typename T>
bool stream_c_pays(int64_t m, int64_t n, int64_t k, int64_t kc, T beta, const T* c, int64_t ldc) {
  return beta == T(0) && k <= kc &&
         m * n * static_cast<int64_t>(sizeof(T)) >= kStreamCBytes &&
         reinterpret_cast<uintptr_t>(c) % 64 == 0 &&
         (ldc * static_cast<int64_t>(sizeof(T))) % 64 == 0;
}

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

#include "kernels/select.h"

#include <cstring>

namespace tapegrad::kernels {
namespace {

template <typename T>
void select_typed(const bool* c, const T* x, const T* y, T* out, const Shape& shape,
                  const int64_t* cs, const int64_t* xs, const int64_t* ys) {
  const int rank = shape.rank;
  if (rank == 0) {
    out[0] = c[0] ? x[0] : y[0];
    return;
  }
  // An odometer over the leading axes; the last axis is the inner loop.
  int64_t index[kMaxRank] = {};
  const int64_t n = shape.dims[rank - 1];
  const int64_t c1 = cs[rank - 1], x1 = xs[rank - 1], y1 = ys[rank - 1];
  int64_t co = 0, xo = 0, yo = 0;
  for (;;) {
    for (int64_t i = 0; i < n; ++i) *out++ = c[co + i * c1] ? x[xo + i * x1] : y[yo + i * y1];
    int d = rank - 2;
    for (; d >= 0; --d) {
      co += cs[d], xo += xs[d], yo += ys[d];
      if (++index[d] < shape.dims[d]) break;
      co -= cs[d] * index[d], xo -= xs[d] * index[d], yo -= ys[d] * index[d];
      index[d] = 0;
    }
    if (d < 0) return;
  }
}

}  // namespace

void select(size_t elem_size, const bool* cond, const void* x, const void* y, void* out,
            const Shape& shape, const int64_t* cs, const int64_t* xs, const int64_t* ys) {
  switch (elem_size) {
    case 1:
      return select_typed(cond, static_cast<const uint8_t*>(x), static_cast<const uint8_t*>(y),
                          static_cast<uint8_t*>(out), shape, cs, xs, ys);
    case 4:
      return select_typed(cond, static_cast<const uint32_t*>(x), static_cast<const uint32_t*>(y),
                          static_cast<uint32_t*>(out), shape, cs, xs, ys);
    default:
      return select_typed(cond, static_cast<const uint64_t*>(x), static_cast<const uint64_t*>(y),
                          static_cast<uint64_t*>(out), shape, cs, xs, ys);
  }
}

void copy_blocks(const void* src, void* dst, int64_t outer, int64_t block, int64_t dst_pitch) {
  if (block == 0) return;
  const char* s = static_cast<const char*>(src);
  char* d = static_cast<char*>(dst);
  for (int64_t o = 0; o < outer; ++o) std::memcpy(d + o * dst_pitch, s + o * block, block);
}

}  // namespace tapegrad::kernels

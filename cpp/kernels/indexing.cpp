#include "kernels/indexing.h"

#include <cstring>

namespace tapegrad::kernels {
namespace {

// Calls f(offset, out_offset, n) for each innermost run of `p`, in row-major order; offset is
// the strided side's element offset at the run's start, out_offset the contiguous side's.
template <typename F>
void for_runs(const GatherPlan& p, F&& f) {
  if (p.rank == 0) return f(int64_t{0}, int64_t{0}, int64_t{1});
  const int last = p.rank - 1;
  const int64_t n = p.shape[last];
  int64_t outer = 1;
  for (int d = 0; d < last; ++d) outer *= p.shape[d];
  int64_t idx[kMaxRank] = {};
  int64_t off = 0;
  for (int64_t o = 0; o < outer; ++o) {
    f(off, o * n, n);
    for (int d = last - 1; d >= 0; --d) {
      off += p.in_stride[d];
      if (++idx[d] < p.shape[d]) break;
      off -= p.in_stride[d] * p.shape[d];
      idx[d] = 0;
    }
  }
}

template <typename W>
void scatter(const W* in, W* out, const GatherPlan& p) {
  const int64_t s = p.rank ? p.in_stride[p.rank - 1] : 0;
  for_runs(p, [&](int64_t off, int64_t io, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[off + i * s] = in[io + i];
  });
}

template <typename W>
void fill(W value, W* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = value;
}

}  // namespace

void scatter_bytes(size_t size, const void* in, void* out, const GatherPlan& plan) {
  switch (size) {
    case 1: return scatter(static_cast<const uint8_t*>(in), static_cast<uint8_t*>(out), plan);
    case 4: return scatter(static_cast<const uint32_t*>(in), static_cast<uint32_t*>(out), plan);
    default: return scatter(static_cast<const uint64_t*>(in), static_cast<uint64_t*>(out), plan);
  }
}

void fill_bytes(size_t size, const void* value, void* out, int64_t n) {
  switch (size) {
    case 1: return fill(*static_cast<const uint8_t*>(value), static_cast<uint8_t*>(out), n);
    case 4: {
      uint32_t v;
      std::memcpy(&v, value, 4);
      return fill(v, static_cast<uint32_t*>(out), n);
    }
    default: {
      uint64_t v;
      std::memcpy(&v, value, 8);
      return fill(v, static_cast<uint64_t*>(out), n);
    }
  }
}

template <typename Index>
void gather_rows(size_t size, const void* params, const Index* idx, void* out, const RowGather& g) {
  const size_t row_bytes = static_cast<size_t>(g.row) * size;
  const char* src = static_cast<const char*>(params);
  char* dst = static_cast<char*>(out);
  for (int64_t o = 0; o < g.outer; ++o)
    for (int64_t b = 0; b < g.batch; ++b) {
      const Index* ib = idx + b * g.k;
      for (int64_t p = 0; p < g.pre; ++p) {
        const char* block = src + (((o * g.batch + b) * g.pre + p) * g.n) * row_bytes;
        for (int64_t j = 0; j < g.k; ++j, dst += row_bytes)
          std::memcpy(dst, block + static_cast<int64_t>(ib[j]) * row_bytes, row_bytes);
      }
    }
}

template <typename T, typename Index>
void scatter_add_rows(const T* grad, const Index* idx, T* out, const RowGather& g) {
  std::memset(out, 0, static_cast<size_t>(g.outer * g.batch * g.pre * g.n * g.row) * sizeof(T));
  for (int64_t o = 0; o < g.outer; ++o)
    for (int64_t b = 0; b < g.batch; ++b) {
      const Index* ib = idx + b * g.k;
      for (int64_t p = 0; p < g.pre; ++p) {
        T* block = out + (((o * g.batch + b) * g.pre + p) * g.n) * g.row;
        for (int64_t j = 0; j < g.k; ++j, grad += g.row) {
          T* dst = block + static_cast<int64_t>(ib[j]) * g.row;
          for (int64_t i = 0; i < g.row; ++i) dst[i] += grad[i];
        }
      }
    }
}

template <typename Index>
void one_hot(size_t size, const Index* idx, const void* on, const void* off, void* out,
             int64_t outer, int64_t depth, int64_t inner) {
  fill_bytes(size, off, out, outer * depth * inner);
  char* dst = static_cast<char*>(out);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t d = static_cast<int64_t>(idx[o * inner + i]);
      if (d >= 0 && d < depth)
        std::memcpy(dst + ((o * depth + d) * inner + i) * static_cast<int64_t>(size), on, size);
    }
}

template void gather_rows<int32_t>(size_t, const void*, const int32_t*, void*, const RowGather&);
template void gather_rows<int64_t>(size_t, const void*, const int64_t*, void*, const RowGather&);
template void scatter_add_rows<float, int32_t>(const float*, const int32_t*, float*, const RowGather&);
template void scatter_add_rows<float, int64_t>(const float*, const int64_t*, float*, const RowGather&);
template void scatter_add_rows<double, int32_t>(const double*, const int32_t*, double*, const RowGather&);
template void scatter_add_rows<double, int64_t>(const double*, const int64_t*, double*, const RowGather&);
template void one_hot<int32_t>(size_t, const int32_t*, const void*, const void*, void*, int64_t, int64_t,
                               int64_t);
template void one_hot<int64_t>(size_t, const int64_t*, const void*, const void*, void*, int64_t, int64_t,
                               int64_t);

}  // namespace tapegrad::kernels

#include "kernels/sum_of_squares.h"

#include <vector>

#include "core/parallel.h"

namespace tapegrad::kernels {
namespace {

constexpr int kLanes = 8;
constexpr int64_t kChunk = int64_t(1) << 16;

template <typename T>
double chunk_sum(const T* x, int64_t n) {
  double acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      const double v = static_cast<double>(x[j + l]);
      acc[l] += v * v;
    }
  for (int l = 0; j < n; ++j, ++l) {
    const double v = static_cast<double>(x[j]);
    acc[l] += v * v;
  }
  for (int width = kLanes / 2; width >= 1; width /= 2)
    for (int l = 0; l < width; ++l) acc[l] += acc[l + width];
  return acc[0];
}

template <typename T>
double typed(const T* x, int64_t n) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(static_cast<size_t>(chunks));
  parallel_ranges(chunks, [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) {
      const int64_t begin = c * kChunk;
      partial[c] = chunk_sum(x + begin, n - begin < kChunk ? n - begin : kChunk);
    }
  }, 1, 2);
  double total = 0;
  for (double p : partial) total += p;
  return total;
}

}  // namespace

double sum_of_squares(DType dtype, const void* x, int64_t n) {
  if (dtype == DType::F32) return typed(static_cast<const float*>(x), n);
  return typed(static_cast<const double*>(x), n);
}

}  // namespace tapegrad::kernels

#include "kernels/softmax.h"

#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "kernels/softmax_row_sums.h"
#include "kernels/softmax_rows.h"

namespace tapegrad::kernels {
namespace {

// Rows run on several threads when the row loop does at least this many exponentials.
constexpr int64_t kParallelElements = int64_t(1) << 15;

// A row's result from its peak and exponential sum (y holds the exponentials unless log).
template <typename T>
void finish_row(const SoftmaxRowLoops<T>& row, bool log, const T* x, T* y, int64_t n, T peak, T total) {
  if (log) {
    row.shifted_minus(x, y, n, peak, std::log(total));
  } else {
    row.divide(y, n, total);
  }
}

// One row, contiguous: y = softmax(x) or log_softmax(x) (y may be x).
template <typename T>
void softmax_row(const SoftmaxRowLoops<T>& row, bool log, const T* x, T* y, int64_t n) {
  const T peak = row.peak(x, n);
  // log: (x - peak) - log(total): subtracting the peak first keeps the digits of small results.
  const T total = row.shifted_exp_sum(x, n, peak, log ? nullptr : y);
  finish_row(row, log, x, y, n, peak, total);
}

template <typename T>
void softmax_typed(bool log, const T* x, T* out, int64_t outer, int64_t n, int64_t inner) {
  const SoftmaxRowLoops<T>& row = softmax_rows<T>();
  parallel_ranges(outer * inner, [&](int64_t lo, int64_t hi) {
    if (inner == 1)
      return row_exp_sums(row, x, log ? nullptr : out, lo, hi, n, [&](int64_t r, T peak, T total) {
        finish_row(row, log, x + r * n, out + r * n, n, peak, total);
      });
    // A row strided by `inner` is gathered into contiguous scratch, worked on there and
    // scattered back, so every layout runs the same row code and gives the same bits.
    std::vector<T> scratch(static_cast<size_t>(n));
    for (int64_t r = lo; r < hi; ++r) {
      const int64_t base = (r / inner) * n * inner + r % inner;
      for (int64_t k = 0; k < n; ++k) scratch[k] = x[base + k * inner];
      softmax_row(row, log, scratch.data(), scratch.data(), n);
      for (int64_t k = 0; k < n; ++k) out[base + k * inner] = scratch[k];
    }
  }, 1, kParallelElements / n + 2);
}

}  // namespace

void softmax(bool log, DType dtype, const void* x, void* out, int64_t outer, int64_t n, int64_t inner) {
  if (dtype == DType::F32)
    return softmax_typed(log, static_cast<const float*>(x), static_cast<float*>(out), outer, n, inner);
  softmax_typed(log, static_cast<const double*>(x), static_cast<double*>(out), outer, n, inner);
}

}  // namespace tapegrad::kernels

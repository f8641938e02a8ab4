// Rows' peaks and exponential sums through a softmax row table, for the softmax and
// cross-entropy kernels. Not for the per-ISA units: it instantiates library templates.
#pragma once
#include <algorithm>
#include <cstdint>

#include "kernels/softmax_rows.h"

namespace tapegrad::kernels {

// Each contiguous row's peak and shifted_exp_sum (writing the exponentials to e + r * n when e is
// not null), for rows [lo, hi) of n elements, then finish_row(r, peak, total): short rows a
// vector of rows at a time (SoftmaxRowLoops::narrow_rows), with the same bits as one by one.
template <typename T, typename F>
void row_exp_sums(const SoftmaxRowLoops<T>& row, const T* x, T* e, int64_t lo, int64_t hi,
                  int64_t n, F&& finish_row) {
  if (n >= 1 && n < kSoftmaxLanes) {
    constexpr int kMaxBlock = 16;  // the widest vector of floats
    T peaks[kMaxBlock], totals[kMaxBlock];
    const int64_t block = std::min<int64_t>(row.narrow_rows_per_call, kMaxBlock);
    for (int64_t r0 = lo; r0 < hi; r0 += block) {
      const int64_t rows = std::min(block, hi - r0);
      row.narrow_rows(x + r0 * n, rows, n, peaks, totals, e ? e + r0 * n : nullptr);
      for (int64_t i = 0; i < rows; ++i) finish_row(r0 + i, peaks[i], totals[i]);
    }
    return;
  }
  for (int64_t r = lo; r < hi; ++r) {
    const T peak = row.peak(x + r * n, n);
    finish_row(r, peak, row.shifted_exp_sum(x + r * n, n, peak, e ? e + r * n : nullptr));
  }
}

}  // namespace tapegrad::kernels

// sum(x ** 2) of a contiguous run, for l2_loss.
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace tapegrad::kernels {

// Accumulated in double, in fixed chunks whose partial sums are added in order: the result is
// bitwise the same for any thread count. x is float32 or float64 (`dtype`).
double sum_of_squares(DType dtype, const void* x, int64_t n);

}  // namespace tapegrad::kernels

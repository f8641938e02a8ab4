// Softmax and log-softmax along one axis, computed stably: the axis' maximum is subtracted before
// exponentiating, so large logits give finite results. Computed in the logits' dtype by the row
// loops of kernels/softmax_rows.h (vector exponentials, the row's sum in fixed lanes), so every
// instruction set and every thread count gives the same bits.
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace tapegrad::kernels {

// For x viewed as [outer, n, inner], along n: out = softmax(x), or log_softmax(x) when `log`.
// x and out are of `dtype`, float32 or float64; n >= 1.
void softmax(bool log, DType dtype, const void* x, void* out, int64_t outer, int64_t n, int64_t inner);

}  // namespace tapegrad::kernels

// Cumulative sums and products along one axis, and the product reduction. One portable build:
// every output element is a fixed sequence of operations in index order, so the result is the
// same on every instruction set and for any thread count. Integer arithmetic wraps.
#pragma once
#include <cstdint>

#include "core/dtype.h"
#include "kernels/kernels.h"

namespace tapegrad::kernels {

enum class ScanOp { Sum, Prod };

// For x viewed as [outer, n, inner], along n: out[k] = x[0] op x[1] op ... op x[k], in that order;
// `exclusive` stops at x[k - 1] (out[0] is the identity, 0 or 1); `reverse` runs from the end
// (out[k] = x[n - 1] op ... op x[k]). dtype: float32, float64, int32 or int64.
void scan(ScanOp op, bool exclusive, bool reverse, DType dtype, const void* x, void* out,
          int64_t outer, int64_t n, int64_t inner);

// out[j] = the product, in input order, of the elements that reduce into j (plan as for
// reduce_sum); 1 where none do. dtype: float32, float64, int32 or int64.
void reduce_prod(DType dtype, const void* in, void* out, const ReducePlan& plan);

}  // namespace tapegrad::kernels

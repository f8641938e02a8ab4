// Reductions that select rather than add: max, min (any number dtype; NaN wins, as numpy), any,
// all (bool), and the index of the max or min along one axis. One portable build: their results
// feed masks and metrics, and their backward rules are written with other ops.
#pragma once
#include <cstdint>

#include "core/dtype.h"
#include "kernels/kernels.h"

namespace tapegrad::kernels {

enum class SelectOp { Max, Min, Any, All };

// out[j] = op over the input elements that reduce into j (plan as for reduce_sum). An empty
// reduction gives the op's identity: -inf / the lowest integer for max, +inf / the highest for
// min, false for any, true for all.
void reduce_select(SelectOp op, DType dtype, const void* in, void* out, const ReducePlan& plan);

// For `in` viewed as [outer, n, inner]: out[o, i] = the first index along n of the largest
// (want_max) or smallest element; a NaN counts as larger and smaller than anything, as numpy.
void arg_select(bool want_max, DType dtype, const void* in, int64_t* out, int64_t outer, int64_t n,
                int64_t inner);

}  // namespace tapegrad::kernels

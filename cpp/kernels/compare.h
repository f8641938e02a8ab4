// Comparisons (any number dtype in, bool out) and logical ops (bool in and out), with numpy
// broadcasting through a BinaryPlan. One portable build: these produce masks and metrics, never
// anything differentiated.
#pragma once
#include <cstdint>

#include "core/dtype.h"
#include "kernels/kernels.h"

namespace tapegrad::kernels {

enum class CompareOp { Equal, NotEqual, Less, LessEqual, Greater, GreaterEqual };
enum class LogicalOp { And, Or };

// out[i] = a[...] op b[...], both of `dtype` (a number dtype or bool for (not_)equal). Any
// comparison with NaN is false except not_equal, as IEEE and numpy.
void compare(CompareOp op, DType dtype, const void* a, const void* b, bool* out,
             const BinaryPlan& plan);
void logical(LogicalOp op, const bool* a, const bool* b, bool* out, const BinaryPlan& plan);
void logical_not(const bool* x, bool* out, int64_t n);

}  // namespace tapegrad::kernels

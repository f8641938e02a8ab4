// The kernels of the integer and bool dtypes, and conversions between all dtypes. One portable
// build, outside the per-instruction-set tables: these dtypes never take part in differentiation
// or in a GEMM, and their loops are simple enough for the compiler's default vectorisation.
// Integer arithmetic wraps around on overflow, as numpy's and TensorFlow's do.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/dtype.h"
#include "kernels/kernels.h"

namespace tapegrad::kernels {

template <typename T>
struct IntegerKernels {
  // Add, Sub, Mul, Max, Min, FloorDiv, Mod (the ops refuse a zero divisor first) and Pow (they
  // refuse a negative exponent first). Div has no integer kernel: the op refuses integer tensors.
  void (*binary)(BinaryOp op, const T* a, const T* b, T* out, const BinaryPlan& plan);
  void (*unary)(UnaryOp op, const T* x, T* out, int64_t n);  // Neg, Square
  void (*reduce_sum)(const T* in, T* out, const ReducePlan& plan);
  void (*fill)(int64_t n, T value, T* out);
};

// For T = int32_t and int64_t.
template <typename T>
const IntegerKernels<T>& integer_kernels();

// Contiguous out[...] = in[...] by `plan`, for elements of `size` bytes (1, 4 or 8): moving
// integers and bools, which no arithmetic touches.
void gather_bytes(size_t size, const void* in, void* out, const GatherPlan& plan);

// out = in converted from `from` to `to`, n elements. Floating to integer truncates toward zero
// and saturates at the integer type's range, NaN giving 0 (a defined answer where C++ has
// none); anything to bool is `x != 0`; bool is 0 or 1.
void convert(DType from, const void* in, DType to, void* out, int64_t n);

}  // namespace tapegrad::kernels

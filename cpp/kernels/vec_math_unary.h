// One instruction set's vector-math rows (defined in simd/vec_math_<isa>.cpp): out[i] = op(x[i])
// over a contiguous row, returning true, when op has a vector-math body (elementwise_ops.h);
// otherwise false, touching nothing. Declared in the namespace TG_ISA names.
#pragma once
#ifndef TG_ISA
#error "define TG_ISA, the namespace of this unit's kernels, before including this"
#endif
#include <cstdint>

#include "kernels/elementwise_ops.h"

namespace tapegrad::kernels::TG_ISA {

bool vec_math_unary(UnaryOp op, const float* x, float* out, int64_t n);
bool vec_math_unary(UnaryOp op, const double* x, double* out, int64_t n);

}  // namespace tapegrad::kernels::TG_ISA

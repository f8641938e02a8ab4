// The avx512 vector math, compiled with the avx512 flags and -ffp-contract=off (CMakeLists.txt), so
// the compiler fuses no product into a sum and the lanes keep the scalar reference's bits.
#define TG_ISA isa_avx512  // the namespace of this unit's kernels
#include "kernels/simd/vec_avx512.h"
#include "kernels/simd/vec_math_rows.h"

namespace tapegrad::kernels::isa_avx512 {

bool vec_math_unary(UnaryOp op, const float* x, float* out, int64_t n) {
  return vec_math_rows<Avx512Vec>(op, x, out, n);
}
bool vec_math_unary(UnaryOp op, const double* x, double* out, int64_t n) {
  return vec_math_rows<Avx512Vec>(op, x, out, n);
}

}  // namespace tapegrad::kernels::isa_avx512

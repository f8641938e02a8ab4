// The avx512 softmax row loops: softmax_rows_body.h over Avx512Vec, compiled with this file's flags
// (CMakeLists.txt).
#define TG_ISA softmax_avx512  // the namespace of this unit's loops
#include "kernels/simd/vec_avx512.h"
#include "kernels/softmax_rows_body.h"

namespace tapegrad::kernels {
const SoftmaxRowTable& avx512_softmax_rows() { return softmax_avx512::table<softmax_avx512::Avx512Vec>(); }
}  // namespace tapegrad::kernels

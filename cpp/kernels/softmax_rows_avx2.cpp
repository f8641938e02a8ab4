// The avx2 softmax row loops: softmax_rows_body.h over Avx2Vec, compiled with this file's flags
// (CMakeLists.txt).
#define TG_ISA softmax_avx2  // the namespace of this unit's loops
#include "kernels/simd/vec_avx2.h"
#include "kernels/softmax_rows_body.h"

namespace tapegrad::kernels {
const SoftmaxRowTable& avx2_softmax_rows() { return softmax_avx2::table<softmax_avx2::Avx2Vec>(); }
}  // namespace tapegrad::kernels

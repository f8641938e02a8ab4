// The scalar softmax row loops: softmax_rows_body.h over ScalarVec, compiled with this file's flags
// (CMakeLists.txt).
#define TG_ISA softmax_scalar  // the namespace of this unit's loops
#include "kernels/simd/vec_scalar.h"
#include "kernels/softmax_rows_body.h"

namespace tapegrad::kernels {
const SoftmaxRowTable& scalar_softmax_rows() { return softmax_scalar::table<ScalarVec>(); }
}  // namespace tapegrad::kernels

// The avx2 scalar-pair loops: scalar_pairs_body.h compiled with this file's flags (CMakeLists.txt).
#define TG_ISA scalar_pairs_avx2  // the namespace of this unit's loops
#include "kernels/scalar_pairs_body.h"

namespace tapegrad::kernels {
const ScalarPairTable& avx2_scalar_pairs() { return scalar_pairs_avx2::table(); }
}  // namespace tapegrad::kernels

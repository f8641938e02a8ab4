// The avx2 optimizer loops: optimizer_loops_body.h compiled with this file's flags (CMakeLists.txt).
#define TG_ISA optimizer_avx2  // the namespace of this unit's loops
#include "kernels/optimizer_loops_body.h"

namespace tapegrad::kernels {
const OptimizerLoopTable& avx2_optimizer_loops() { return optimizer_avx2::table(); }
}  // namespace tapegrad::kernels

// The avx512 optimizer loops: optimizer_loops_body.h compiled with this file's flags (CMakeLists.txt).
#define TG_ISA optimizer_avx512  // the namespace of this unit's loops
#include "kernels/optimizer_loops_body.h"

namespace tapegrad::kernels {
const OptimizerLoopTable& avx512_optimizer_loops() { return optimizer_avx512::table(); }
}  // namespace tapegrad::kernels

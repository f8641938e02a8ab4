// The scalar optimizer loops: optimizer_loops_body.h compiled with this file's flags (CMakeLists.txt).
#define TG_ISA optimizer_scalar  // the namespace of this unit's loops
#include "kernels/optimizer_loops_body.h"

namespace tapegrad::kernels {
const OptimizerLoopTable& scalar_optimizer_loops() { return optimizer_scalar::table(); }
}  // namespace tapegrad::kernels

// The scalar kernel table: the scalar kernel set compiled with this file's flags (CMakeLists.txt).
#define TG_ISA isa_scalar  // the namespace of this unit's kernels
#include "kernels/isa_scalar.h"
#include "kernels/table.h"

namespace tapegrad::kernels {
const KernelTable& scalar_table() { return isa_scalar::table(); }
}  // namespace tapegrad::kernels

// The scalar kernel table: the portable kernels compiled with this file's flags (see CMakeLists.txt).
#include <cstdlib>
#define TG_ISA isa_scalar
#define TG_ISA_NAME "scalar"
#include "kernels/kernels_portable.h"

namespace tapegrad::kernels {
const KernelTable& scalar_table() { return isa_scalar::table(); }
}  // namespace tapegrad::kernels

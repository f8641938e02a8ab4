// The avx2 kernel table: the avx2 kernel set compiled with this file's flags (CMakeLists.txt).
#define TG_ISA isa_avx2  // the namespace of this unit's kernels
#include "kernels/isa_avx2.h"
#include "kernels/table.h"

namespace tapegrad::kernels {
const KernelTable& avx2_table() { return isa_avx2::table(); }
}  // namespace tapegrad::kernels

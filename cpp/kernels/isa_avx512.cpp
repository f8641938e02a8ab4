// The avx512 kernel table: the avx512 kernel set compiled with this file's flags (CMakeLists.txt).
#define TG_ISA isa_avx512  // the namespace of this unit's kernels
#include "kernels/isa_avx512.h"
#include "kernels/table.h"

namespace tapegrad::kernels {
const KernelTable& avx512_table() { return isa_avx512::table(); }
}  // namespace tapegrad::kernels

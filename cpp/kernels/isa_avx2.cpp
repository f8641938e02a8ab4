// The avx2 kernel table: the portable kernels compiled with this file's flags (see CMakeLists.txt).
#include <cstdlib>
#define TG_ISA isa_avx2
#define TG_ISA_NAME "avx2"
#define TG_MICRO Avx2Micro
#define TG_GEMV Avx2Gemv
#define TG_SMALL_N Avx2SmallN
#include "kernels/gemm_micro_avx2.h"
#include "kernels/kernels_portable.h"

namespace tapegrad::kernels {
const KernelTable& avx2_table() { return isa_avx2::table(); }
}  // namespace tapegrad::kernels

// The avx512 kernel table: the portable kernels compiled with this file's flags (see CMakeLists.txt).
#include <cstdlib>
#define TG_ISA isa_avx512
#define TG_ISA_NAME "avx512"
#define TG_MICRO Avx512Micro
#define TG_GEMV Avx512Gemv
#define TG_SMALL_N Avx512SmallN
#define TG_BLOCKING Avx512Blocking
#include "kernels/gemm_micro_avx512.h"
#include "kernels/kernels_portable.h"

namespace tapegrad::kernels {
const KernelTable& avx512_table() { return isa_avx512::table(); }
}  // namespace tapegrad::kernels

// One build of the avx2 (or, with -DTG_AB_AVX512, avx512) kernel table under another name, for
// kernel_ab: compiled twice, with -DTG_VARIANT=va and -DTG_VARIANT=vb, each from its own copy of
// cpp/ (see README.md). A side's own headers (KERNEL_AB_OVERRIDE_A/B) come first on its include
// path, so they replace the tree's.
#define TG_CAT2(a, b) a##b
#define TG_CAT(a, b) TG_CAT2(a, b)
#define TG_ISA TG_CAT(isa_, TG_VARIANT)

#if __has_include("kernels/table.h")
#ifdef TG_AB_AVX512
#include "kernels/isa_avx512.h"
#else
#include "kernels/isa_avx2.h"
#endif
#include "kernels/table.h"
#else
// A tree from before cpp/kernels/ had simd/ and gemm/: its kernel set is chosen by macros.
#include <cstdlib>
#define TG_ISA_NAME "variant"
#ifdef TG_AB_AVX512
#define TG_SMALL_N Avx512SmallN
#define TG_GEMV Avx512Gemv
#define TG_MICRO Avx512Micro
#define TG_BLOCKING Avx512Blocking
#include "kernels/gemm_micro_avx512.h"
#else
#define TG_SMALL_N Avx2SmallN
#define TG_GEMV Avx2Gemv
#define TG_MICRO Avx2Micro
#include "kernels/gemm_micro_avx2.h"
#endif
#include "kernels/kernels_portable.h"
#endif

namespace tapegrad::kernels {
const KernelTable& TG_CAT(TG_VARIANT, _table)() { return TG_ISA::table(); }
}  // namespace tapegrad::kernels

// One build of the avx2 (or, with -DTG_AB_AVX512, avx512) kernel table under another name, for
// kernel_ab: compiled twice, with -DTG_VARIANT=va and -DTG_VARIANT=vb, each from its own copy of
// cpp/ (see run.sh).
#include <cstdlib>
#define TG_CAT2(a, b) a##b
#define TG_CAT(a, b) TG_CAT2(a, b)
#define TG_ISA TG_CAT(isa_, TG_VARIANT)
#define TG_ISA_NAME "variant"
#ifdef TG_AB_AVX512
#ifndef TG_SMALL_N  // as TG_GEMV below
#define TG_SMALL_N Avx512SmallN
#endif
#ifndef TG_GEMV  // a side can take another (KERNEL_AB_DEFS_A="-DTG_GEMV=Avx2Gemv")
#define TG_GEMV Avx512Gemv
#endif
#define TG_MICRO Avx512Micro
#define TG_BLOCKING Avx512Blocking
#include "kernels/gemm_micro_avx512.h"
#else
#ifndef TG_SMALL_N
#define TG_SMALL_N Avx2SmallN
#endif
#ifndef TG_GEMV
#define TG_GEMV Avx2Gemv
#endif
#define TG_MICRO Avx2Micro
#include "kernels/gemm_micro_avx2.h"
#endif
#include "kernels/kernels_portable.h"

namespace tapegrad::kernels {
const KernelTable& TG_CAT(TG_VARIANT, _table)() { return TG_ISA::table(); }
}  // namespace tapegrad::kernels

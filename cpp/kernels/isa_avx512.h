// The avx512 kernel set (AVX-512 F/BW/DQ/VL, zmm registers; ymm where they serve better),
// compiled by isa_avx512.cpp. What each name is for: table.h.
#pragma once
#ifndef TG_ISA
#error "define TG_ISA, the namespace of this unit's kernels, before including this"
#endif
#include "kernels/gemm/block_sizes_avx512.h"
#include "kernels/gemm/micro_simd.h"
#include "kernels/gemm/register_width_avx512.h"
#include "kernels/simd/vec_avx512.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

constexpr const char* kIsaName = "avx512";
template <typename T> using BlockSizes = Avx512BlockSizes<T>;
template <typename T> using Micro = SimdMicro<T, Avx512Vec, BlockSizes<T>::MR>;
template <typename T> using Gemv = Avx512Gemv<T>;
template <typename T> using FewColumns = Avx512FewColumns<T>;
constexpr bool kHasFewColumns = true;
// The math functors with a vector body run it (simd/vec_math_avx512.cpp).
constexpr bool kHasVecMath = true;

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

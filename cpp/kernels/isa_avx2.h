// The avx2 kernel set (AVX2 + FMA, ymm registers), compiled by isa_avx2.cpp.
// What each name is for: table.h.
#pragma once
#ifndef TG_ISA
#error "define TG_ISA, the namespace of this unit's kernels, before including this"
#endif
#include "kernels/gemm/block_sizes_avx2.h"
#include "kernels/gemm/few_columns_simd.h"
#include "kernels/gemm/gemv_simd.h"
#include "kernels/gemm/micro_simd.h"
#include "kernels/simd/vec_avx2.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

constexpr const char* kIsaName = "avx2";
template <typename T> using BlockSizes = Avx2BlockSizes<T>;
template <typename T> using Micro = SimdMicro<T, Avx2Vec, BlockSizes<T>::MR>;
template <typename T> using Gemv = SimdGemv<T, Avx2Vec>;
template <typename T> using FewColumns = SimdFewColumns<T, Avx2Vec>;
constexpr bool kHasFewColumns = true;
// The math functors with a vector body run it (simd/vec_math_avx2.cpp).
constexpr bool kHasVecMath = true;

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

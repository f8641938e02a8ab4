// The scalar kernel set: the portable kernels, which isa_scalar.cpp compiles without
// vectorisation or contraction: the reference every other instruction set is tested against.
// What each name is for: table.h.
#pragma once
#ifndef TG_ISA
#error "define TG_ISA, the namespace of this unit's kernels, before including this"
#endif
#include "kernels/gemm/block_sizes_portable.h"
#include "kernels/gemm/gemv_portable.h"
#include "kernels/gemm/micro_portable.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

constexpr const char* kIsaName = "scalar";
template <typename T> using BlockSizes = PortableBlockSizes<T>;
template <typename T> using Micro = PortableMicro<T, BlockSizes<T>::MR>;
template <typename T> using Gemv = PortableGemv<T>;
template <typename T> struct FewColumns;  // none: 2..15 columns take the blocked path
constexpr bool kHasFewColumns = false;
// The math functors run their bodies lane by lane (f), the scalar reference.
constexpr bool kHasVecMath = false;

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

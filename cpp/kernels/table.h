// One instruction set's kernel table, built from the shared kernel code. Included once per
// instruction set, by isa_<name>.cpp, after it defines TG_ISA (the namespace of its kernels) and
// includes its kernel set (isa_<name>.h), which names what the shared code takes from it:
//   kIsaName           the name the table reports;
//   Micro<T>           the GEMM micro-kernel (an MR x NR register tile);
//   BlockSizes<T>      the GEMM block sizes (gemm/block_sizes_*.h; fields in gemm/tiles.h);
//   Gemv<T>            the matrix-vector kernel;
//   FewColumns<T>      the kernel for 2..15 columns, used when kHasFewColumns.
// Each translation unit compiles this code with its own flags (see CMakeLists.txt), and
// everything in it lives in the per-ISA namespace, internal to the unit, and calls no inline
// library templates, so the linker never keeps one unit's copy of a function for another
// (one-definition rule).
#ifndef TG_ISA
#error "include an isa_<name>.h kernel set before kernels/table.h"
#endif
#include "kernels/elementwise.h"
#include "kernels/gemm/gemm.h"
#include "kernels/kernels.h"
#include "kernels/reduce.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

template <typename T>
TypedKernels<T> typed() {
  TypedKernels<T> k;
  k.binary = &binary<T>;
  k.unary = &unary<T>;
  k.axpy = &axpy<T>;
  k.scale = &scale<T>;
  k.square_grad = &square_grad<T>;
  k.fill = &fill<T>;
  k.gather = &gather<T>;
  k.reduce_sum = &reduce_sum<T>;
  k.sum = &sum_run<T>;
  k.dot = &dot_run<T>;
  k.stream_sum = &stream_sum<T>;
  k.stream_dot = &stream_dot<T>;
  k.stream_rest = &stream_rest<T>;
  k.gemm = &gemm<T>;
  return k;
}

}  // namespace

const KernelTable& table() {
  static const KernelTable t = {kIsaName, typed<float>(), typed<double>(), &cast_f32_to_f64,
                                &cast_f64_to_f32};
  return t;
}

}  // namespace tapegrad::kernels::TG_ISA

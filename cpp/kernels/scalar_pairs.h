// Two binary ops in one pass: out[i] = op2(op1(a[i], s1), s2), each op taking its one-element
// operand s first or second, as a tg.function loop finds them in a chain (x * w + b; (d * 2) * c).
// One table per instruction set, all from one source (scalar_pairs_body.h) compiled with
// contraction into FMA off: each element gets the two IEEE operations the two binary kernels would
// apply, rounded after each, so the pair has their bits and every table gives the same bits.
#pragma once
#include <cstdint>

#include "kernels/elementwise_ops.h"

namespace tapegrad::kernels {

// Ops a pair may hold: the four arithmetic ones, single IEEE operations.
constexpr bool pairable(BinaryOp op) {
  return op == BinaryOp::Add || op == BinaryOp::Sub || op == BinaryOp::Mul || op == BinaryOp::Div;
}

template <typename T>
struct ScalarPairLoops {
  // out[i] = op2(op1(a[i], s1), s2) (n elements; out may be a), with s1 the first operand of op1
  // when s1_first, else the second, and likewise s2 for op2. op1 and op2 are pairable.
  void (*run)(BinaryOp op1, bool s1_first, BinaryOp op2, bool s2_first, const T* a, T s1, T s2,
              T* out, int64_t n);
};

struct ScalarPairTable {
  ScalarPairLoops<float> f32;
  ScalarPairLoops<double> f64;

  template <typename T> const ScalarPairLoops<T>& get() const;
};
template <> inline const ScalarPairLoops<float>& ScalarPairTable::get<float>() const { return f32; }
template <> inline const ScalarPairLoops<double>& ScalarPairTable::get<double>() const { return f64; }

const ScalarPairTable& scalar_scalar_pairs();
const ScalarPairTable& avx2_scalar_pairs();
const ScalarPairTable& avx512_scalar_pairs();

// The table of the kernel set in use (kernels::active()).
const ScalarPairTable& active_scalar_pairs();

}  // namespace tapegrad::kernels

// The scalar-pair loops (scalar_pairs.h), included once per instruction set by
// scalar_pairs_<isa>.cpp after it defines TG_ISA (the namespace of its copy). Everything lives in
// that namespace or in anonymous namespaces, internal to the unit (ODR).
#ifndef TG_ISA
#error "define TG_ISA, the namespace of this unit's loops, before including this"
#endif
#include <cstdint>

#include "kernels/elementwise_ops.h"
#include "kernels/scalar_pairs.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

template <typename T, class F1, bool S1First, class F2, bool S2First>
void pair_loop(const T* a, T s1, T s2, T* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T t = S1First ? F1::f(s1, a[i]) : F1::f(a[i], s1);
    out[i] = S2First ? F2::f(s2, t) : F2::f(t, s2);
  }
}

template <typename T>
using Loop = void (*)(const T*, T, T, T*, int64_t);

// The loop for one op and order of the second op, given the first.
template <typename T, class F1, bool S1First>
Loop<T> second(BinaryOp op2, bool s2_first) {
  switch (op2) {
    case BinaryOp::Add: return s2_first ? &pair_loop<T, F1, S1First, AddF<T>, true> : &pair_loop<T, F1, S1First, AddF<T>, false>;
    case BinaryOp::Sub: return s2_first ? &pair_loop<T, F1, S1First, SubF<T>, true> : &pair_loop<T, F1, S1First, SubF<T>, false>;
    case BinaryOp::Mul: return s2_first ? &pair_loop<T, F1, S1First, MulF<T>, true> : &pair_loop<T, F1, S1First, MulF<T>, false>;
    default: return s2_first ? &pair_loop<T, F1, S1First, DivF<T>, true> : &pair_loop<T, F1, S1First, DivF<T>, false>;
  }
}

template <typename T, class F1>
Loop<T> first_order(bool s1_first, BinaryOp op2, bool s2_first) {
  return s1_first ? second<T, F1, true>(op2, s2_first) : second<T, F1, false>(op2, s2_first);
}

template <typename T>
void run(BinaryOp op1, bool s1_first, BinaryOp op2, bool s2_first, const T* a, T s1, T s2, T* out,
         int64_t n) {
  Loop<T> loop;
  switch (op1) {
    case BinaryOp::Add: loop = first_order<T, AddF<T>>(s1_first, op2, s2_first); break;
    case BinaryOp::Sub: loop = first_order<T, SubF<T>>(s1_first, op2, s2_first); break;
    case BinaryOp::Mul: loop = first_order<T, MulF<T>>(s1_first, op2, s2_first); break;
    default: loop = first_order<T, DivF<T>>(s1_first, op2, s2_first); break;
  }
  loop(a, s1, s2, out, n);
}

}  // namespace

inline const ScalarPairTable& table() {
  static const ScalarPairTable t = {{&run<float>}, {&run<double>}};
  return t;
}

}  // namespace tapegrad::kernels::TG_ISA

// Contiguous rows of the functors with a vector-math body (elementwise_ops.h) on one instruction
// set's vector type Vec: whole vectors by the body, the tail by the functor's f, so every element
// has the bits of f. Included by simd/vec_math_<isa>.cpp after it defines TG_ISA.
#pragma once
#ifndef TG_ISA
#error "define TG_ISA, the namespace of this unit's kernels, before including this"
#endif
#include <cstdint>

#include "kernels/elementwise_ops.h"
#include "kernels/vec_math_unary.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

template <class O, class F>
void vec_row(const typename O::T* x, typename O::T* y, int64_t n) {
  int64_t i = 0;
  for (; i + O::W <= n; i += O::W) O::store(y + i, F::template v<O>(O::load(x + i)));
  for (; i < n; ++i) y[i] = F::f(x[i]);
}

// float32 sin/cos in double lanes (O is a double vector type). A vector holding a lane the
// polynomial does not cover is computed lane by lane by F::f, which gives the other lanes the
// polynomial's bits too. y may be x.
template <class O, class F>
void trig_row(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + O::W <= n; i += O::W) {
    const typename O::V xd = O::load_f32(x + i);
    if (O::any(vm::trig_big<O>(xd))) {
      for (int j = 0; j < O::W; ++j) y[i + j] = F::f(x[i + j]);
    } else {
      O::store_f32(y + i, F::template v_wide<O>(xd));
    }
  }
  for (; i < n; ++i) y[i] = F::f(x[i]);
}

template <template <class> class Vec>
bool vec_math_rows(UnaryOp op, const float* x, float* y, int64_t n) {
  using O = Vec<float>;
  switch (op) {
    case UnaryOp::Exp: vec_row<O, ExpF<float>>(x, y, n); return true;
    case UnaryOp::Expm1: vec_row<O, Expm1F<float>>(x, y, n); return true;
    case UnaryOp::Log: vec_row<O, LogF<float>>(x, y, n); return true;
    case UnaryOp::Log1p: vec_row<O, Log1pF<float>>(x, y, n); return true;
    case UnaryOp::Tanh: vec_row<O, TanhF<float>>(x, y, n); return true;
    case UnaryOp::Sigmoid: vec_row<O, SigmoidF<float>>(x, y, n); return true;
    case UnaryOp::Sin: trig_row<Vec<double>, SinF<float>>(x, y, n); return true;
    case UnaryOp::Cos: trig_row<Vec<double>, CosF<float>>(x, y, n); return true;
    default: return false;
  }
}

template <template <class> class Vec>
bool vec_math_rows(UnaryOp op, const double* x, double* y, int64_t n) {
  using O = Vec<double>;
  switch (op) {
    case UnaryOp::Exp: vec_row<O, ExpF<double>>(x, y, n); return true;
    case UnaryOp::Log: vec_row<O, LogF<double>>(x, y, n); return true;
    default: return false;
  }
}

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

// The elementwise kernels of one instruction set's table: the unary and binary ops listed in
// elementwise_ops.h, axpy, scale, fill, square's backward, gather and the casts. Plain loops that
// the translation unit's flags vectorise; each output element depends on its own inputs alone.
#pragma once
#include <cstdint>

#include "kernels/elementwise_ops.h"
#include "kernels/kernels.h"
#include "kernels/vec_math_unary.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

// Inner loop specialised on the stride pattern so the common cases are unit-stride.
template <typename T, typename F>
void binary_row(const T* a, const T* b, T* out, int64_t n, int64_t sa, int64_t sb) {
  if (sa == 1 && sb == 1) {
#pragma GCC unroll 4
    for (int64_t i = 0; i < n; ++i) out[i] = F::f(a[i], b[i]);
  } else if (sa == 0 && sb == 1) {
    const T x = a[0];
#pragma GCC unroll 4
    for (int64_t i = 0; i < n; ++i) out[i] = F::f(x, b[i]);
  } else if (sa == 1 && sb == 0) {
    const T y = b[0];
#pragma GCC unroll 4
    for (int64_t i = 0; i < n; ++i) out[i] = F::f(a[i], y);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = F::f(a[i * sa], b[i * sb]);
  }
}

// One whole row in a function of its own: inlined into binary()'s switch over every op, the
// row loop keeps its bound on the stack. Short rows of a broadcast stay inline (a call per row
// would cost more than the row).
template <typename T, typename F>
__attribute__((noinline)) void binary_whole_row(const T* a, const T* b, T* out, int64_t n, int64_t sa,
                                                int64_t sb) {
  binary_row<T, F>(a, b, out, n, sa, sb);
}

template <typename T, typename F>
void binary_loop(const T* a, const T* b, T* out, const BinaryPlan& p) {
  if (p.rank == 0) {
    out[0] = F::f(a[0], b[0]);
    return;
  }
  const int last = p.rank - 1;
  const int64_t n = p.shape[last];
  int64_t outer = 1;
  for (int d = 0; d < last; ++d) outer *= p.shape[d];
  if (outer == 1) return binary_whole_row<T, F>(a, b, out, n, p.stride_a[last], p.stride_b[last]);
  int64_t idx[kMaxRank] = {};
  int64_t off_a = 0, off_b = 0;
  for (int64_t o = 0; o < outer; ++o) {
    binary_row<T, F>(a + off_a, b + off_b, out + o * n, n, p.stride_a[last], p.stride_b[last]);
    // Advance the multi-index over the outer dimensions (odometer order).
    for (int d = last - 1; d >= 0; --d) {
      off_a += p.stride_a[d];
      off_b += p.stride_b[d];
      if (++idx[d] < p.shape[d]) break;
      off_a -= p.stride_a[d] * p.shape[d];
      off_b -= p.stride_b[d] * p.shape[d];
      idx[d] = 0;
    }
  }
}

#define TAPEGRAD_BINARY_CASE(op, functor) \
  case BinaryOp::op: return binary_loop<T, functor<T>>(a, b, out, p);

template <typename T>
void binary(BinaryOp op, const T* a, const T* b, T* out, const BinaryPlan& p) {
  switch (op) { TAPEGRAD_BINARY_KERNELS(TAPEGRAD_BINARY_CASE) }
}
#undef TAPEGRAD_BINARY_CASE

template <typename T, typename F>
void unary_loop(const T* x, T* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = F::f(x[i]);
}

#define TAPEGRAD_UNARY_CASE(op, functor) \
  case UnaryOp::op: return unary_loop<T, functor<T>>(x, out, n);

// Ops with a vector-math body run it where this instruction set has one (kHasVecMath).
template <typename T>
void unary(UnaryOp op, const T* x, T* out, int64_t n) {
  if constexpr (kHasVecMath) {
    if (vec_math_unary(op, x, out, n)) return;
  }
  switch (op) { TAPEGRAD_UNARY_KERNELS(TAPEGRAD_UNARY_CASE) }
}
#undef TAPEGRAD_UNARY_CASE

template <typename T>
void axpy(int64_t n, T alpha, const T* x, T* y) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

template <typename T>
void fill(int64_t n, T value, T* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = value;
}

template <typename T>
void scale(int64_t n, T alpha, const T* x, T* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = alpha * x[i];
}

// Square's backward in one pass over x, g and out. (g x) 2 has the bits of the recordable
// formula, multiply(g, multiply(x, 2)): doubling is exact, so both are 2 * round(g x).
template <typename T>
void square_grad(const T* x, const T* g, T* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = (g[i] * x[i]) * T(2);
}

template <typename T>
void gather(const T* in, T* out, const GatherPlan& p) {
  if (p.rank == 0) {
    out[0] = in[0];
    return;
  }
  const int last = p.rank - 1;
  const int64_t n = p.shape[last];
  const int64_t s = p.in_stride[last];
  int64_t outer = 1;
  for (int d = 0; d < last; ++d) outer *= p.shape[d];
  int64_t idx[kMaxRank] = {};
  int64_t off = 0;
  for (int64_t o = 0; o < outer; ++o) {
    T* dst = out + o * n;
    const T* src = in + off;
    if (s == 1) {
      for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
    } else if (s == 0) {
      for (int64_t i = 0; i < n; ++i) dst[i] = src[0];
    } else {
      for (int64_t i = 0; i < n; ++i) dst[i] = src[i * s];
    }
    for (int d = last - 1; d >= 0; --d) {
      off += p.in_stride[d];
      if (++idx[d] < p.shape[d]) break;
      off -= p.in_stride[d] * p.shape[d];
      idx[d] = 0;
    }
  }
}

void cast_f32_to_f64(const float* in, double* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<double>(in[i]);
}
void cast_f64_to_f32(const double* in, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(in[i]);
}

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

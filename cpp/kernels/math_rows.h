// Row-level vector math for other kernels: y[i] = f(x[i]) over a contiguous row of n elements on
// the active instruction set, with the bits of the elementwise op of the same name (float32 and
// float64; simd/vec_math.h for the methods and which dtypes have a vector body). y may be x.
#pragma once
#include <cstdint>

#include "kernels/kernels.h"

namespace tapegrad::kernels {

template <typename T>
void exp_rows(const T* x, T* y, int64_t n) { active().get<T>().unary(UnaryOp::Exp, x, y, n); }
template <typename T>
void log_rows(const T* x, T* y, int64_t n) { active().get<T>().unary(UnaryOp::Log, x, y, n); }
template <typename T>
void expm1_rows(const T* x, T* y, int64_t n) { active().get<T>().unary(UnaryOp::Expm1, x, y, n); }
template <typename T>
void log1p_rows(const T* x, T* y, int64_t n) { active().get<T>().unary(UnaryOp::Log1p, x, y, n); }
template <typename T>
void tanh_rows(const T* x, T* y, int64_t n) { active().get<T>().unary(UnaryOp::Tanh, x, y, n); }
template <typename T>
void sigmoid_rows(const T* x, T* y, int64_t n) { active().get<T>().unary(UnaryOp::Sigmoid, x, y, n); }

}  // namespace tapegrad::kernels

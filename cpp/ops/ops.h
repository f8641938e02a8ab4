// The op API of the engine for C++ callers: each call computes its result with the active kernel
// table and records itself on the tapes that watch an input. Backward rules call these same
// functions, so a tape recording during another tape's backward pass sees them (higher-order
// gradients). Python reaches the same ops through their registry entries (ops/op_def.h).
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace tapegrad::ops {

TensorPtr add(const TensorPtr& a, const TensorPtr& b);
TensorPtr subtract(const TensorPtr& a, const TensorPtr& b);
TensorPtr multiply(const TensorPtr& a, const TensorPtr& b);
TensorPtr divide(const TensorPtr& a, const TensorPtr& b);
TensorPtr maximum(const TensorPtr& a, const TensorPtr& b);
TensorPtr minimum(const TensorPtr& a, const TensorPtr& b);
// floor(x / y); integers: ValueError for a zero divisor. Never recorded (a None gradient).
TensorPtr floordiv(const TensorPtr& a, const TensorPtr& b);
// The remainder of floordiv, with y's sign; integers: ValueError for a zero divisor.
TensorPtr mod(const TensorPtr& a, const TensorPtr& b);
// x * y and x / y, but 0 wherever y is 0 (float tensors; TensorFlow's MulNoNan and DivNoNan).
TensorPtr multiply_no_nan(const TensorPtr& a, const TensorPtr& b);
TensorPtr divide_no_nan(const TensorPtr& a, const TensorPtr& b);
// x ** y, broadcasting (integers: ValueError for a negative exponent).
TensorPtr pow(const TensorPtr& x, const TensorPtr& y);
// Bool results, never recorded (the masks of maximum's and minimum's rules).
TensorPtr greater_equal(const TensorPtr& a, const TensorPtr& b);
TensorPtr less_equal(const TensorPtr& a, const TensorPtr& b);
TensorPtr equal(const TensorPtr& a, const TensorPtr& b);
TensorPtr negative(const TensorPtr& x);
TensorPtr square(const TensorPtr& x);
// Elementwise math the backward rules use (each is also a registry op of the same name).
TensorPtr sign(const TensorPtr& x);
TensorPtr sin(const TensorPtr& x);
TensorPtr cos(const TensorPtr& x);
TensorPtr sigmoid(const TensorPtr& x);
TensorPtr exp(const TensorPtr& x);
TensorPtr tanh(const TensorPtr& x);
TensorPtr erf(const TensorPtr& x);
TensorPtr log(const TensorPtr& x);
// 1 where x > 0, else 0; never recorded (the derivative of relu).
TensorPtr step(const TensorPtr& x);
// op(a) @ op(b) over the last two axes; leading (batch) axes broadcast. Both ranks >= 2.
TensorPtr matmul(const TensorPtr& a, const TensorPtr& b, bool trans_a, bool trans_b);
// axes == nullptr reduces every axis; axes may be negative and are checked here.
TensorPtr reduce_sum(const TensorPtr& x, const std::vector<int64_t>* axes, bool keepdims);
TensorPtr reduce_mean(const TensorPtr& x, const std::vector<int64_t>* axes, bool keepdims);
TensorPtr reduce_prod(const TensorPtr& x, const std::vector<int64_t>* axes, bool keepdims);
// Cumulative sum and product along `axis` (negative allowed; checked here).
TensorPtr cumsum(const TensorPtr& x, int64_t axis, bool exclusive, bool reverse);
TensorPtr cumprod(const TensorPtr& x, int64_t axis, bool exclusive, bool reverse);
// One -1 allowed in `shape`.
TensorPtr reshape(const TensorPtr& x, const std::vector<int64_t>& shape);
// perm == nullptr reverses the axes.
TensorPtr transpose(const TensorPtr& x, const std::vector<int64_t>* perm);
TensorPtr cast(const TensorPtr& x, DType dtype);
TensorPtr broadcast_to(const TensorPtr& x, const Shape& shape);
// x where cond holds, y elsewhere; the three broadcast. cond is bool.
TensorPtr where(const TensorPtr& cond, const TensorPtr& x, const TensorPtr& y);
// The n values joined along `axis` (normalised, in range).
TensorPtr concat(const TensorPtr* values, int n, int axis);

// Sums `g` over the axes that broadcasting added or stretched, giving `shape` (after g's leading
// batch axes, see BatchedGradients). The one helper every broadcasting backward rule uses.
TensorPtr unbroadcast(const TensorPtr& g, const Shape& shape);

// While one is alive on this thread, the gradients that reach backward rules carry one leading
// batch axis: a stack of cotangents pushed through the tape at once (jacobians). Rules that shape
// a gradient by an input's shape put it behind g's batch axes with batched().
class BatchedGradients {
 public:
  BatchedGradients();
  ~BatchedGradients();
  BatchedGradients(const BatchedGradients&) = delete;
  BatchedGradients& operator=(const BatchedGradients&) = delete;

 private:
  int saved_;
};
// The leading batch axes of the gradients in flight on this thread: 0, or 1 under
// BatchedGradients.
int gradient_batch_axes();
// `shape` behind the leading batch axes of `g`.
std::vector<int64_t> batched(const TensorPtr& g, const Shape& shape);
// 2 x g, for square's backward when no tape records it: one pass instead of a product and a
// scaling (not recorded itself). x and g have the same shape and dtype.
TensorPtr square_grad(const TensorPtr& x, const TensorPtr& g);
// A rank-0 tensor holding `value`.
TensorPtr scalar(DType dtype, double value);

// numpy's broadcasting of two shapes; ValueError naming `op` when they are incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace tapegrad::ops

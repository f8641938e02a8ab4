// The engine side of slicing, gathering and padding, for the indexing and layout op families
// and their backward rules.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "core/tensor.h"

namespace tapegrad::ops {

// One strided window per axis: the elements begin, begin + step, ... (count of them). Every
// element a window names lies inside the tensor it was checked against (slice_axes).
struct SliceAxes {
  int rank = 0;
  int64_t begin[kMaxRank] = {}, count[kMaxRank] = {}, step[kMaxRank] = {};

  Shape counts() const;
  // (begin, count, step) per axis: what a tape entry keeps.
  std::shared_ptr<const std::vector<int64_t>> encode() const;
  static SliceAxes decode(const std::vector<int64_t>& triples);
};

// Reads `rank` (begin, count, step) triples and checks them against `in`: ValueError naming `op`
// for a window that leaves the tensor, a negative count or a zero step.
SliceAxes slice_axes(const int64_t* triples, int rank, const Shape& in, const char* op);

// The windows of `s` taken from x, as a tensor of shape `out` (whose element count is the
// windows' product; `out` drops or adds size-1 axes as indexing does). Recorded; its gradient is
// strided_slice_grad.
TensorPtr strided_slice(const TensorPtr& x, const SliceAxes& s, const Shape& out);
// Zeros of `in_shape` with g's elements (in the windows' order) written at the windows of `s`:
// the gradient of strided_slice, and linear, so its own gradient is strided_slice again.
TensorPtr strided_slice_grad(const TensorPtr& g, const Shape& in_shape, const SliceAxes& s);

// params[..., indices, ...] along `axis` (of params), the first `batch_dims` axes of indices
// matching params' axes from `lead` on; params' first `lead` axes (the batch axes of gradients
// in flight) index nothing. Indices outside [0, params.shape[axis]) are an IndexError.
TensorPtr gather(const TensorPtr& params, const TensorPtr& indices, int axis, int batch_dims,
                 int lead);
// Zeros of `params_shape` into which g's rows are added where gather took them (repeated
// indices accumulate): gather's gradient. Linear, so its own gradient is gather again.
TensorPtr gather_grad(const TensorPtr& g, const TensorPtr& indices, const Shape& params_shape,
                      int axis, int batch_dims, int lead);

// `s` with the leading batch axes of the gradients in flight (ops::gradient_batch_axes) put in
// front as whole windows, their sizes read from g.
SliceAxes batched_axes(const SliceAxes& s, const TensorPtr& g);
// `shape` behind g's batch axes, as a Shape.
Shape batched_shape(const TensorPtr& g, const Shape& shape);

}  // namespace tapegrad::ops

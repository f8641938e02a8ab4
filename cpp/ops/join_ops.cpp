// Joining tensors along an axis: concat and stack (variadic: one sequence of tensors).
#include <string>

#include "kernels/select.h"
#include "ops/indexing.h"
#include "ops/ops.h"
#include "ops/op_util.h"

namespace tapegrad::ops {
namespace {

void check_dtype_of_value(const TensorPtr* in, int k, const char* op) {
  if (in[k]->dtype() != in[0]->dtype())
    throw TypeError(std::string(op) + ": values[" + std::to_string(k) + "] has dtype " +
                    dtype_name(in[k]->dtype()) + ", values[0] " + dtype_name(in[0]->dtype()) +
                    "; every value must have one dtype (convert with tapegrad.cast)");
}

// The normalised axis of an AttrKind::Axis argument for tensors of `rank`; ValueError naming
// `op` when it is out of range.
int normalise_axis(const OpArguments& args, int rank, const char* op) {
  const int64_t axis = args.ints.empty() ? 0 : args.ints[0];
  if (axis < -rank || axis >= rank)
    throw ValueError(std::string(op) + ": axis " + std::to_string(axis) + " is out of range for " +
                     "tensors of rank " + std::to_string(rank) + " (expected -" +
                     std::to_string(rank) + " <= axis < " + std::to_string(rank) + ")");
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

TensorPtr concat_forward(const OpDef& op, const TensorPtr* in, const OpArguments& args) {
  const int n = args.n_inputs;
  const Shape& first = in[0]->shape();
  if (first.rank == 0)
    throw ValueError(std::string(op.name) + ": expected tensors of rank >= 1, got a scalar");
  const int axis = normalise_axis(args, first.rank, op.name);
  Shape shape = first;
  shape.dims[axis] = 0;
  for (int k = 0; k < n; ++k) {
    const Shape& s = in[k]->shape();
    check_dtype_of_value(in, k, op.name);
    bool fits = s.rank == first.rank;
    for (int d = 0; fits && d < s.rank; ++d) fits = d == axis || s.dims[d] == first.dims[d];
    if (!fits)
      throw ValueError(std::string(op.name) + ": values[" + std::to_string(k) + "] has shape " +
                       s.str() + ", which does not match values[0]'s " + first.str() +
                       " outside axis " + std::to_string(axis));
    shape.dims[axis] += s.dims[axis];
  }
  TensorPtr out = TensorImpl::empty(in[0]->dtype(), shape, op.name);
  if (out->numel() > 0) {
    const int64_t elem = static_cast<int64_t>(dtype_size(out->dtype()));
    int64_t outer = 1, inner = elem;
    for (int d = 0; d < axis; ++d) outer *= shape.dims[d];
    for (int d = axis + 1; d < shape.rank; ++d) inner *= shape.dims[d];
    char* dst = static_cast<char*>(out->raw());
    for (int k = 0; k < n; ++k) {
      const int64_t block = in[k]->shape().dims[axis] * inner;
      kernels::copy_blocks(in[k]->raw(), dst, outer, block, shape.dims[axis] * inner);
      dst += block;
    }
  }
  OpAttrs attrs;
  attrs.axes_mask = 1u << axis;
  return recorded(op, in, n, out, attrs);
}

int recorded_axis(const TapeEntry& e) {
  int axis = 0;
  while (!(e.attrs.axes_mask >> axis & 1u)) ++axis;
  return axis;
}

// Each input's gradient is its own stretch of g along the axis: a strided slice, whose gradient
// writes it back into zeros, so every order of derivative is available.
void concat_rule(const TapeEntry& e, const TensorPtr& g, const bool* need, TensorPtr* out) {
  const int axis = recorded_axis(e) + gradient_batch_axes();
  SliceAxes window;
  window.rank = g->rank();
  for (int d = 0; d < window.rank; ++d) {
    window.begin[d] = 0;
    window.count[d] = g->shape().dims[d];
    window.step[d] = 1;
  }
  for (int k = 0; k < e.n_inputs; ++k) {
    window.count[axis] = e.in_shape[k].dims[axis - gradient_batch_axes()];
    if (need[k]) out[k] = strided_slice(g, window, window.counts());
    window.begin[axis] += window.count[axis];
  }
}

// stack: each value gains a dimension of 1 at `axis`, then the values are concatenated there.
TensorPtr stack_forward(const OpDef& op, const TensorPtr* in, const OpArguments& args) {
  const int n = args.n_inputs;
  const Shape& first = in[0]->shape();
  if (first.rank >= kMaxRank)
    throw ValueError(std::string(op.name) + ": values of rank " + std::to_string(first.rank) +
                     " stack to rank " + std::to_string(first.rank + 1) + "; the maximum is " +
                     std::to_string(kMaxRank));
  const int axis = normalise_axis(args, first.rank + 1, op.name);
  std::vector<TensorPtr> expanded(n);
  for (int k = 0; k < n; ++k) {
    if (!(in[k]->shape() == first))
      throw ValueError(std::string(op.name) + ": values[" + std::to_string(k) + "] has shape " +
                       in[k]->shape().str() + "; expected values[0]'s " + first.str());
    check_dtype_of_value(in, k, op.name);
    std::vector<int64_t> dims(first.dims, first.dims + first.rank);
    dims.insert(dims.begin() + axis, 1);
    expanded[k] = reshape(in[k], dims);
  }
  return concat(expanded.data(), n, axis);
}

constexpr OpDef kConcat{"concat",
                        "The values joined along an existing axis; their other dims must match.",
                        {"values"}, {{"axis", AttrKind::RequiredAxis}}, Saves::Nothing,
                        concat_rule, concat_forward, 0, true, false, true};
constexpr OpDef kStack{"stack", "The values, all of one shape, joined along a new axis.",
                       {"values"}, {{"axis", AttrKind::Axis, 0}}, Saves::Nothing, nullptr,
                       stack_forward, 0, true, false, true};
constexpr const OpDef* kList[] = {&kConcat, &kStack};

}  // namespace

const OpList kJoinOps = {kList, sizeof(kList) / sizeof(kList[0])};

TensorPtr concat(const TensorPtr* values, int n, int axis) {
  OpArguments args;
  args.n_inputs = n;
  args.has_ints = true;
  args.ints = {axis};
  return call_op(kConcat, values, args);
}

}  // namespace tapegrad::ops

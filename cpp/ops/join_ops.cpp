// Joining tensors along an axis: concat and stack (variadic: one sequence of tensors), and the
// internal concat_piece that cuts one input's share back out of concat's gradient.
#include <string>

#include "kernels/select.h"
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

// Each input's gradient is its own stretch of g along the axis.
void concat_rule(const TapeEntry& e, const TensorPtr& g, const bool* need, TensorPtr* out) {
  const int axis = recorded_axis(e);
  int64_t begin = 0;
  for (int k = 0; k < e.n_inputs; ++k) {
    const int64_t size = e.in_shape[k].dims[axis];
    if (need[k]) out[k] = concat_piece(g, axis + gradient_batch_axes(), begin, size);
    begin += size;
  }
}

TensorPtr concat_piece_forward(const OpDef& op, const TensorPtr* in, const OpArguments& args) {
  const TensorPtr& x = in[0];
  const int axis = static_cast<int>(args.ints[0]);
  const int64_t begin = args.ints[1], size = args.ints[2];
  Shape shape = x->shape();
  shape.dims[axis] = size;
  TensorPtr out = TensorImpl::empty(x->dtype(), shape, op.name);
  if (out->numel() > 0) {
    const int64_t elem = static_cast<int64_t>(dtype_size(x->dtype()));
    int64_t outer = 1, inner = elem;
    for (int d = 0; d < axis; ++d) outer *= shape.dims[d];
    for (int d = axis + 1; d < shape.rank; ++d) inner *= shape.dims[d];
    kernels::gather_blocks(static_cast<const char*>(x->raw()) + begin * inner, out->raw(), outer,
                           size * inner, x->shape().dims[axis] * inner);
  }
  OpAttrs attrs;
  attrs.axes_mask = 1u << axis;
  attrs.offset = begin;
  return recorded(op, {&x}, out, attrs);
}

// The piece's gradient is g between zeros that fill the rest of the axis: a concat.
void concat_piece_rule(const TapeEntry& e, const TensorPtr& g, const bool* need, TensorPtr* out) {
  if (!need[0]) return;
  const int batch = gradient_batch_axes();
  const int axis = recorded_axis(e);
  const Shape& full = e.in_shape[0];
  const int64_t size = g->shape().dims[axis + batch];
  auto zeros = [&](int64_t length) {
    Shape s = full;
    s.dims[axis] = length;
    Shape with_batch;
    for (int64_t d : batched(g, s)) with_batch.push_back(d);
    return TensorImpl::full(g->dtype(), with_batch, 0.0, "concat_piece");
  };
  const TensorPtr parts[3] = {zeros(e.attrs.offset), g,
                              zeros(full.dims[axis] - e.attrs.offset - size)};
  out[0] = concat(parts, 3, axis + batch);
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
constexpr OpDef kConcatPiece{"concat_piece", "x[..., begin:begin + size, ...] along one axis.",
                             {"x"}, {}, Saves::Nothing, concat_piece_rule, concat_piece_forward,
                             0, true, true};

constexpr const OpDef* kList[] = {&kConcat, &kStack, &kConcatPiece};

}  // namespace

const OpList kJoinOps = {kList, sizeof(kList) / sizeof(kList[0])};

TensorPtr concat(const TensorPtr* values, int n, int axis) {
  OpArguments args;
  args.n_inputs = n;
  args.has_ints = true;
  args.ints = {axis};
  return concat_forward(kConcat, values, args);
}

TensorPtr concat_piece(const TensorPtr& x, int axis, int64_t begin, int64_t size) {
  OpArguments args;
  args.ints = {axis, begin, size};
  return concat_piece_forward(kConcatPiece, &x, args);
}

}  // namespace tapegrad::ops

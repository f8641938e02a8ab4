// where(condition, x, y): elementwise choice between two tensors, all three broadcasting.
#include "kernels/select.h"
#include "ops/ops.h"
#include "ops/op_util.h"

namespace tapegrad::ops {
namespace {

TensorPtr where_forward(const OpDef& op, const TensorPtr* in, const OpArguments&) {
  const TensorPtr& cond = in[0];
  const TensorPtr& x = in[1];
  const TensorPtr& y = in[2];
  if (cond->dtype() != DType::Bool)
    throw TypeError(std::string(op.name) + ": condition must be a bool tensor, got " +
                    dtype_name(cond->dtype()) + "; compare, or convert with tapegrad.cast");
  check_same_dtype(x, y, op.name);
  Shape shape = x->shape() == y->shape() ? x->shape() : broadcast_shapes(x->shape(), y->shape(), op.name);
  if (!(cond->shape() == shape)) shape = broadcast_shapes(cond->shape(), shape, op.name);
  TensorPtr out = TensorImpl::empty(x->dtype(), shape, op.name);
  if (out->numel() > 0) {
    int64_t cs[kMaxRank], xs[kMaxRank], ys[kMaxRank];
    broadcast_strides(cond->shape(), shape, cs);
    broadcast_strides(x->shape(), shape, xs);
    broadcast_strides(y->shape(), shape, ys);
    kernels::select(dtype_size(x->dtype()), cond->data<bool>(), x->raw(), y->raw(), out->raw(),
                    shape, cs, xs, ys);
  }
  return recorded(op, {&cond, &x, &y}, out);
}

// The gradient goes to the side each element was taken from: g where the condition holds for x,
// where it fails for y (zeros elsewhere), each summed back to its input's shape.
void where_rule(const TapeEntry& e, const TensorPtr& g, const bool* need, TensorPtr* out) {
  const TensorPtr& cond = e.saved[0];
  const TensorPtr zero = scalar(g->dtype(), 0.0);
  if (need[1]) out[1] = unbroadcast(where(cond, g, zero), e.in_shape[1]);
  if (need[2]) out[2] = unbroadcast(where(cond, zero, g), e.in_shape[2]);
}

constexpr OpDef kWhere{"where",
                       "Elements of x where condition is true, of y elsewhere; the three broadcast.",
                       {"condition", "x", "y"}, {}, Saves::Inputs, where_rule, where_forward, 0,
                       true};

constexpr const OpDef* kList[] = {&kWhere};

}  // namespace

const OpList kSelectionOps = {kList, sizeof(kList) / sizeof(kList[0])};

TensorPtr where(const TensorPtr& cond, const TensorPtr& x, const TensorPtr& y) {
  const TensorPtr in[3] = {cond, x, y};
  return call_op(kWhere, in, no_arguments());
}

}  // namespace tapegrad::ops

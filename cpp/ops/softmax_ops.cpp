// softmax and log_softmax along one axis: a fused, stable kernel forward; rules written with ops.
#include "kernels/softmax.h"
#include "ops/ops.h"
#include "ops/op_util.h"

namespace tapegrad::ops {
namespace {

TensorPtr softmax_forward(const OpDef& op, const TensorPtr* in, const OpArguments& args) {
  const TensorPtr& x = in[0];
  check_dtype(x, Accepts::Floats, op.name);
  const AxisSplit s = split_at_axis(args, x->shape(), op.name);
  TensorPtr out = TensorImpl::empty(x->dtype(), x->shape(), op.name);
  if (out->numel() > 0)
    kernels::softmax(op.kernel == 1, x->dtype(), x->raw(), out->raw(), s.outer, s.n, s.inner);
  OpAttrs attrs;
  attrs.axes_mask = 1u << s.axis;
  return recorded(op, {&x}, out, attrs);
}

using E = TapeEntry;
using G = TensorPtr;

// The op's axis in g, which may carry leading batch axes (jacobians).
std::vector<int64_t> grad_axis(const E& e) {
  int axis = 0;
  while (!(e.attrs.axes_mask >> axis & 1u)) ++axis;
  return {axis + gradient_batch_axes()};
}

// d softmax = y (g - sum(g y))
void softmax_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[0]) return;
  const G& y = e.saved_output;
  const std::vector<int64_t> axis = grad_axis(e);
  out[0] = multiply(y, subtract(g, reduce_sum(multiply(g, y), &axis, true)));
}

// d log_softmax = g - e^y sum(g)
void log_softmax_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[0]) return;
  const std::vector<int64_t> axis = grad_axis(e);
  out[0] = subtract(g, multiply(exp(e.saved_output), reduce_sum(g, &axis, true)));
}

constexpr OpDef kSoftmax{"softmax", "e ** x / sum(e ** x) along axis (default the last), stably.",
                         {"logits", nullptr}, {{"axis", AttrKind::Axis, -1}}, Saves::Output,
                         softmax_rule, softmax_forward, 0};
constexpr OpDef kLogSoftmax{"log_softmax", "x - log(sum(e ** x)) along axis (default the last), stably.",
                            {"logits", nullptr}, {{"axis", AttrKind::Axis, -1}}, Saves::Output,
                            log_softmax_rule, softmax_forward, 1};

constexpr const OpDef* kList[] = {&kSoftmax, &kLogSoftmax};

}  // namespace

const OpList kSoftmaxOps = {kList, sizeof(kList) / sizeof(kList[0])};

}  // namespace tapegrad::ops

// The losses of tf.nn: sparse and dense softmax cross-entropy, sigmoid cross-entropy and l2_loss.
// Forwards are fused kernels (kernels/cross_entropy.h, kernels/sum_of_squares.h); rules are
// written with ops. The softmax rules' factors (softmax minus the one-hot labels; softmax times
// the label mass minus the labels; -log_softmax) are internal recorded ops with rules of their
// own, so a recording tape differentiates through them, and without one the first derivative is
// a single fused pass per row with the same bits.
#include <string>

#include "kernels/cross_entropy.h"
#include "kernels/sum_of_squares.h"
#include "ops/ops.h"
#include "ops/op_util.h"

namespace tapegrad::ops {
namespace {

using E = TapeEntry;
using G = TensorPtr;

void check_logits(const TensorPtr& logits, const char* op) {
  if (!is_floating(logits->dtype()))
    throw TypeError(std::string(op) + ": logits must be float32 or float64, got " +
                    dtype_name(logits->dtype()) + "; convert with tapegrad.cast");
}

// The one axis an op along an axis recorded (in OpAttrs::axes_mask).
int the_axis(const E& e) {
  int axis = 0;
  while (!(e.attrs.axes_mask >> axis & 1u)) ++axis;
  return axis;
}

// The arguments of a call along one axis.
OpArguments axis_argument(int axis) {
  OpArguments args;
  args.has_ints = true;
  args.ints = {axis};
  return args;
}

// A softmax op along `axis` of x (the registry's softmax or log_softmax), recorded as usual.
TensorPtr softmax_op(const char* name, const TensorPtr& x, int64_t axis) {
  const OpDef* op = find_op(name);
  return call_op(*op, &x, axis_argument(static_cast<int>(axis)));
}

// ---- sparse_softmax_cross_entropy_with_logits ------------------------------------------------

// "3" for a rank-1 index, "(1, 2)" otherwise: the position of flat index `flat` in `shape`.
std::string position(int64_t flat, const Shape& shape) {
  if (shape.rank == 1) return std::to_string(flat);
  std::string digits;
  for (int d = shape.rank - 1; d >= 0; --d) {
    const int64_t i = flat % shape.dims[d];
    flat /= shape.dims[d];
    digits = std::to_string(i) + (d + 1 < shape.rank ? ", " : "") + digits;
  }
  return "(" + digits + ")";
}

template <typename L>
void check_label_range(const L* labels, const Shape& shape, int64_t classes, const char* op) {
  const int64_t n = shape.numel();
  for (int64_t r = 0; r < n; ++r) {
    const int64_t label = static_cast<int64_t>(labels[r]);
    if (label < 0 || label >= classes)
      throw ValueError(std::string(op) + ": label " + std::to_string(label) + " at position " +
                       position(r, shape) + " is outside [0, " + std::to_string(classes) + ")");
  }
}

// Checks the pair and returns the number of classes.
int64_t check_sparse(const TensorPtr& labels, const TensorPtr& logits, const char* op) {
  check_logits(logits, op);
  if (labels->dtype() != DType::I32 && labels->dtype() != DType::I64)
    throw TypeError(std::string(op) + ": labels must be int32 or int64 class indices, got " +
                    dtype_name(labels->dtype()) + "; convert with tapegrad.cast");
  const Shape& s = logits->shape();
  if (s.rank == 0)
    throw ValueError(std::string(op) +
                     ": logits must have rank >= 1 (the last axis holds the classes), got a "
                     "scalar");
  Shape rows;
  for (int d = 0; d + 1 < s.rank; ++d) rows.push_back(s.dims[d]);
  if (!(labels->shape() == rows))
    throw ValueError(std::string(op) + ": labels of shape " + labels->shape().str() +
                     " do not match logits of shape " + s.str() +
                     "; labels must have the logits' shape without its last axis, " + rows.str());
  const int64_t classes = s.dims[s.rank - 1];
  if (labels->dtype() == DType::I32)
    check_label_range(labels->data<int32_t>(), labels->shape(), classes, op);
  else
    check_label_range(labels->data<int64_t>(), labels->shape(), classes, op);
  return classes;
}

TensorPtr sparse_forward(const OpDef& op, const TensorPtr* in, const OpArguments&) {
  const TensorPtr& labels = in[0];
  const TensorPtr& logits = in[1];
  const int64_t classes = check_sparse(labels, logits, op.name);
  TensorPtr loss = TensorImpl::empty(logits->dtype(), labels->shape(), op.name);
  // While a tape records, the forward also keeps the probabilities, which its first derivative
  // then reads in one pass instead of recomputing each row's maximum and exponentials.
  TensorPtr probs;
  if (tape_stack::any_recording() && logits->numel() > 0)
    probs = TensorImpl::empty(logits->dtype(), logits->shape(), op.name);
  LongRunning unlocked(static_cast<double>(logits->numel()) >= kLongRunningWork);
  if (loss->numel() > 0)
    kernels::sparse_softmax_cross_entropy(logits->dtype(), logits->raw(), labels->dtype(),
                                          labels->raw(), loss->raw(),
                                          probs ? probs->raw() : nullptr, loss->numel(), classes);
  return recorded(op, {&labels, &logits}, loss, OpAttrs{}, probs);
}

// softmax(logits) - one_hot(labels) along the last axis, times g per row when g is not null.
TensorPtr sparse_grad(const TensorPtr& labels, const TensorPtr& logits, const TensorPtr* g,
                      const char* name) {
  TensorPtr out = TensorImpl::empty(logits->dtype(), logits->shape(), name);
  const int64_t rows = labels->numel();
  LongRunning unlocked(static_cast<double>(logits->numel()) >= kLongRunningWork);
  if (out->numel() > 0)
    kernels::sparse_softmax_cross_entropy_grad(logits->dtype(), logits->raw(), labels->dtype(),
                                               labels->raw(), g ? (*g)->raw() : nullptr,
                                               out->raw(), rows, out->numel() / rows);
  return out;
}

TensorPtr sparse_grad_forward(const OpDef& op, const TensorPtr* in, const OpArguments&) {
  check_sparse(in[0], in[1], op.name);
  return recorded(op, {&in[0], &in[1]}, sparse_grad(in[0], in[1], nullptr, op.name));
}

// d(softmax(x) - one_hot) = softmax's rule: s (g - sum(g s)) along the class axis (the last).
void sparse_grad_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[1]) return;
  const std::vector<int64_t> last = {-1};
  const G s = softmax_op("softmax", e.saved[1], -1);
  out[1] = multiply(s, subtract(g, reduce_sum(multiply(g, s), &last, true)));
}

// Labels are constants of the op; only the logits take a gradient. Not bound (internal).
constexpr OpDef kSparseGrad{"sparse_softmax_cross_entropy_with_logits_grad",
                            "softmax(logits) - one_hot(labels) along the last axis.",
                            {"labels", "logits"}, {}, Saves::Inputs, sparse_grad_rule,
                            sparse_grad_forward, 0, false, true};

// d loss / d logits = (softmax(logits) - one_hot(labels)) g, g broadcast along the classes.
// Without a recording tape one fused pass computes it, with the bits of the two ops.
void sparse_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[1]) return;
  const G& labels = e.saved[0];
  const G& logits = e.saved[1];
  if (fused_ok() && gradient_batch_axes() == 0) {
    count_shortcut(Shortcut::SparseSoftmaxXent);
    if (e.saved_aux) {
      out[1] = TensorImpl::empty(logits->dtype(), logits->shape(), "gradient");
      const int64_t rows = labels->numel();
      LongRunning unlocked(static_cast<double>(logits->numel()) >= kLongRunningWork);
      kernels::sparse_softmax_cross_entropy_grad_from_probs(
          logits->dtype(), e.saved_aux->raw(), labels->dtype(), labels->raw(), g->raw(),
          out[1]->raw(), rows, logits->numel() / rows);
    } else {
      out[1] = sparse_grad(labels, logits, &g, "gradient");
    }
    return;
  }
  Shape column = e.in_shape[0];
  column.push_back(1);
  const TensorPtr in[2] = {labels, logits};
  const G p = call_op(kSparseGrad, in, no_arguments());
  out[1] = multiply(p, reshape(g, batched(g, column)));
}

constexpr OpDef kSparse{
    "sparse_softmax_cross_entropy_with_logits",
    "Softmax cross-entropy between logits [..., classes] and integer class labels [...]: "
    "log(sum(exp(logits))) - logits[label] per row, computed stably. Labels must lie in "
    "[0, classes); the gradient flows to the logits only.",
    {"labels", "logits"}, {}, Saves::Inputs, sparse_rule, sparse_forward, 0,
    /*takes_integers=*/false, /*internal=*/false, /*variadic=*/false,
    /*private_binding=*/false, /*inputs_converted_apart=*/true};

// ---- softmax_cross_entropy_with_logits ------------------------------------------------------

void check_pair(const TensorPtr& labels, const TensorPtr& logits, const char* op) {
  check_logits(logits, op);
  if (labels->dtype() != logits->dtype())
    throw TypeError(std::string(op) + ": labels and logits must have the same dtype, got " +
                    dtype_name(labels->dtype()) + " labels and " + dtype_name(logits->dtype()) +
                    " logits; convert with tapegrad.cast");
  if (!(labels->shape() == logits->shape()))
    throw ValueError(std::string(op) + ": labels of shape " + labels->shape().str() +
                     " and logits of shape " + logits->shape().str() +
                     " must have the same shape");
}

TensorPtr dense_forward(const OpDef& op, const TensorPtr* in, const OpArguments& args) {
  const TensorPtr& labels = in[0];
  const TensorPtr& logits = in[1];
  check_pair(labels, logits, op.name);
  const AxisSplit s = split_at_axis(args, logits->shape(), op.name);
  Shape out_shape;
  for (int d = 0; d < logits->rank(); ++d)
    if (d != s.axis) out_shape.push_back(logits->shape().dims[d]);
  TensorPtr loss = TensorImpl::empty(logits->dtype(), out_shape, op.name);
  LongRunning unlocked(static_cast<double>(logits->numel()) >= kLongRunningWork);
  if (loss->numel() > 0)
    kernels::softmax_cross_entropy(logits->dtype(), labels->raw(), logits->raw(), loss->raw(),
                                   s.outer, s.n, s.inner);
  OpAttrs attrs;
  attrs.axes_mask = 1u << s.axis;
  return recorded(op, {&labels, &logits}, loss, attrs);
}

// The factors of the dense rule, each an internal recorded op so that a tape recording the
// backward pass differentiates through them:
//   softmax_cross_entropy_with_logits_grad(z, x) = softmax(x) sum(z) - z   (d loss / d x)
//   softmax_cross_entropy_with_logits_labels_grad(x) = lse(x) - x         (d loss / d z)
TensorPtr dense_grad_forward(const OpDef& op, const TensorPtr* in, const OpArguments& args) {
  const bool for_logits = op.arity() == 2;
  const TensorPtr& logits = in[for_logits ? 1 : 0];
  const AxisSplit s = split_at_axis(args, logits->shape(), op.name);
  TensorPtr out = TensorImpl::empty(logits->dtype(), logits->shape(), op.name);
  LongRunning unlocked(static_cast<double>(logits->numel()) >= kLongRunningWork);
  if (out->numel() > 0)
    kernels::softmax_cross_entropy_grad(logits->dtype(), for_logits ? in[0]->raw() : nullptr,
                                        logits->raw(), nullptr, for_logits ? out->raw() : nullptr,
                                        for_logits ? nullptr : out->raw(), s.outer, s.n, s.inner);
  OpAttrs attrs;
  attrs.axes_mask = 1u << s.axis;
  if (for_logits) return recorded(op, {&in[0], &in[1]}, out, attrs);
  return recorded(op, {&in[0]}, out, attrs);
}

// With s = softmax(x), for P = s sum(z) - z:
// d/dx = sum(z) s (g - sum(g s)), d/dz_k = sum(g s) - g_k.
void dense_grad_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  const int axis = the_axis(e);
  const std::vector<int64_t> axes = {axis};
  const std::vector<int64_t> g_axes = {axis + gradient_batch_axes()};
  const G s = softmax_op("softmax", e.saved[1], axis);
  const G gs = reduce_sum(multiply(g, s), &g_axes, true);
  if (need[1]) out[1] = multiply(reduce_sum(e.saved[0], &axes, true), multiply(s, subtract(g, gs)));
  if (need[0]) out[0] = subtract(gs, g);
}

// For Q = lse(x) - x: d/dx = softmax(x) sum(g) - g.
void dense_labels_grad_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[0]) return;
  const int axis = the_axis(e);
  const std::vector<int64_t> g_axes = {axis + gradient_batch_axes()};
  out[0] = subtract(multiply(softmax_op("softmax", e.saved[0], axis), reduce_sum(g, &g_axes, true)), g);
}

constexpr OpDef kDenseGrad{"softmax_cross_entropy_with_logits_grad",
                           "softmax(logits) * sum(labels) - labels along axis.",
                           {"labels", "logits"}, {{"axis", AttrKind::Axis, -1}}, Saves::Inputs,
                           dense_grad_rule, dense_grad_forward, 0, false, true};
constexpr OpDef kDenseLabelsGrad{"softmax_cross_entropy_with_logits_labels_grad",
                                 "-log_softmax(logits) along axis.",
                                 {"logits", nullptr}, {{"axis", AttrKind::Axis, -1}}, Saves::Inputs,
                                 dense_labels_grad_rule, dense_grad_forward, 0, false, true};

// loss = sum_k z_k (lse(x) - x_k): d/dx = (softmax(x) sum(z) - z) g, d/dz = -log_softmax(x) g,
// g broadcast along the axis. Without a recording tape one fused pass computes both, with the
// bits of the ops.
void dense_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  const TensorPtr in[2] = {e.saved[0], e.saved[1]};
  const G& logits = e.saved[1];
  const int axis = the_axis(e);
  if (fused_ok() && gradient_batch_axes() == 0) {
    count_shortcut(Shortcut::SoftmaxXent);
    const Shape& shape = logits->shape();
    if (need[1]) out[1] = TensorImpl::empty(logits->dtype(), shape, "gradient");
    if (need[0]) out[0] = TensorImpl::empty(logits->dtype(), shape, "gradient");
    const AxisSplit s = split_at_axis(axis_argument(axis), shape, "gradient");
    LongRunning unlocked(static_cast<double>(logits->numel()) >= kLongRunningWork);
    if (logits->numel() > 0)
      kernels::softmax_cross_entropy_grad(logits->dtype(), in[0]->raw(), logits->raw(), g->raw(),
                                          need[1] ? out[1]->raw() : nullptr,
                                          need[0] ? out[0]->raw() : nullptr, s.outer, s.n, s.inner);
    return;
  }
  Shape column = e.in_shape[1];
  column.dims[axis] = 1;
  const G gc = reshape(g, batched(g, column));
  const OpArguments args = axis_argument(axis);
  if (need[1]) out[1] = multiply(call_op(kDenseGrad, in, args), gc);
  if (need[0]) out[0] = multiply(call_op(kDenseLabelsGrad, &in[1], args), gc);
}

constexpr OpDef kDense{
    "softmax_cross_entropy_with_logits",
    "Softmax cross-entropy between logits and labels of the same shape along axis (default the "
    "last): -sum(labels * log_softmax(logits)), computed stably. Each labels vector is usually "
    "a probability distribution; the gradient flows to both the logits and the labels (with "
    "respect to the logits it is (softmax(logits) * sum(labels) - labels) times the incoming "
    "gradient, TensorFlow's softmax - labels when the labels sum to 1).",
    {"labels", "logits"}, {{"axis", AttrKind::Axis, -1}}, Saves::Inputs, dense_rule,
    dense_forward, 0};

// ---- sigmoid_cross_entropy_with_logits ------------------------------------------------------

TensorPtr sigmoid_forward(const OpDef& op, const TensorPtr* in, const OpArguments&) {
  const TensorPtr& labels = in[0];
  const TensorPtr& logits = in[1];
  check_pair(labels, logits, op.name);
  TensorPtr loss = TensorImpl::empty(logits->dtype(), logits->shape(), op.name);
  LongRunning unlocked(static_cast<double>(logits->numel()) >= kLongRunningWork);
  if (loss->numel() > 0)
    kernels::sigmoid_cross_entropy(logits->dtype(), labels->raw(), logits->raw(), loss->raw(),
                                   loss->numel());
  return recorded(op, {&labels, &logits}, loss);
}

// loss = max(x, 0) - x z + log1p(exp(-|x|)): d/dx = (sigmoid(x) - z) g, d/dz = -x g. Without a
// recording tape the sigmoid op's result is turned into the gradients in one more pass.
void sigmoid_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  const G& labels = e.saved[0];
  const G& logits = e.saved[1];
  if (fused_ok() && gradient_batch_axes() == 0) {
    count_shortcut(Shortcut::SigmoidXent);
    if (need[1]) out[1] = sigmoid(logits);  // overwritten in place below: nobody else holds it
    if (need[0]) out[0] = TensorImpl::empty(logits->dtype(), logits->shape(), "gradient");
    LongRunning unlocked(static_cast<double>(logits->numel()) >= kLongRunningWork);
    if (logits->numel() > 0)
      kernels::sigmoid_cross_entropy_grad(logits->dtype(), need[1] ? out[1]->raw() : nullptr,
                                          labels->raw(), logits->raw(), g->raw(),
                                          need[1] ? out[1]->raw() : nullptr,
                                          need[0] ? out[0]->raw() : nullptr, logits->numel());
    return;
  }
  if (need[1]) out[1] = multiply(g, subtract(sigmoid(logits), labels));
  if (need[0]) out[0] = negative(multiply(g, logits));
}

constexpr OpDef kSigmoid{
    "sigmoid_cross_entropy_with_logits",
    "Elementwise logistic loss of logits x against labels z of the same shape: "
    "max(x, 0) - x * z + log1p(exp(-|x|)), the stable form of -z log(sigmoid(x)) - (1 - z) "
    "log(1 - sigmoid(x)). The gradient flows to both.",
    {"labels", "logits"}, {}, Saves::Inputs, sigmoid_rule, sigmoid_forward, 0};

// ---- l2_loss -------------------------------------------------------------------------------

TensorPtr l2_forward(const OpDef& op, const TensorPtr* in, const OpArguments&) {
  const TensorPtr& t = in[0];
  check_dtype(t, Accepts::Floats, op.name);
  LongRunning unlocked(static_cast<double>(t->numel()) >= kLongRunningWork);
  const double half = kernels::sum_of_squares(t->dtype(), t->raw(), t->numel()) / 2;
  return recorded(op, {&t}, TensorImpl::full(t->dtype(), Shape(), half, op.name));
}

// d(sum(t ** 2) / 2) = t g, g (a scalar, or one per batch row) spread over t.
void l2_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[0]) return;
  Shape ones;
  for (int d = 0; d < e.in_shape[0].rank; ++d) ones.push_back(1);
  out[0] = multiply(e.saved[0], reshape(g, batched(g, ones)));
}

constexpr OpDef kL2{"l2_loss", "sum(t ** 2) / 2, a scalar.", {"t", nullptr}, {}, Saves::Inputs,
                    l2_rule, l2_forward, 0};

constexpr const OpDef* kList[] = {&kSparse,    &kDense,     &kSigmoid,        &kL2,
                                  &kSparseGrad, &kDenseGrad, &kDenseLabelsGrad};

}  // namespace

const OpList kLossOps = {kList, sizeof(kList) / sizeof(kList[0])};

}  // namespace tapegrad::ops

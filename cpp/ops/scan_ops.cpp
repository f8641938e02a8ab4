// cumsum and cumprod along one axis: a kernel that runs each line in order (kernels/scan.h), so
// the result is the same for any thread count; rules written with ops.
#include "core/parallel.h"
#include "kernels/scan.h"
#include "ops/ops.h"
#include "ops/op_util.h"

namespace tapegrad::ops {
namespace {

TensorPtr scan_apply(const OpDef& op, const TensorPtr& x, int64_t axis, bool exclusive,
                     bool reverse) {
  check_dtype(x, Accepts::Numbers, op.name);
  OpArguments which;
  which.has_ints = true;
  which.ints = {axis};
  const AxisSplit s = split_at_axis(which, x->shape(), op.name);
  TensorPtr out = TensorImpl::empty(x->dtype(), x->shape(), op.name);
  if (out->numel() > 0) {
    const auto kind = static_cast<kernels::ScanOp>(op.kernel);
    const int64_t line = s.n * s.inner;  // elements per outer index
    const size_t bytes = dtype_size(x->dtype()) * static_cast<size_t>(line);
    LongRunning unlocked(static_cast<double>(x->numel()) >= kLongRunningWork);
    // Threads take whole [n, inner] blocks: each block's lines are computed alike on any thread.
    parallel_ranges(s.outer, [&](int64_t lo, int64_t hi) {
      kernels::scan(kind, exclusive, reverse, x->dtype(),
                    static_cast<const char*>(x->raw()) + lo * bytes,
                    static_cast<char*>(out->raw()) + lo * bytes, hi - lo, s.n, s.inner);
    }, 1, (threads::parallel_elements() + line - 1) / line);
  }
  OpAttrs attrs;
  attrs.axes_mask = 1u << s.axis;
  attrs.exclusive = exclusive;
  attrs.reverse = reverse;
  return recorded(op, {&x}, out, attrs);
}

TensorPtr scan_forward(const OpDef& op, const TensorPtr* in, const OpArguments& args) {
  return scan_apply(op, in[0], args.ints[0], args.flags[0], args.flags[1]);
}

using E = TapeEntry;
using G = TensorPtr;

// The op's axis in g, which may carry leading batch axes (jacobians).
int64_t grad_axis(const E& e) {
  int axis = 0;
  while (!(e.attrs.axes_mask >> axis & 1u)) ++axis;
  return axis + gradient_batch_axes();
}

// Each output sums the inputs on one side: the gradient sums g from the other side.
void cumsum_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = cumsum(g, grad_axis(e), e.attrs.exclusive, !e.attrs.reverse);
}

// TensorFlow's gradient: sum over the outputs that contain x_k of g y, divided by x_k (0 where
// x_k is 0, where this formula has no value: reduce_prod's rule avoids dividing).
void cumprod_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[0]) return;
  const G summed = cumsum(multiply(e.saved_output, g), grad_axis(e), e.attrs.exclusive, !e.attrs.reverse);
  out[0] = divide_no_nan(summed, e.saved[0]);
}

constexpr OpDef scan(const char* name, kernels::ScanOp kind, BackwardRule rule, const char* doc) {
  return OpDef{name,
               doc,
               {"x", nullptr},
               {{"axis", AttrKind::Axis, 0}, {"exclusive", AttrKind::Bool}, {"reverse", AttrKind::Bool}},
               kind == kernels::ScanOp::Sum ? Saves::Nothing : Saves::InputsAndOutput,
               rule,
               scan_forward,
               static_cast<int>(kind),
               true};
}

constexpr OpDef kCumsum = scan("cumsum", kernels::ScanOp::Sum, cumsum_rule,
    "Cumulative sum along axis (default 0): exclusive leaves each element out of its own sum, "
    "reverse sums from the end. Each line is summed in order.");
constexpr OpDef kCumprod = scan("cumprod", kernels::ScanOp::Prod, cumprod_rule,
    "Cumulative product along axis (default 0): exclusive leaves each element out of its own "
    "product, reverse multiplies from the end.");

constexpr const OpDef* kList[] = {&kCumsum, &kCumprod};

}  // namespace

const OpList kScanOps = {kList, sizeof(kList) / sizeof(kList[0])};

namespace {
OpArguments scan_arguments(int64_t axis, bool exclusive, bool reverse) {
  OpArguments args;
  args.has_ints = true;
  args.ints = {axis};
  args.flags[0] = exclusive;
  args.flags[1] = reverse;
  return args;
}
}  // namespace

TensorPtr cumsum(const TensorPtr& x, int64_t axis, bool exclusive, bool reverse) {
  return call_op(kCumsum, &x, scan_arguments(axis, exclusive, reverse));
}

TensorPtr cumprod(const TensorPtr& x, int64_t axis, bool exclusive, bool reverse) {
  return call_op(kCumprod, &x, scan_arguments(axis, exclusive, reverse));
}

}  // namespace tapegrad::ops

// Reductions over any set of axes, with keepdims (reduce_sum, reduce_mean, reduce_prod,
// reduce_max/min/any/all) and argmax/argmin: forward, rules and entries.
#include "ops/ops.h"
#include "core/parallel.h"
#include "ops/op_util.h"

#include <type_traits>

#include "kernels/integer.h"
#include "kernels/reduce_select.h"
#include "kernels/scan.h"

namespace tapegrad::ops {
namespace {

// Sum of a large contiguous run: fixed 64 Ki-element chunks (the split depends on n only, so the
// result is bitwise identical for any thread count), summed in parallel, combined in order.
template <typename T>
double chunked_sum(double (*sum)(const T*, int64_t), const T* x, int64_t n) {
  constexpr int64_t kChunk = kSumChunkElements;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(static_cast<size_t>(chunks));
  parallel_ranges(chunks, [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) {
      const int64_t begin = c * kChunk;
      partial[c] = sum(x + begin, (n - begin) < kChunk ? n - begin : kChunk);
    }
  }, 1, 2);
  double total = 0;
  for (double p : partial) total += p;
  return total;
}

Shape reduced_shape(const Shape& in, uint32_t mask, bool keepdims) {
  Shape out;
  for (int d = 0; d < in.rank; ++d) {
    if (!(mask >> d & 1u)) out.push_back(in.dims[d]);
    else if (keepdims) out.push_back(1);
  }
  return out;
}

enum class Reduction : int { Sum, Mean };

// Sum over the axes, then divide by the count for a mean.
TensorPtr reduce(const OpDef& op, const TensorPtr& x, const std::vector<int64_t>* axes,
                 bool keepdims) {
  const char* name = op.name;
  const bool mean = op.kernel == static_cast<int>(Reduction::Mean);
  check_dtype(x, mean ? Accepts::Floats : Accepts::Numbers, name);
  const uint32_t mask = axes_to_mask(axes, x->shape(), name);
  TensorPtr out = TensorImpl::empty(x->dtype(), reduced_shape(x->shape(), mask, keepdims), name);
  if (is_integer(x->dtype())) {
    const kernels::ReducePlan plan = reduce_plan(x->shape(), mask);
    visit_any_dtype(x->dtype(), [&](auto zero) {
      using T = decltype(zero);
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
        kernels::integer_kernels<T>().reduce_sum(x->data<T>(), out->data<T>(), plan);
    });
    return out;
  }
  int64_t count = 1;
  for (int d = 0; d < x->rank(); ++d)
    if (mask >> d & 1u) count *= x->shape().dims[d];
  if (out->numel() > 0) {
    const kernels::ReducePlan plan = reduce_plan(x->shape(), mask);
    LongRunning unlocked(static_cast<double>(x->numel()) >= kLongRunningWork);
    const auto& k = kernels::active();
    visit_dtype(x->dtype(), [&](auto zero) {
      using T = decltype(zero);
      if (out->numel() == 1 && x->numel() >= threads::parallel_elements()) {
        *out->data<T>() = static_cast<T>(chunked_sum(k.get<T>().sum, x->data<T>(), x->numel()));
      } else {
        k.get<T>().reduce_sum(x->data<T>(), out->data<T>(), plan);
      }
      // sum / count, one rounding as numpy's mean; a mean over nothing is 0 / 0 = NaN.
      if (mean && count != 1) {
        const T n = static_cast<T>(count);
        T* o = out->data<T>();
        for (int64_t i = 0; i < out->numel(); ++i) o[i] = o[i] / n;
      }
    });
  }
  OpAttrs attrs;
  attrs.axes_mask = mask;
  attrs.keepdims = keepdims;
  return recorded(op, {&x}, out, attrs);
}

TensorPtr reduce_forward(const OpDef& op, const TensorPtr* in, const OpArguments& args) {
  return reduce(op, in[0], args.has_ints ? &args.ints : nullptr, args.flags[0]);
}

using E = TapeEntry;
using G = TensorPtr;

// Shape of a reduction's output with the reduced axes kept as 1.
Shape keepdims_shape(const E& e) {
  Shape s;
  const Shape& in = e.in_shape[0];
  for (int d = 0; d < in.rank; ++d) s.push_back(e.attrs.axes_mask >> d & 1u ? 1 : in.dims[d]);
  return s;
}

// The gradient of a reduction spread back over the input, times `factor`.
// Scaling g before broadcasting it gives the same bits (each element is one product g_i * factor)
// and keeps the pass over the large gradient a single copy.
G spread(const E& e, const G& g, double factor) {
  if (fused_ok() && g->numel() == 1 && gradient_batch_axes() == 0) {
    count_shortcut(Shortcut::ReductionSpread);
    // g * factor rounded as the op path's multiply rounds it: in g's dtype, factor first.
    const double value = g->dtype() == DType::F32
                             ? static_cast<double>(static_cast<float>(g->item()) * static_cast<float>(factor))
                             : g->item() * factor;
    return TensorImpl::full(g->dtype(), e.in_shape[0], value, "gradient");
  }
  const G scaled = factor == 1.0 ? g : multiply(g, scalar(e.in_dtype[0], factor));
  const std::vector<int64_t> full = batched(g, e.in_shape[0]);
  Shape full_shape;
  for (int64_t d : full) full_shape.push_back(d);
  return broadcast_to(reshape(scaled, batched(g, keepdims_shape(e))), full_shape);
}

void reduce_sum_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = spread(e, g, 1.0);
}

void reduce_mean_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[0]) return;
  int64_t count = 1;  // the elements each output averages
  for (int d = 0; d < e.in_shape[0].rank; ++d)
    if (e.attrs.axes_mask >> d & 1u) count *= e.in_shape[0].dims[d];
  out[0] = spread(e, g, count ? 1.0 / double(count) : 0.0);
}

TensorPtr prod_apply(const OpDef& op, const TensorPtr& x, const std::vector<int64_t>* axes,
                     bool keepdims) {
  check_dtype(x, Accepts::Numbers, op.name);
  const uint32_t mask = axes_to_mask(axes, x->shape(), op.name);
  TensorPtr out = TensorImpl::empty(x->dtype(), reduced_shape(x->shape(), mask, keepdims), op.name);
  if (out->numel() > 0) {
    LongRunning unlocked(static_cast<double>(x->numel()) >= kLongRunningWork);
    kernels::reduce_prod(x->dtype(), x->raw(), out->raw(), reduce_plan(x->shape(), mask));
  }
  OpAttrs attrs;
  attrs.axes_mask = mask;
  attrs.keepdims = keepdims;
  return recorded(op, {&x}, out, attrs);
}

TensorPtr prod_forward(const OpDef& op, const TensorPtr* in, const OpArguments& args) {
  return prod_apply(op, in[0], args.has_ints ? &args.ints : nullptr, args.flags[0]);
}

// TensorFlow's ProdGrad: each element's share is the product of the others in its reduction,
// the exclusive cumulative products from both ends multiplied, so that a zero among the inputs
// gives the right answer (no division by x). The reduced axes are moved to the front and merged
// into one, the others into a second.
void reduce_prod_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[0]) return;
  const G& x = e.saved[0];
  const Shape& shape = x->shape();
  std::vector<int64_t> perm, inverse(shape.rank);
  int64_t reduced = 1, kept = 1;
  for (int d = 0; d < shape.rank; ++d)
    if (e.attrs.axes_mask >> d & 1u) perm.push_back(d), reduced *= shape.dims[d];
  for (int d = 0; d < shape.rank; ++d)
    if (!(e.attrs.axes_mask >> d & 1u)) perm.push_back(d), kept *= shape.dims[d];
  bool moved = false;
  for (int d = 0; d < shape.rank; ++d) {
    inverse[perm[d]] = d;
    moved |= perm[d] != d;
  }
  const G front = moved ? transpose(x, &perm) : x;
  const G lines = reshape(front, {reduced, kept});
  const G others = multiply(cumprod(lines, 0, true, false), cumprod(lines, 0, true, true));
  const Shape& front_shape = front->shape();
  G share = reshape(others, std::vector<int64_t>(front_shape.dims, front_shape.dims + front_shape.rank));
  if (moved) share = transpose(share, &inverse);
  out[0] = multiply(spread(e, g, 1.0), share);
}

TensorPtr select_forward(const OpDef& op, const TensorPtr* in, const OpArguments& args) {
  const TensorPtr& x = in[0];
  const auto sop = static_cast<kernels::SelectOp>(op.kernel);
  const bool logical = sop == kernels::SelectOp::Any || sop == kernels::SelectOp::All;
  if (logical && x->dtype() != DType::Bool)
    throw TypeError(std::string(op.name) + ": expected a bool tensor, got " + dtype_name(x->dtype()) +
                    "; compare, or convert with tapegrad.cast(x, tapegrad.bool)");
  if (!logical) check_dtype(x, Accepts::Numbers, op.name);
  const uint32_t mask = axes_to_mask(args.has_ints ? &args.ints : nullptr, x->shape(), op.name);
  TensorPtr out = TensorImpl::empty(x->dtype(), reduced_shape(x->shape(), mask, args.flags[0]), op.name);
  if (out->numel() > 0)
    kernels::reduce_select(sop, x->dtype(), x->raw(), out->raw(), reduce_plan(x->shape(), mask));
  OpAttrs attrs;
  attrs.axes_mask = mask;
  attrs.keepdims = args.flags[0];
  return recorded(op, {&x}, out, attrs);
}

// The gradient of a max or min goes to the elements equal to it, shared evenly among ties (as
// TensorFlow). The shares are constants: the selection is piecewise constant.
void extremum_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[0]) return;
  const G& x = e.saved[0];
  const Shape kept = keepdims_shape(e);
  const G chosen = cast(equal(x, reshape(e.saved_output, std::vector<int64_t>(kept.dims, kept.dims + kept.rank))),
                        x->dtype());
  std::vector<int64_t> axes;
  for (int d = 0; d < x->rank(); ++d)
    if (e.attrs.axes_mask >> d & 1u) axes.push_back(d);
  const G share = divide(chosen, reduce_sum(chosen, &axes, true));
  out[0] = multiply(spread(e, g, 1.0), share);
}

TensorPtr arg_forward(const OpDef& op, const TensorPtr* in, const OpArguments& args) {
  const TensorPtr& x = in[0];
  check_dtype(x, Accepts::Numbers, op.name);
  const AxisSplit s = split_at_axis(args, x->shape(), op.name);
  if (s.n == 0)
    throw ValueError(std::string(op.name) + ": axis " + std::to_string(s.axis) + " of shape " +
                     x->shape().str() + " is empty; there is no index to return");
  TensorPtr out = TensorImpl::empty(DType::I64, reduced_shape(x->shape(), 1u << s.axis, false), op.name);
  kernels::arg_select(op.kernel == 1, x->dtype(), x->raw(), out->data<int64_t>(), s.outer, s.n, s.inner);
  return out;
}

constexpr OpDef reduction(const char* name, Reduction kind, BackwardRule rule, const char* doc) {
  return OpDef{name, doc, {"x", nullptr}, {{"axis", AttrKind::Axes}, {"keepdims", AttrKind::Bool}},
               Saves::Nothing, rule, reduce_forward, static_cast<int>(kind)};
}

constexpr OpDef kReduceSum = reduction("reduce_sum", Reduction::Sum, reduce_sum_rule,
    "Sum over axis (None: all; int or tuple; negative allowed).");
constexpr OpDef kReduceMean = reduction("reduce_mean", Reduction::Mean, reduce_mean_rule,
    "Mean over axis (None: all; int or tuple; negative allowed).");

constexpr OpDef selection(const char* name, kernels::SelectOp kind, BackwardRule rule,
                          const char* doc) {
  return OpDef{name,
               doc,
               {"x", nullptr},
               {{"axis", AttrKind::Axes}, {"keepdims", AttrKind::Bool}},
               rule ? Saves::InputsAndOutput : Saves::Nothing,
               rule,
               select_forward,
               static_cast<int>(kind)};
}

constexpr OpDef kReduceMax = selection("reduce_max", kernels::SelectOp::Max, extremum_rule,
    "Maximum over axis (None: all); NaN if any is; an empty reduction gives -inf.");
constexpr OpDef kReduceMin = selection("reduce_min", kernels::SelectOp::Min, extremum_rule,
    "Minimum over axis (None: all); NaN if any is; an empty reduction gives +inf.");
constexpr OpDef kReduceAny = selection("reduce_any", kernels::SelectOp::Any, nullptr,
    "Logical or over axis of a bool tensor (None: all).");
constexpr OpDef kReduceAll = selection("reduce_all", kernels::SelectOp::All, nullptr,
    "Logical and over axis of a bool tensor (None: all).");
constexpr OpDef kArgmax{"argmax", "Index (int64) of the first largest element along axis.",
                        {"x", nullptr}, {{"axis", AttrKind::Axis}}, Saves::Nothing, nullptr,
                        arg_forward, 1};
constexpr OpDef kArgmin{"argmin", "Index (int64) of the first smallest element along axis.",
                        {"x", nullptr}, {{"axis", AttrKind::Axis}}, Saves::Nothing, nullptr,
                        arg_forward, 0};

constexpr OpDef kReduceProd{"reduce_prod",
                            "Product over axis (None: all; int or tuple; negative allowed), in "
                            "element order; an empty reduction gives 1.",
                            {"x", nullptr}, {{"axis", AttrKind::Axes}, {"keepdims", AttrKind::Bool}},
                            Saves::Inputs, reduce_prod_rule, prod_forward, 0};

constexpr const OpDef* kList[] = {&kReduceSum, &kReduceMean, &kReduceProd, &kReduceMax, &kReduceMin,
                                  &kReduceAny, &kReduceAll,  &kArgmax,     &kArgmin};

}  // namespace

const OpList kReductionOps = {kList, sizeof(kList) / sizeof(kList[0])};

namespace {
// The arguments of a reduction call: the bindings' form of (axes, keepdims).
OpArguments reduction_arguments(const std::vector<int64_t>* axes, bool keepdims) {
  OpArguments args;
  args.has_ints = axes != nullptr;
  if (axes) args.ints = *axes;
  args.flags[0] = keepdims;
  return args;
}
}  // namespace

bool is_sum_or_mean(const OpDef& op, bool* mean) {
  *mean = &op == &kReduceMean;
  return &op == &kReduceSum || &op == &kReduceMean;
}

TensorPtr reduce_sum(const TensorPtr& x, const std::vector<int64_t>* axes, bool keepdims) {
  return call_op(kReduceSum, &x, reduction_arguments(axes, keepdims));
}

TensorPtr reduce_mean(const TensorPtr& x, const std::vector<int64_t>* axes, bool keepdims) {
  return call_op(kReduceMean, &x, reduction_arguments(axes, keepdims));
}

TensorPtr reduce_prod(const TensorPtr& x, const std::vector<int64_t>* axes, bool keepdims) {
  return call_op(kReduceProd, &x, reduction_arguments(axes, keepdims));
}

}  // namespace tapegrad::ops

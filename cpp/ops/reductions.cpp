// reduce_sum and reduce_mean over any set of axes, with keepdims.
#include "ops/ops.h"
#include "ops/op_util.h"

namespace tapegrad::ops {
namespace {

Shape reduced_shape(const Shape& in, uint32_t mask, bool keepdims) {
  Shape out;
  for (int d = 0; d < in.rank; ++d) {
    if (!(mask >> d & 1u)) out.push_back(in.dims[d]);
    else if (keepdims) out.push_back(1);
  }
  return out;
}

// Sum over the axes in `mask`, then multiply by `factor` (1 for a sum, 1/count for a mean).
TensorPtr reduce(OpKind kind, const TensorPtr& x, const std::vector<int64_t>* axes, bool keepdims,
                 bool mean) {
  const char* name = op_name(kind);
  const uint32_t mask = axes_to_mask(axes, x->shape(), name);
  TensorPtr out = TensorImpl::empty(x->dtype(), reduced_shape(x->shape(), mask, keepdims), name);
  int64_t count = 1;
  for (int d = 0; d < x->rank(); ++d)
    if (mask >> d & 1u) count *= x->shape().dims[d];
  if (out->numel() > 0) {
    const kernels::ReducePlan plan = reduce_plan(x->shape(), mask);
    LongRunning unlocked(static_cast<double>(x->numel()) >= kLongRunningWork);
    const auto& k = kernels::active();
    visit_dtype(x->dtype(), [&](auto zero) {
      using T = decltype(zero);
      k.get<T>().reduce_sum(x->data<T>(), out->data<T>(), plan);
      // A mean over nothing is 0 * inf = NaN, as numpy gives.
      if (mean && count != 1) {
        const T factor = count == 0 ? T(1) / T(0) : T(1) / static_cast<T>(count);
        k.get<T>().scale(out->numel(), factor, out->data<T>(), out->data<T>());
      }
    });
  }
  OpAttrs attrs;
  attrs.axes_mask = mask;
  attrs.keepdims = keepdims;
  return recorded(kind, {&x}, false, out, attrs);
}

}  // namespace

TensorPtr reduce_sum(const TensorPtr& x, const std::vector<int64_t>* axes, bool keepdims) {
  return reduce(OpKind::ReduceSum, x, axes, keepdims, false);
}

TensorPtr reduce_mean(const TensorPtr& x, const std::vector<int64_t>* axes, bool keepdims) {
  return reduce(OpKind::ReduceMean, x, axes, keepdims, true);
}

}  // namespace tapegrad::ops

// reduce_sum and reduce_mean over any set of axes, with keepdims.
#include "ops/ops.h"
#include "core/parallel.h"
#include "ops/op_util.h"

namespace tapegrad::ops {
namespace {

// Sum of a large contiguous run: fixed 64 Ki-element chunks (the split depends on n only, so the
// result is bitwise identical for any thread count), summed in parallel, combined in order.
template <typename T>
double chunked_sum(double (*sum)(const T*, int64_t), const T* x, int64_t n) {
  constexpr int64_t kChunk = int64_t(1) << 16;
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
      if (out->numel() == 1 && x->numel() >= threads::parallel_elements()) {
        *out->data<T>() = static_cast<T>(chunked_sum(k.get<T>().sum, x->data<T>(), x->numel()));
      } else {
        k.get<T>().reduce_sum(x->data<T>(), out->data<T>(), plan);
      }
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

#include "kernels/reduce_select.h"

#include <limits>
#include <type_traits>

#include "kernels/strided_rows.h"

namespace tapegrad::kernels {
namespace {

template <typename T>
bool is_nan(T x) {
  if constexpr (std::is_floating_point_v<T>) return x != x;
  return false;
}

template <typename T>
T identity(SelectOp op) {
  using L = std::numeric_limits<T>;
  switch (op) {
    case SelectOp::Max: return L::has_infinity ? -L::infinity() : L::lowest();
    case SelectOp::Min: return L::has_infinity ? L::infinity() : L::max();
    case SelectOp::Any: return T(0);
    case SelectOp::All: return T(1);
  }
  return T(0);
}

template <typename T>
T combine(SelectOp op, T acc, T x) {
  switch (op) {
    case SelectOp::Max: return x > acc || is_nan(x) ? x : acc;  // NaN stays: nothing beats it
    case SelectOp::Min: return x < acc || is_nan(x) ? x : acc;
    case SelectOp::Any: return acc || x;
    case SelectOp::All: return acc && x;
  }
  return acc;
}

template <typename T>
void reduce_typed(SelectOp op, const T* in, T* out, const ReducePlan& p) {
  const T init = identity<T>(op);
  for (int64_t j = 0; j < p.out_numel; ++j) out[j] = init;
  const int last = p.rank > 0 ? p.rank - 1 : 0;
  const int64_t step = p.rank ? p.out_stride[last] : 0;
  GatherPlan shape_only;
  shape_only.rank = p.rank;
  for (int d = 0; d < p.rank; ++d) shape_only.shape[d] = p.shape[d];
  int64_t next = 0;  // the input is contiguous: read in order
  for_rows(shape_only, p.out_stride, nullptr, [&](int64_t off, int64_t, int64_t, int64_t n) {
    for (int64_t i = 0; i < n; ++i, ++next) out[off + i * step] = combine(op, out[off + i * step], in[next]);
  });
}

template <typename T>
void arg_typed(bool want_max, const T* in, int64_t* out, int64_t outer, int64_t n, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const T* col = in + o * n * inner + i;
      int64_t best = 0;
      T value = col[0];
      for (int64_t k = 1; k < n && !is_nan(value); ++k) {
        const T x = col[k * inner];
        if (is_nan(x) || (want_max ? x > value : x < value)) {
          best = k;
          value = x;
        }
      }
      out[o * inner + i] = best;
    }
  }
}

}  // namespace

void reduce_select(SelectOp op, DType dtype, const void* in, void* out, const ReducePlan& plan) {
  visit_any_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    reduce_typed(op, static_cast<const T*>(in), static_cast<T*>(out), plan);
  });
}

void arg_select(bool want_max, DType dtype, const void* in, int64_t* out, int64_t outer, int64_t n,
                int64_t inner) {
  visit_any_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    arg_typed(want_max, static_cast<const T*>(in), out, outer, n, inner);
  });
}

}  // namespace tapegrad::kernels

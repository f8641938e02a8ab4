// One loop over the rows of a strided iteration plan, shared by the portable kernels of the
// integer, bool and comparison families.
#pragma once
#include <cstdint>

#include "core/shape.h"

namespace tapegrad::kernels {

// Calls row(offset_a, offset_b, output_offset, n) for each contiguous output row of a plan (its
// shape and rank; sa and sb are two operands' strides, sb may be null); rows follow in output
// order, and a rank-0 plan is one row of one element.
template <typename Plan, typename Row>
void for_rows(const Plan& p, const int64_t* sa, const int64_t* sb, Row row) {
  if (p.rank == 0) {
    row(0, 0, 0, 1);
    return;
  }
  const int last = p.rank - 1;
  int64_t outer = 1;
  for (int d = 0; d < last; ++d) outer *= p.shape[d];
  int64_t idx[kMaxRank] = {};
  int64_t off_a = 0, off_b = 0;
  for (int64_t o = 0; o < outer; ++o) {
    row(off_a, off_b, o * p.shape[last], p.shape[last]);
    for (int d = last - 1; d >= 0; --d) {
      off_a += sa[d];
      off_b += sb ? sb[d] : 0;
      if (++idx[d] < p.shape[d]) break;
      off_a -= sa[d] * p.shape[d];
      off_b -= sb ? sb[d] * p.shape[d] : 0;
      idx[d] = 0;
    }
  }
}

// out[i] = f(a[...], b[...]) over a BinaryPlan (out contiguous, of any element type).
template <typename In, typename Out, typename Plan, typename F>
void binary_rows(const In* a, const In* b, Out* out, const Plan& p, F f) {
  const int last = p.rank > 0 ? p.rank - 1 : 0;
  const int64_t ia = p.rank ? p.stride_a[last] : 0, ib = p.rank ? p.stride_b[last] : 0;
  for_rows(p, p.stride_a, p.stride_b, [&](int64_t oa, int64_t ob, int64_t oo, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[oo + i] = f(a[oa + i * ia], b[ob + i * ib]);
  });
}

// Folds a contiguous input into the outputs of a ReducePlan in input order: out[j] starts at
// `init` and each element is combined into its output as f(out[j], x). Strictly sequential per
// output, so the result is the same for any layout of the reduced axes.
template <typename T, typename ReducePlanT, typename F>
void fold_in_order(const T* in, T* out, const ReducePlanT& p, T init, F f) {
  for (int64_t j = 0; j < p.out_numel; ++j) out[j] = init;
  int64_t next = 0;
  const int last = p.rank > 0 ? p.rank - 1 : 0;
  const int64_t step = p.rank ? p.out_stride[last] : 0;
  struct {
    int rank;
    int64_t shape[kMaxRank];
  } shape_only{p.rank, {}};
  for (int d = 0; d < p.rank; ++d) shape_only.shape[d] = p.shape[d];
  for_rows(shape_only, p.out_stride, nullptr, [&](int64_t off, int64_t, int64_t, int64_t n) {
    for (int64_t i = 0; i < n; ++i, ++next) out[off + i * step] = f(out[off + i * step], in[next]);
  });
}

}  // namespace tapegrad::kernels

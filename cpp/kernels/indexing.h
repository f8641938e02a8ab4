// The data-movement kernels of the indexing ops: strided scatter (the inverse of the gather in
// kernels.h), row gather and scatter-add by an index tensor, and one-hot. They move elements as
// bytes, so one build serves every dtype; only scatter-add does arithmetic (floating types).
// Each walks its input once in a fixed order on one thread, so results do not depend on the
// thread count.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace tapegrad::kernels {

// out[sum(index_d * in_stride_d)] = in[...] for contiguous `in`, elements of `size` bytes
// (1, 4 or 8): the plan of a gather read the other way (its in_stride are out's strides).
void scatter_bytes(size_t size, const void* in, void* out, const GatherPlan& plan);

// `n` elements of `size` bytes at `out`, each a copy of `value`.
void fill_bytes(size_t size, const void* value, void* out, int64_t n);

// The shape of a gather by an index tensor: params as [outer, batch, pre, n, row] and indices as
// [batch, k], giving out [outer, batch, pre, k, row]. `outer` axes do not index the indices.
struct RowGather {
  int64_t outer = 1, batch = 1, pre = 1, n = 1, k = 1, row = 1;
};

// out[o, b, p, j, :] = params[o, b, p, idx[b, j], :]; every index is in [0, n) (checked by the
// caller). Index is int32_t or int64_t.
template <typename Index>
void gather_rows(size_t size, const void* params, const Index* idx, void* out, const RowGather& g);

// out = zeros, then out[o, b, p, idx[b, j], :] += grad[o, b, p, j, :] in order of j: repeated
// indices accumulate, always in the same order. T is float or double.
template <typename T, typename Index>
void scatter_add_rows(const T* grad, const Index* idx, T* out, const RowGather& g);

// out[o, d, i] = (idx[o, i] == d) ? on : off over [outer, depth, inner]; an index outside
// [0, depth) gives a row of `off`.
template <typename Index>
void one_hot(size_t size, const Index* idx, const void* on, const void* off, void* out,
             int64_t outer, int64_t depth, int64_t inner);

}  // namespace tapegrad::kernels

// Iteration plans for the kernels: strides per dimension, with size-1 dimensions dropped and
// neighbours merged when they walk memory as one, so inner loops run long and unit-stride.
#include <string>

#include "ops/op_util.h"

namespace tapegrad::ops {

void contiguous_strides(const Shape& s, int64_t* strides) {
  int64_t st = 1;
  for (int d = s.rank - 1; d >= 0; --d) {
    strides[d] = st;
    st *= s.dims[d];
  }
}

void broadcast_strides(const Shape& in, const Shape& out, int64_t* strides) {
  int64_t own[kMaxRank];
  contiguous_strides(in, own);
  const int lead = out.rank - in.rank;
  for (int d = 0; d < out.rank; ++d) {
    const int di = d - lead;
    strides[d] = (di < 0 || in.dims[di] == 1) ? 0 : own[di];
  }
}

namespace {
// Generic collapse over k stride arrays: drops extent-1 dims and merges d into d+1 when every
// array has stride[d] == stride[d+1] * extent[d+1].
template <int K>
int collapse(int rank, const int64_t* shape, int64_t* const* strides_in, int64_t* out_shape,
             int64_t* const* strides_out) {
  int r = 0;
  for (int d = 0; d < rank; ++d) {
    if (shape[d] == 1) continue;
    if (r > 0) {
      bool merge = true;
      for (int k = 0; k < K; ++k)
        merge &= strides_out[k][r - 1] == strides_in[k][d] * shape[d];
      if (merge) {
        out_shape[r - 1] *= shape[d];
        for (int k = 0; k < K; ++k) strides_out[k][r - 1] = strides_in[k][d];
        continue;
      }
    }
    out_shape[r] = shape[d];
    for (int k = 0; k < K; ++k) strides_out[k][r] = strides_in[k][d];
    ++r;
  }
  return r;
}
}  // namespace

kernels::BinaryPlan binary_plan(const Shape& a, const Shape& b, const Shape& out) {
  int64_t sa[kMaxRank], sb[kMaxRank];
  broadcast_strides(a, out, sa);
  broadcast_strides(b, out, sb);
  kernels::BinaryPlan p;
  int64_t* in[2] = {sa, sb};
  int64_t* o[2] = {p.stride_a, p.stride_b};
  p.rank = collapse<2>(out.rank, out.dims, in, p.shape, o);
  return p;
}

kernels::GatherPlan gather_plan(const Shape& out, const int64_t* in_stride) {
  kernels::GatherPlan p;
  int64_t s[kMaxRank];
  for (int d = 0; d < out.rank; ++d) s[d] = in_stride[d];
  int64_t* in[1] = {s};
  int64_t* o[1] = {p.in_stride};
  p.rank = collapse<1>(out.rank, out.dims, in, p.shape, o);
  return p;
}

kernels::ReducePlan reduce_plan(const Shape& in, uint32_t axes_mask) {
  // Output strides of the keepdims shape, zeroed along reduced axes.
  int64_t os[kMaxRank];
  int64_t st = 1;
  for (int d = in.rank - 1; d >= 0; --d) {
    if (axes_mask >> d & 1u) {
      os[d] = 0;
    } else {
      os[d] = st;
      st *= in.dims[d];
    }
  }
  kernels::ReducePlan p;
  p.out_numel = st;
  int64_t is[kMaxRank];
  contiguous_strides(in, is);
  int64_t* ins[2] = {os, is};
  int64_t in_out[kMaxRank];
  int64_t* outs[2] = {p.out_stride, in_out};
  p.rank = collapse<2>(in.rank, in.dims, ins, p.shape, outs);
  return p;
}

uint32_t axes_to_mask(const std::vector<int64_t>* axes, const Shape& shape, const char* op) {
  const int rank = shape.rank;
  if (!axes) return rank >= 32 ? ~0u : (1u << rank) - 1u;
  uint32_t mask = 0;
  for (int64_t a : *axes) {
    int64_t ax = a < 0 ? a + rank : a;
    if (ax < 0 || ax >= rank)
      throw ValueError(std::string(op) + ": axis " + std::to_string(a) +
                       " is out of range for a tensor of shape " + shape.str() + " (rank " + std::to_string(rank) + ")" +
                       " (expected -" + std::to_string(rank) + " <= axis < " +
                       std::to_string(rank) + ")");
    if (mask >> ax & 1u)
      throw ValueError(std::string(op) + ": axis " + std::to_string(a) +
                       " is repeated (tensor of shape " + shape.str() + ")");
    mask |= 1u << ax;
  }
  return mask;
}

}  // namespace tapegrad::ops

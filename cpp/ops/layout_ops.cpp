// Ops that rearrange a whole tensor: expand_dims, squeeze and tile (composites of reshape and
// broadcast_to, whose rules give their gradients) and pad (a scatter into a filled tensor; its
// gradient is the slice of the interior). pad is internal: tapegrad.pad (python/tapegrad/
// indexing.py) reads TensorFlow's paddings and mode and calls it.
#include <cmath>
#include <cstring>
#include <string>

#include "kernels/indexing.h"
#include "ops/indexing.h"
#include "ops/op_util.h"
#include "ops/ops.h"

namespace tapegrad::ops {
namespace {

std::vector<int64_t> dims_of(const Shape& s) { return std::vector<int64_t>(s.dims, s.dims + s.rank); }

std::string ints_str(const std::vector<int64_t>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out + "]";
}

TensorPtr expand_dims_forward(const OpDef& op, const TensorPtr* in, const OpArguments& args) {
  const TensorPtr& x = in[0];
  const int r = x->rank();
  if (args.ints.size() != 1)
    throw ValueError(std::string(op.name) + ": axis must be one int, got " + ints_str(args.ints));
  int64_t axis = args.ints[0];
  if (axis < -r - 1 || axis > r)
    throw ValueError(std::string(op.name) + ": axis " + std::to_string(axis) +
                     " is out of range for a tensor of shape " + x->shape().str() + " (expected " +
                     std::to_string(-r - 1) + " <= axis <= " + std::to_string(r) + ")");
  if (r + 1 > kMaxRank)
    throw ValueError(std::string(op.name) + ": a tensor of shape " + x->shape().str() +
                     " already has the maximum rank " + std::to_string(kMaxRank));
  if (axis < 0) axis += r + 1;
  std::vector<int64_t> dims = dims_of(x->shape());
  dims.insert(dims.begin() + axis, 1);
  return reshape(x, dims);
}

TensorPtr squeeze_forward(const OpDef& op, const TensorPtr* in, const OpArguments& args) {
  const TensorPtr& x = in[0];
  const Shape& s = x->shape();
  uint32_t mask = 0;
  if (args.has_ints) {
    mask = axes_to_mask(&args.ints, s, op.name);
    for (int d = 0; d < s.rank; ++d)
      if ((mask >> d & 1u) && s.dims[d] != 1)
        throw ValueError(std::string(op.name) + ": cannot squeeze axis " + std::to_string(d) + " of size " +
                         std::to_string(s.dims[d]) + " (tensor of shape " + s.str() +
                         "); only axes of size 1 can be removed");
  } else {
    for (int d = 0; d < s.rank; ++d)
      if (s.dims[d] == 1) mask |= 1u << d;
  }
  if (mask == 0) return x;
  std::vector<int64_t> dims;
  for (int d = 0; d < s.rank; ++d)
    if (!(mask >> d & 1u)) dims.push_back(s.dims[d]);
  return reshape(x, dims);
}

// One axis at a time: [outer, 1, n * inner] broadcast to [outer, m, n * inner] repeats the
// axis's whole block m times; broadcast_to's rule (a sum over the copies) is tile's gradient.
TensorPtr tile_forward(const OpDef& op, const TensorPtr* in, const OpArguments& args) {
  const TensorPtr& x = in[0];
  const Shape& s = x->shape();
  const std::vector<int64_t>& m = args.ints;
  if (static_cast<int>(m.size()) != s.rank)
    throw ValueError(std::string(op.name) + ": multiples " + ints_str(m) + " must have one entry per axis of " +
                     "the tensor of shape " + s.str() + " (rank " + std::to_string(s.rank) + ")");
  Shape out = s;
  for (int d = 0; d < s.rank; ++d) {
    if (m[d] < 0)
      throw ValueError(std::string(op.name) + ": multiples " + ints_str(m) + " must be >= 0 (tensor of shape " +
                       s.str() + ")");
    if (__builtin_mul_overflow(s.dims[d], m[d], &out.dims[d]))
      throw ValueError(std::string(op.name) + ": multiples " + ints_str(m) + " make the tensor of shape " +
                       s.str() + " too large");
  }
  check_shape(out, dtype_size(x->dtype()), op.name);
  // No elements in, so none out: a reshape, whatever the multiples (the steps below would form
  // shapes such as [1, m, 0] with an absurd m).
  if (x->numel() == 0) return reshape(x, dims_of(out));
  TensorPtr cur = x;
  Shape now = s;
  for (int d = 0; d < s.rank; ++d) {
    if (m[d] == 1) continue;
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < d; ++i) outer *= now.dims[i];
    for (int i = d + 1; i < s.rank; ++i) inner *= now.dims[i];
    const int64_t block = now.dims[d] * inner;
    cur = broadcast_to(reshape(cur, {outer, 1, block}), Shape{outer, m[d], block});
    now.dims[d] *= m[d];
    cur = reshape(cur, dims_of(now));
  }
  return cur;
}

void pad_rule(const TapeEntry& e, const TensorPtr& g, const bool need[2], TensorPtr out[2]) {
  if (need[0])
    out[0] = strided_slice(g, batched_axes(SliceAxes::decode(*e.attrs.ints), g), batched_shape(g, e.in_shape[0]));
}

// `value` as one element of `dtype`; ValueError naming `op` when it is not one.
void element_of(DType dtype, double value, void* out, const char* op) {
  if (!is_floating(dtype)) {
    const bool whole = std::isfinite(value) && value == std::floor(value);
    const double lo = dtype == DType::I32 ? -2147483648.0 : dtype == DType::I64 ? -9223372036854775808.0 : 0.0;
    const double hi = dtype == DType::I32 ? 2147483647.0 : dtype == DType::I64 ? 9223372036854775807.0 : 1.0;
    if (!whole || value < lo || value >= hi + (dtype == DType::I64 ? 0.0 : 1.0))
      throw ValueError(std::string(op) + ": constant_values " + std::to_string(value) +
                       " is not a value of a " + dtype_name(dtype) + " tensor");
  }
  visit_any_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const T v = static_cast<T>(value);
    std::memcpy(out, &v, sizeof(T));
  });
}

// attrs: paddings (before, after for each axis, flattened) and constant_values.
TensorPtr pad_forward(const OpDef& op, const TensorPtr* in, const OpArguments& args);

constexpr OpDef kExpandDims{
    "expand_dims", "A new axis of size 1 inserted at axis (-rank - 1 <= axis <= rank).",
    {"input", nullptr}, {{"axis", AttrKind::Ints}}, Saves::Nothing, nullptr, expand_dims_forward, 0};
constexpr OpDef kSqueeze{
    "squeeze", "The axes of size 1 removed: all of them (axis=None) or those listed, which must have size 1.",
    {"input", nullptr}, {{"axis", AttrKind::Axes}}, Saves::Nothing, nullptr, squeeze_forward, 0};
constexpr OpDef kTile{
    "tile", "The tensor repeated multiples[d] times along each axis d (one entry per axis, each >= 0).",
    {"input", nullptr}, {{"multiples", AttrKind::Ints}}, Saves::Nothing, nullptr, tile_forward, 0};
// Internal with a private binding (the flags after the kernel: takes_integers, internal,
// variadic, private_binding).
constexpr OpDef kPad{
    "pad", "The tensor inside a border of constant_values (paddings: before, after per axis, flattened).",
    {"tensor", nullptr}, {{"paddings", AttrKind::Ints}, {"constant_values", AttrKind::Number}},
    Saves::Nothing, pad_rule, pad_forward, 0, false, true, false, true};

TensorPtr pad_forward(const OpDef& op, const TensorPtr* in, const OpArguments& args) {
  const TensorPtr& x = in[0];
  const Shape& s = x->shape();
  const std::vector<int64_t>& p = args.ints;
  if (p.size() != 2 * static_cast<size_t>(s.rank))
    throw ValueError(std::string(op.name) + ": paddings must have shape [" + std::to_string(s.rank) +
                     ", 2] for a tensor of shape " + s.str() + ", got " + std::to_string(p.size()) + " values");
  Shape out = s;
  std::vector<int64_t> triples;
  for (int d = 0; d < s.rank; ++d) {
    const int64_t before = p[2 * d], after = p[2 * d + 1];
    if (before < 0 || after < 0)
      throw ValueError(std::string(op.name) + ": paddings " + ints_str(p) + " must be >= 0 (tensor of shape " +
                       s.str() + ")");
    if (__builtin_add_overflow(s.dims[d], before, &out.dims[d]) ||
        __builtin_add_overflow(out.dims[d], after, &out.dims[d]))
      throw ValueError(std::string(op.name) + ": paddings " + ints_str(p) + " make the tensor of shape " +
                       s.str() + " too large");
    triples.insert(triples.end(), {before, s.dims[d], 1});
  }
  check_shape(out, dtype_size(x->dtype()), op.name);
  alignas(8) unsigned char value[8];
  element_of(x->dtype(), args.number, value, op.name);
  const SliceAxes window = slice_axes(triples.data(), s.rank, out, op.name);
  TensorPtr y = TensorImpl::empty(x->dtype(), out, op.name);
  const size_t size = dtype_size(x->dtype());
  if (y->numel() > 0) kernels::fill_bytes(size, value, y->raw(), y->numel());
  if (x->numel() > 0) {
    int64_t own[kMaxRank], strides[kMaxRank], offset = 0;
    contiguous_strides(out, own);
    for (int d = 0; d < s.rank; ++d) {
      offset += window.begin[d] * own[d];
      strides[d] = own[d];
    }
    kernels::scatter_bytes(size, x->raw(), static_cast<char*>(y->raw()) + offset * static_cast<int64_t>(size),
                           gather_plan(s, strides));
  }
  OpAttrs attrs;
  if (tape_stack::any_active()) attrs.ints = window.encode();
  return recorded(op, {&x}, y, attrs);
}

constexpr const OpDef* kList[] = {&kExpandDims, &kSqueeze, &kTile, &kPad};

}  // namespace

const OpList kLayoutOps = {kList, sizeof(kList) / sizeof(kList[0])};

}  // namespace tapegrad::ops

// Ops that pick elements by position: the strided slice behind Tensor.__getitem__, split and
// unstack, with its gradient (a scatter into zeros); gather by an index tensor, with its
// gradient (a scatter-add); one_hot. The public functions are in python/tapegrad/indexing.py:
// they normalise keys and arguments and call these entries, which are internal (bound as
// tapegrad._core._<name>) and check everything they are given again, so no call reads or writes
// outside a buffer.
#include <string>

#include "kernels/indexing.h"
#include "kernels/integer.h"
#include "ops/indexing.h"
#include "ops/op_util.h"
#include "ops/ops.h"

namespace tapegrad::ops {
namespace {

std::string ints_str(const int64_t* v, int n) {
  std::string out = "[";
  for (int i = 0; i < n; ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out + "]";
}

Shape shape_from(const int64_t* dims, size_t n, const char* op, const char* what) {
  if (n > static_cast<size_t>(kMaxRank))
    throw ValueError(std::string(op) + ": " + what + " has rank " + std::to_string(n) +
                     "; the maximum is " + std::to_string(kMaxRank));
  Shape s;
  for (size_t i = 0; i < n; ++i) {
    if (dims[i] < 0)
      throw ValueError(std::string(op) + ": " + what + " " + ints_str(dims, static_cast<int>(n)) +
                       " has a negative dimension");
    s.push_back(dims[i]);
  }
  return s;
}

void check_index_dtype(const TensorPtr& indices, const char* op) {
  if (!is_integer(indices->dtype()))
    throw TypeError(std::string(op) + ": indices must be int32 or int64, got " +
                    dtype_name(indices->dtype()));
}

// The element offset of window starts, and the strides between window elements, in `in`.
int64_t window_plan(const Shape& in, const SliceAxes& s, int64_t* strides) {
  int64_t own[kMaxRank];
  contiguous_strides(in, own);
  int64_t offset = 0;
  for (int d = 0; d < s.rank; ++d) {
    offset += s.begin[d] * own[d];
    strides[d] = s.step[d] * own[d];
  }
  return offset;
}

using E = TapeEntry;
using G = TensorPtr;

void strided_slice_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[0]) return;
  const SliceAxes s = batched_axes(SliceAxes::decode(*e.attrs.ints), g);
  out[0] = strided_slice_grad(g, batched_shape(g, e.in_shape[0]), s);
}

void strided_slice_grad_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[0]) return;
  const SliceAxes s = batched_axes(SliceAxes::decode(*e.attrs.ints), g);
  out[0] = strided_slice(g, s, batched_shape(g, e.in_shape[0]));
}

// attrs.ints: axis, batch_dims, lead (see ops::gather); g carries more batch axes in front.
void gather_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[0]) return;
  const std::vector<int64_t>& a = *e.attrs.ints;
  const int more = gradient_batch_axes();
  out[0] = gather_grad(g, e.saved[1], batched_shape(g, e.in_shape[0]), static_cast<int>(a[0]) + more,
                       static_cast<int>(a[1]), static_cast<int>(a[2]) + more);
}

void gather_grad_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[0]) return;
  const std::vector<int64_t>& a = *e.attrs.ints;
  const int more = gradient_batch_axes();
  out[0] = gather(g, e.saved[1], static_cast<int>(a[0]) + more, static_cast<int>(a[1]),
                  static_cast<int>(a[2]) + more);
}

// spec: (begin, count, step) for each axis of x, then the result's shape.
TensorPtr strided_slice_forward(const OpDef& op, const TensorPtr* in, const OpArguments& args) {
  const TensorPtr& x = in[0];
  const std::vector<int64_t>& spec = args.ints;
  const size_t windows = 3 * static_cast<size_t>(x->rank());
  if (spec.size() < windows)
    throw ValueError(std::string(op.name) + ": expected a (begin, count, step) triple for each of the " +
                     std::to_string(x->rank()) + " axes of a tensor of shape " + x->shape().str() +
                     ", then the result's shape; got " + std::to_string(spec.size()) + " integers");
  const SliceAxes s = slice_axes(spec.data(), x->rank(), x->shape(), op.name);
  return strided_slice(x, s, shape_from(spec.data() + windows, spec.size() - windows, op.name,
                                        "the result's shape"));
}

// spec: the input's shape, then (begin, count, step) for each of its axes.
TensorPtr strided_slice_grad_forward(const OpDef& op, const TensorPtr* in, const OpArguments& args) {
  const std::vector<int64_t>& spec = args.ints;
  if (spec.size() % 4 != 0)
    throw ValueError(std::string(op.name) + ": expected a shape of rank r and r (begin, count, step) "
                     "triples, got " + std::to_string(spec.size()) + " integers");
  const size_t rank = spec.size() / 4;
  const Shape shape = shape_from(spec.data(), rank, op.name, "the input shape");
  return strided_slice_grad(in[0], shape, slice_axes(spec.data() + rank, static_cast<int>(rank), shape, op.name));
}

// attrs: axis, batch_dims (negative ones count from the end of params and indices).
TensorPtr gather_forward(const OpDef& op, const TensorPtr* in, const OpArguments& args) {
  if (args.ints.size() != 2)
    throw ValueError(std::string(op.name) + ": expected (axis, batch_dims), got " +
                     std::to_string(args.ints.size()) + " integers");
  const TensorPtr& params = in[0];
  const TensorPtr& indices = in[1];
  check_index_dtype(indices, op.name);
  int64_t batch_dims = args.ints[1], axis = args.ints[0];
  if (batch_dims < 0) batch_dims += indices->rank();
  if (batch_dims < 0 || batch_dims > indices->rank())
    throw ValueError(std::string(op.name) + ": batch_dims " + std::to_string(args.ints[1]) +
                     " is out of range for indices of shape " + indices->shape().str() +
                     " (expected -" + std::to_string(indices->rank()) + " <= batch_dims <= " +
                     std::to_string(indices->rank()) + ")");
  if (axis < 0) axis += params->rank();
  if (axis < 0 || axis >= params->rank())
    throw ValueError(std::string(op.name) + ": axis " + std::to_string(args.ints[0]) +
                     " is out of range for params of shape " + params->shape().str() + " (expected -" +
                     std::to_string(params->rank()) + " <= axis < " + std::to_string(params->rank()) + ")");
  if (axis < batch_dims)
    throw ValueError(std::string(op.name) + ": axis " + std::to_string(args.ints[0]) +
                     " must not be less than batch_dims " + std::to_string(batch_dims) +
                     " (params of shape " + params->shape().str() + ")");
  return gather(params, indices, static_cast<int>(axis), static_cast<int>(batch_dims), 0);
}

// attrs: axis, batch_dims, then the params' shape.
TensorPtr gather_grad_forward(const OpDef& op, const TensorPtr* in, const OpArguments& args) {
  if (args.ints.size() < 2)
    throw ValueError(std::string(op.name) + ": expected axis, batch_dims and the params' shape");
  const Shape shape = shape_from(args.ints.data() + 2, args.ints.size() - 2, op.name, "the params' shape");
  check_index_dtype(in[1], op.name);
  const int64_t axis = args.ints[0], batch_dims = args.ints[1];
  if (batch_dims < 0 || batch_dims > in[1]->rank() || axis < batch_dims || axis >= shape.rank)
    throw ValueError(std::string(op.name) + ": axis " + std::to_string(axis) + " and batch_dims " +
                     std::to_string(batch_dims) + " do not fit params of shape " + shape.str() +
                     " and indices of shape " + in[1]->shape().str());
  return gather_grad(in[0], in[1], shape, static_cast<int>(axis), static_cast<int>(batch_dims), 0);
}

// inputs: indices and [off_value, on_value] (of the result's dtype); attrs: depth, axis.
TensorPtr one_hot_forward(const OpDef& op, const TensorPtr* in, const OpArguments& args) {
  const TensorPtr& indices = in[0];
  const TensorPtr& values = in[1];
  check_index_dtype(indices, op.name);
  if (args.ints.size() != 2)
    throw ValueError(std::string(op.name) + ": expected (depth, axis), got " +
                     std::to_string(args.ints.size()) + " integers");
  if (values->numel() != 2)
    throw ValueError(std::string(op.name) + ": expected [off_value, on_value], got a tensor of shape " +
                     values->shape().str());
  const int64_t depth = args.ints[0];
  int64_t axis = args.ints[1];
  const int r = indices->rank();
  if (depth < 0)
    throw ValueError(std::string(op.name) + ": depth must be >= 0, got " + std::to_string(depth));
  if (axis == -1) axis = r;
  if (axis < 0 || axis > r)
    throw ValueError(std::string(op.name) + ": axis " + std::to_string(args.ints[1]) +
                     " is out of range for indices of shape " + indices->shape().str() +
                     " (expected -1 <= axis <= " + std::to_string(r) + ")");
  if (r + 1 > kMaxRank)
    throw ValueError(std::string(op.name) + ": indices of shape " + indices->shape().str() +
                     " give a result of rank " + std::to_string(r + 1) + "; the maximum is " +
                     std::to_string(kMaxRank));
  Shape out_shape;
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < r; ++d) {
    if (d == axis) out_shape.push_back(depth);
    out_shape.push_back(indices->shape().dims[d]);
    (d < axis ? outer : inner) *= indices->shape().dims[d];
  }
  if (axis == r) out_shape.push_back(depth);
  check_shape(out_shape, dtype_size(values->dtype()), op.name);
  TensorPtr out = TensorImpl::empty(values->dtype(), out_shape, op.name);
  if (out->numel() == 0) return out;
  const size_t size = dtype_size(values->dtype());
  const char* v = static_cast<const char*>(values->raw());
  if (indices->dtype() == DType::I32)
    kernels::one_hot(size, indices->data<int32_t>(), v + size, v, out->raw(), outer, depth, inner);
  else
    kernels::one_hot(size, indices->data<int64_t>(), v + size, v, out->raw(), outer, depth, inner);
  return out;
}

// Every entry here is internal with a private binding: the flags after the kernel are
// takes_integers, internal, variadic, private_binding.
constexpr OpDef kStridedSlice{
    "strided_slice", "Windows (begin, count, step) of each axis, reshaped to the given shape.",
    {"x", nullptr}, {{"spec", AttrKind::Ints}}, Saves::Nothing, strided_slice_rule,
    strided_slice_forward, 0, false, true, false, true};
constexpr OpDef kStridedSliceGrad{
    "strided_slice_grad", "Zeros of a shape with g written at windows (begin, count, step).",
    {"g", nullptr}, {{"spec", AttrKind::Ints}}, Saves::Nothing, strided_slice_grad_rule,
    strided_slice_grad_forward, 0, false, true, false, true};
constexpr OpDef kGather{
    "gather", "params' slices at indices along axis (attrs: axis, batch_dims).",
    {"params", "indices"}, {{"attrs", AttrKind::Ints}}, Saves::Inputs, gather_rule,
    gather_forward, 0, false, true, false, true};
constexpr OpDef kGatherGrad{
    "gather_grad", "Zeros of params' shape with g's rows added where gather took them.",
    {"g", "indices"}, {{"attrs", AttrKind::Ints}}, Saves::Inputs, gather_grad_rule,
    gather_grad_forward, 0, false, true, false, true};
// Not recorded (null rule): no gradient flows through one_hot, as in TensorFlow.
constexpr OpDef kOneHot{
    "one_hot", "on_value where indices equals the position along the new axis, else off_value.",
    {"indices", "values"}, {{"attrs", AttrKind::Ints}}, Saves::Nothing, nullptr, one_hot_forward,
    0, false, true, false, true};

constexpr const OpDef* kList[] = {&kStridedSlice, &kStridedSliceGrad, &kGather, &kGatherGrad,
                                  &kOneHot};

}  // namespace

const OpList kIndexingOps = {kList, sizeof(kList) / sizeof(kList[0])};

Shape SliceAxes::counts() const {
  Shape s;
  for (int d = 0; d < rank; ++d) s.push_back(count[d]);
  return s;
}

std::shared_ptr<const std::vector<int64_t>> SliceAxes::encode() const {
  auto v = std::make_shared<std::vector<int64_t>>();
  v->reserve(3 * static_cast<size_t>(rank));
  for (int d = 0; d < rank; ++d) v->insert(v->end(), {begin[d], count[d], step[d]});
  return v;
}

SliceAxes SliceAxes::decode(const std::vector<int64_t>& t) {
  SliceAxes s;
  s.rank = static_cast<int>(t.size() / 3);
  for (int d = 0; d < s.rank; ++d) {
    s.begin[d] = t[3 * d];
    s.count[d] = t[3 * d + 1];
    s.step[d] = t[3 * d + 2];
  }
  return s;
}

SliceAxes slice_axes(const int64_t* t, int rank, const Shape& in, const char* op) {
  SliceAxes s;
  s.rank = rank;
  for (int d = 0; d < rank; ++d) {
    const int64_t b = t[3 * d], c = t[3 * d + 1], st = t[3 * d + 2], n = in.dims[d];
    int64_t span = 0, last = 0;
    const bool bad = c < 0 || st == 0 ||
                     (c > 0 && (b < 0 || b >= n || __builtin_mul_overflow(c - 1, st, &span) ||
                                __builtin_add_overflow(b, span, &last) || last < 0 || last >= n));
    if (bad)
      throw ValueError(std::string(op) + ": the window (begin " + std::to_string(b) + ", count " +
                       std::to_string(c) + ", step " + std::to_string(st) + ") does not fit axis " +
                       std::to_string(d) + " of size " + std::to_string(n) + " (tensor of shape " +
                       in.str() + ")");
    s.begin[d] = c > 0 ? b : 0;
    s.count[d] = c;
    s.step[d] = st;
  }
  return s;
}

SliceAxes batched_axes(const SliceAxes& s, const TensorPtr& g) {
  const int lead = gradient_batch_axes();
  if (lead == 0) return s;
  if (s.rank + lead > kMaxRank)
    throw ValueError("strided_slice: a gradient of shape " + g->shape().str() + " has too many axes");
  SliceAxes b;
  b.rank = s.rank + lead;
  for (int d = 0; d < lead; ++d) {
    b.begin[d] = 0;
    b.count[d] = g->shape().dims[d];
    b.step[d] = 1;
  }
  for (int d = 0; d < s.rank; ++d) {
    b.begin[lead + d] = s.begin[d];
    b.count[lead + d] = s.count[d];
    b.step[lead + d] = s.step[d];
  }
  return b;
}

Shape batched_shape(const TensorPtr& g, const Shape& shape) {
  const std::vector<int64_t> dims = batched(g, shape);
  return shape_from(dims.data(), dims.size(), "gradient", "a batched shape");
}

TensorPtr strided_slice_impl(const TensorPtr& x, const SliceAxes& s, const Shape& out) {
  const char* name = kStridedSlice.name;
  const Shape counts = s.counts();
  if (s.rank != x->rank() || counts.numel() != out.numel())
    throw ValueError(std::string(name) + ": windows of sizes " + counts.str() + " do not give a result of shape " +
                     out.str() + " (tensor of shape " + x->shape().str() + ")");
  TensorPtr y = TensorImpl::empty(x->dtype(), out, name);
  if (y->numel() > 0) {
    int64_t strides[kMaxRank];
    const size_t size = dtype_size(x->dtype());
    const int64_t offset = window_plan(x->shape(), s, strides);
    kernels::gather_bytes(size, static_cast<const char*>(x->raw()) + offset * static_cast<int64_t>(size),
                          y->raw(), gather_plan(counts, strides));
  }
  OpAttrs attrs;
  if (tape_stack::any_active()) attrs.ints = s.encode();
  return recorded(kStridedSlice, {&x}, y, attrs);
}

TensorPtr strided_slice_grad_impl(const TensorPtr& g, const Shape& in_shape, const SliceAxes& s) {
  const char* name = kStridedSliceGrad.name;
  const Shape counts = s.counts();
  if (s.rank != in_shape.rank || counts.numel() != g->numel())
    throw ValueError(std::string(name) + ": windows of sizes " + counts.str() + " do not take a tensor of shape " +
                     g->shape().str());
  if (!is_floating(g->dtype()))
    throw TypeError(std::string(name) + ": expected a float32 or float64 gradient, got " + dtype_name(g->dtype()));
  TensorPtr out = TensorImpl::zeros(g->dtype(), in_shape, name);
  if (g->numel() > 0) {
    int64_t strides[kMaxRank];
    const size_t size = dtype_size(g->dtype());
    const int64_t offset = window_plan(in_shape, s, strides);
    kernels::scatter_bytes(size, g->raw(), static_cast<char*>(out->raw()) + offset * static_cast<int64_t>(size),
                           gather_plan(counts, strides));
  }
  OpAttrs attrs;
  if (tape_stack::any_active()) attrs.ints = s.encode();
  return recorded(kStridedSliceGrad, {&g}, out, attrs);
}

namespace {

// The [outer, batch, pre, n, k, row] split of a gather; ValueError naming `op` when params and
// indices do not fit together.
kernels::RowGather row_gather(const Shape& params, const Shape& indices, int axis, int batch_dims,
                              int lead, const char* op) {
  kernels::RowGather rg;
  if (lead < 0 || batch_dims < 0 || lead + batch_dims > axis || axis >= params.rank ||
      batch_dims > indices.rank)
    throw ValueError(std::string(op) + ": axis " + std::to_string(axis - lead) + " and batch_dims " +
                     std::to_string(batch_dims) + " do not fit params of shape " + params.str() +
                     " and indices of shape " + indices.str());
  for (int d = 0; d < batch_dims; ++d)
    if (params.dims[lead + d] != indices.dims[d])
      throw ValueError(std::string(op) + ": the first batch_dims=" + std::to_string(batch_dims) +
                       " dimensions of params (shape " + params.str() + ") and indices (shape " +
                       indices.str() + ") must be equal");
  for (int d = 0; d < lead; ++d) rg.outer *= params.dims[d];
  for (int d = lead; d < lead + batch_dims; ++d) rg.batch *= params.dims[d];
  for (int d = lead + batch_dims; d < axis; ++d) rg.pre *= params.dims[d];
  rg.n = params.dims[axis];
  rg.k = 1;
  for (int d = batch_dims; d < indices.rank; ++d) rg.k *= indices.dims[d];
  for (int d = axis + 1; d < params.rank; ++d) rg.row *= params.dims[d];
  return rg;
}

// params.shape[:axis] + indices.shape[batch_dims:] + params.shape[axis + 1:].
Shape gathered_shape(const Shape& params, const Shape& indices, int axis, int batch_dims, const char* op) {
  const int rank = params.rank - 1 + indices.rank - batch_dims;
  if (rank > kMaxRank)
    throw ValueError(std::string(op) + ": params of shape " + params.str() + " and indices of shape " +
                     indices.str() + " give a result of rank " + std::to_string(rank) +
                     "; the maximum is " + std::to_string(kMaxRank));
  Shape out;
  for (int d = 0; d < axis; ++d) out.push_back(params.dims[d]);
  for (int d = batch_dims; d < indices.rank; ++d) out.push_back(indices.dims[d]);
  for (int d = axis + 1; d < params.rank; ++d) out.push_back(params.dims[d]);
  return out;
}

// IndexError naming the first index outside [0, n), with its position in `indices`.
template <typename Index>
void check_indices(const TensorPtr& indices, int64_t n, const Shape& params, int axis, const char* op) {
  const Index* p = indices->data<Index>();
  const int64_t count = indices->numel();
  for (int64_t i = 0; i < count; ++i) {
    if (p[i] >= 0 && p[i] < n) continue;
    int64_t at[kMaxRank], rest = i;
    const Shape& s = indices->shape();
    for (int d = s.rank - 1; d >= 0; --d) {
      at[d] = rest % s.dims[d];
      rest /= s.dims[d];
    }
    throw IndexError(std::string(op) + ": indices" + ints_str(at, s.rank) + " = " +
                     std::to_string(static_cast<int64_t>(p[i])) + " is out of range for axis " +
                     std::to_string(axis) + " of params of shape " + params.str() +
                     " (expected 0 <= index < " + std::to_string(n) + ")");
  }
}

}  // namespace

TensorPtr gather_impl(const TensorPtr& params, const TensorPtr& indices, int axis, int batch_dims, int lead) {
  const char* name = kGather.name;
  check_index_dtype(indices, name);
  const kernels::RowGather rg = row_gather(params->shape(), indices->shape(), axis, batch_dims, lead, name);
  const Shape out_shape = gathered_shape(params->shape(), indices->shape(), axis, batch_dims, name);
  const bool i32 = indices->dtype() == DType::I32;
  // Every index is checked, even when the result is empty: a bad index is an error either way.
  if (i32) check_indices<int32_t>(indices, rg.n, params->shape(), axis - lead, name);
  else check_indices<int64_t>(indices, rg.n, params->shape(), axis - lead, name);
  check_shape(out_shape, dtype_size(params->dtype()), name);
  TensorPtr out = TensorImpl::empty(params->dtype(), out_shape, name);
  if (out->numel() > 0) {
    const size_t size = dtype_size(params->dtype());
    if (i32) kernels::gather_rows(size, params->raw(), indices->data<int32_t>(), out->raw(), rg);
    else kernels::gather_rows(size, params->raw(), indices->data<int64_t>(), out->raw(), rg);
  }
  OpAttrs attrs;
  if (tape_stack::any_active())
    attrs.ints = std::make_shared<const std::vector<int64_t>>(std::vector<int64_t>{axis, batch_dims, lead});
  return recorded(kGather, {&params, &indices}, out, attrs);
}

TensorPtr gather_grad_impl(const TensorPtr& g, const TensorPtr& indices, const Shape& params_shape,
                           int axis, int batch_dims, int lead) {
  const char* name = kGatherGrad.name;
  check_index_dtype(indices, name);
  if (!is_floating(g->dtype()))
    throw TypeError(std::string(name) + ": expected a float32 or float64 gradient, got " + dtype_name(g->dtype()));
  const kernels::RowGather rg = row_gather(params_shape, indices->shape(), axis, batch_dims, lead, name);
  const Shape want = gathered_shape(params_shape, indices->shape(), axis, batch_dims, name);
  if (g->shape() != want)
    throw ValueError(std::string(name) + ": expected a gradient of shape " + want.str() + ", got " +
                     g->shape().str());
  const bool i32 = indices->dtype() == DType::I32;
  if (i32) check_indices<int32_t>(indices, rg.n, params_shape, axis - lead, name);
  else check_indices<int64_t>(indices, rg.n, params_shape, axis - lead, name);
  TensorPtr out = TensorImpl::empty(g->dtype(), params_shape, name);
  if (out->numel() > 0) {
    visit_dtype(g->dtype(), [&](auto zero) {
      using T = decltype(zero);
      if (i32) kernels::scatter_add_rows(g->data<T>(), indices->data<int32_t>(), out->data<T>(), rg);
      else kernels::scatter_add_rows(g->data<T>(), indices->data<int64_t>(), out->data<T>(), rg);
    });
  }
  OpAttrs attrs;
  if (tape_stack::any_active())
    attrs.ints = std::make_shared<const std::vector<int64_t>>(std::vector<int64_t>{axis, batch_dims, lead});
  return recorded(kGatherGrad, {&g, &indices}, out, attrs);
}

// The C++ API: each runs through call_closure, so a trace replays it with the same arguments.
TensorPtr strided_slice(const TensorPtr& x, const SliceAxes& s, const Shape& out) {
  return call_closure(kStridedSlice, {x}, [s, out](const TensorPtr* in) {
    return strided_slice_impl(in[0], s, out);
  });
}

TensorPtr strided_slice_grad(const TensorPtr& g, const Shape& in_shape, const SliceAxes& s) {
  return call_closure(kStridedSliceGrad, {g}, [in_shape, s](const TensorPtr* in) {
    return strided_slice_grad_impl(in[0], in_shape, s);
  });
}

TensorPtr gather(const TensorPtr& params, const TensorPtr& indices, int axis, int batch_dims, int lead) {
  return call_closure(kGather, {params, indices}, [axis, batch_dims, lead](const TensorPtr* in) {
    return gather_impl(in[0], in[1], axis, batch_dims, lead);
  });
}

TensorPtr gather_grad(const TensorPtr& g, const TensorPtr& indices, const Shape& params_shape, int axis,
                      int batch_dims, int lead) {
  return call_closure(kGatherGrad, {g, indices},
                      [params_shape, axis, batch_dims, lead](const TensorPtr* in) {
                        return gather_grad_impl(in[0], in[1], params_shape, axis, batch_dims, lead);
                      });
}

}  // namespace tapegrad::ops

// Ops that move or relabel elements: reshape, transpose, broadcast_to, cast, identity and
// stop_gradient (forwards, rules and entries), and unbroadcast, the helper every broadcasting
// rule uses.
#include <algorithm>
#include <cstring>

#include "ops/ops.h"
#include "kernels/integer.h"
#include "ops/op_util.h"

namespace tapegrad::ops {
namespace {

// out[...] = x[...] by `plan`: the float tables' gathers, or a move of raw elements.
void gather(const TensorPtr& x, const TensorPtr& out, const kernels::GatherPlan& plan) {
  if (!is_floating(x->dtype()))
    return kernels::gather_bytes(dtype_size(x->dtype()), x->raw(), out->raw(), plan);
  const auto& k = kernels::active();
  visit_dtype(x->dtype(), [&](auto zero) {
    using T = decltype(zero);
    k.get<T>().gather(x->data<T>(), out->data<T>(), plan);
  });
}

std::string vec_str(const std::vector<int64_t>& v) {
  std::string out = "(";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out + (v.size() == 1 ? ",)" : ")");
}

using E = TapeEntry;
using G = TensorPtr;

void reshape_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = reshape(g, batched(g, e.in_shape[0]));
}

// The inverse permutation, behind g's batch axes (which stay in front).
void transpose_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[0]) return;
  const int batch = gradient_batch_axes();
  std::vector<int64_t> inverse(batch + e.in_shape[0].rank);
  for (int d = 0; d < batch; ++d) inverse[d] = d;
  for (int d = 0; d < e.in_shape[0].rank; ++d) inverse[batch + e.attrs.perm[d]] = batch + d;
  out[0] = transpose(g, &inverse);
}

void cast_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = cast(g, e.in_dtype[0]);
}

void broadcast_to_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = unbroadcast(g, e.in_shape[0]);
}

void identity_rule(const E&, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = g;
}

// A new tensor object over x's storage: a tape gives it a slot of its own.
TensorPtr identity_forward(const OpDef& op, const TensorPtr* in, const OpArguments&) {
  const TensorPtr& x = in[0];
  TensorPtr out = TensorImpl::view(x, x->shape());
  return recorded(op, {&x}, out);
}

TensorPtr reshape_impl(const TensorPtr& x, const std::vector<int64_t>& target);
TensorPtr transpose_impl(const TensorPtr& x, const std::vector<int64_t>* perm_in);
TensorPtr broadcast_to_impl(const TensorPtr& x, const Shape& shape);
TensorPtr cast_impl(const TensorPtr& x, DType dtype);

TensorPtr reshape_forward(const OpDef&, const TensorPtr* in, const OpArguments& args) {
  return reshape_impl(in[0], args.ints);
}

TensorPtr transpose_forward(const OpDef&, const TensorPtr* in, const OpArguments& args) {
  return transpose_impl(in[0], args.has_ints ? &args.ints : nullptr);
}

TensorPtr broadcast_to_forward(const OpDef&, const TensorPtr* in, const OpArguments& args) {
  Shape shape;
  for (int64_t d : args.ints) shape.push_back(d);  // the bindings checked the rank
  return broadcast_to_impl(in[0], shape);
}

TensorPtr cast_forward(const OpDef&, const TensorPtr* in, const OpArguments& args) {
  return cast_impl(in[0], args.dtype);
}

constexpr OpDef kReshape{"reshape", "Same elements, new shape (one -1 allowed).",
                         {"x", nullptr}, {{"shape", AttrKind::Ints}},
                         Saves::Nothing, reshape_rule, reshape_forward, 0};
constexpr OpDef kTranspose{"transpose", "Permute the axes (default: reverse them).",
                           {"x", nullptr}, {{"perm", AttrKind::OptionalInts}},
                           Saves::Nothing, transpose_rule, transpose_forward, 0};
constexpr OpDef kCast{"cast", "Convert to float32 or float64.",
                      {"x", nullptr}, {{"dtype", AttrKind::DType}},
                      Saves::Nothing, cast_rule, cast_forward, 0};
constexpr OpDef kBroadcastTo{"broadcast_to", "Broadcast to a shape.",
                             {"x", nullptr}, {{"shape", AttrKind::Shape}},
                             Saves::Nothing, broadcast_to_rule, broadcast_to_forward, 0};

constexpr OpDef kIdentity{"identity", "The same values as a new tensor (its gradient is the incoming one).",
                          {"x", nullptr}, {}, Saves::Nothing, identity_rule, identity_forward, 0};
// Not recorded (null rule): nothing flows back through it.
constexpr OpDef kStopGradient{"stop_gradient",
                              "The same values, as a constant: no gradient flows back through it.",
                              {"x", nullptr}, {}, Saves::Nothing, nullptr, identity_forward, 0};

constexpr const OpDef* kList[] = {&kReshape, &kTranspose, &kCast, &kBroadcastTo, &kIdentity,
                                  &kStopGradient};

}  // namespace

const OpList kShapeOps = {kList, sizeof(kList) / sizeof(kList[0])};

TensorPtr reshape(const TensorPtr& x, const std::vector<int64_t>& target) {
  OpArguments args;
  args.has_ints = true;
  args.ints = target;
  return call_op(kReshape, &x, args);
}

TensorPtr transpose(const TensorPtr& x, const std::vector<int64_t>* perm) {
  OpArguments args;
  args.has_ints = perm != nullptr;
  if (perm) args.ints = *perm;
  return call_op(kTranspose, &x, args);
}

TensorPtr broadcast_to(const TensorPtr& x, const Shape& shape) {
  OpArguments args;
  args.has_ints = true;
  args.ints.assign(shape.dims, shape.dims + shape.rank);
  return call_op(kBroadcastTo, &x, args);
}

TensorPtr cast(const TensorPtr& x, DType dtype) {
  OpArguments args;
  args.dtype = dtype;
  return call_op(kCast, &x, args);
}

namespace {

TensorPtr reshape_impl(const TensorPtr& x, const std::vector<int64_t>& target) {
  const char* name = "reshape";
  if (target.size() > static_cast<size_t>(kMaxRank))
    throw ValueError(std::string(name) + ": cannot reshape shape " + x->shape().str() + " to " + vec_str(target) + ", rank " +
                     std::to_string(target.size()) + "; the maximum is " + std::to_string(kMaxRank));
  int infer = -1;
  int64_t known = 1;
  bool overflow = false;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == -1) {
      if (infer >= 0)
        throw ValueError(std::string(name) + ": only one -1 is allowed in the target shape, got " +
                         vec_str(target) + " for a tensor of shape " + x->shape().str());
      infer = static_cast<int>(i);
    } else if (target[i] < 0) {
      throw ValueError(std::string(name) + ": target shape " + vec_str(target) +
                       " has a negative dimension (only -1 is allowed); the tensor has shape " + x->shape().str());
    } else {
      overflow |= __builtin_mul_overflow(known, target[i], &known);
    }
  }
  const int64_t n = x->numel();
  Shape out;
  for (int64_t d : target) out.push_back(d);
  if (infer >= 0) {
    if (known == 0 || overflow || n % known != 0)
      throw ValueError(std::string(name) + ": cannot reshape a tensor of shape " +
                       x->shape().str() + " (" + std::to_string(n) + " elements) into " +
                       vec_str(target));
    out.dims[infer] = n / known;
  } else if (overflow || known != n) {
    throw ValueError(std::string(name) + ": cannot reshape a tensor of shape " + x->shape().str() +
                     " (" + std::to_string(n) + " elements) into " + vec_str(target));
  }
  check_shape(out, dtype_size(x->dtype()), name);  // an empty target may still be absurd
  TensorPtr y = TensorImpl::view(x, out);
  return recorded(kReshape, {&x}, y);
}

TensorPtr transpose_impl(const TensorPtr& x, const std::vector<int64_t>* perm_in) {
  const char* name = "transpose";
  const int r = x->rank();
  OpAttrs attrs;
  if (perm_in) {
    if (static_cast<int>(perm_in->size()) != r)
      throw ValueError(std::string(name) + ": perm " + vec_str(*perm_in) + " has " +
                       std::to_string(perm_in->size()) + " entries but the tensor of shape " +
                       x->shape().str() + " has rank " + std::to_string(r));
    uint32_t seen = 0;
    for (int d = 0; d < r; ++d) {
      int64_t p = (*perm_in)[d];
      if (p < 0) p += r;
      if (p < 0 || p >= r || (seen >> p & 1u))
        throw ValueError(std::string(name) + ": perm " + vec_str(*perm_in) +
                         " is not a permutation of the axes 0.." + std::to_string(r - 1) +
                         " of the tensor of shape " + x->shape().str());
      seen |= 1u << p;
      attrs.perm[d] = static_cast<int8_t>(p);
    }
  } else {
    for (int d = 0; d < r; ++d) attrs.perm[d] = static_cast<int8_t>(r - 1 - d);
  }
  int64_t in_strides[kMaxRank], gather_strides[kMaxRank];
  contiguous_strides(x->shape(), in_strides);
  Shape out_shape;
  for (int d = 0; d < r; ++d) {
    out_shape.push_back(x->shape().dims[attrs.perm[d]]);
    gather_strides[d] = in_strides[attrs.perm[d]];
  }
  TensorPtr out = TensorImpl::empty(x->dtype(), out_shape, name);
  if (out->numel() > 0) gather(x, out, gather_plan(out_shape, gather_strides));
  return recorded(kTranspose, {&x}, out, attrs);
}

TensorPtr broadcast_to_impl(const TensorPtr& x, const Shape& shape) {
  const char* name = "broadcast_to";
  const Shape& in = x->shape();
  bool ok = shape.rank >= in.rank;
  for (int d = 0; ok && d < in.rank; ++d) {
    const int64_t want = shape.dims[d + shape.rank - in.rank];
    ok = in.dims[d] == want || in.dims[d] == 1;
  }
  for (int d = 0; d < shape.rank; ++d) ok = ok && shape.dims[d] >= 0;
  if (!ok)
    throw ValueError(std::string(name) + ": cannot broadcast a tensor of shape " + in.str() +
                     " to shape " + shape.str() +
                     " (expected each dimension equal to the target's or 1, aligned from the right)");
  if (shape == in) return x;
  TensorPtr out = TensorImpl::empty(x->dtype(), shape, name);
  if (out->numel() > 0) {
    int64_t strides[kMaxRank];
    broadcast_strides(in, shape, strides);
    gather(x, out, gather_plan(shape, strides));
  }
  return recorded(kBroadcastTo, {&x}, out);
}

TensorPtr cast_impl(const TensorPtr& x, DType dtype) {
  if (x->dtype() == dtype) return x;
  TensorPtr out = TensorImpl::empty(dtype, x->shape(), "cast");
  const auto& k = kernels::active();
  if (x->dtype() == DType::F32 && dtype == DType::F64)
    k.cast_f32_to_f64(x->data<float>(), out->data<double>(), x->numel());
  else if (x->dtype() == DType::F64 && dtype == DType::F32)
    k.cast_f64_to_f32(x->data<double>(), out->data<float>(), x->numel());
  else
    kernels::convert(x->dtype(), x->raw(), dtype, out->raw(), x->numel());
  return recorded(kCast, {&x}, out);
}

}  // namespace

namespace {
thread_local int t_batch_axes = 0;
}  // namespace

BatchedGradients::BatchedGradients() : saved_(t_batch_axes) { t_batch_axes = 1; }
BatchedGradients::~BatchedGradients() { t_batch_axes = saved_; }
int gradient_batch_axes() { return t_batch_axes; }

std::vector<int64_t> batched(const TensorPtr& g, const Shape& shape) {
  std::vector<int64_t> out(g->shape().dims, g->shape().dims + t_batch_axes);
  out.insert(out.end(), shape.dims, shape.dims + shape.rank);
  return out;
}

TensorPtr unbroadcast(const TensorPtr& g, const Shape& shape) {
  const int batch = t_batch_axes;
  if (batch == 0 && g->shape() == shape) return g;
  // The axes after the batch ones that broadcasting added (lead) or stretched from 1.
  std::vector<int64_t> axes;
  const int lead = g->rank() - batch - shape.rank;
  for (int d = batch; d < g->rank(); ++d) {
    const int in = d - batch - lead;
    if (in < 0 || (shape.dims[in] == 1 && g->shape().dims[d] != 1)) axes.push_back(d);
  }
  TensorPtr s = axes.empty() ? g : reduce_sum(g, &axes, false);
  const std::vector<int64_t> target = batched(g, shape);
  if (s->rank() == static_cast<int>(target.size()) &&
      std::equal(target.begin(), target.end(), s->shape().dims))
    return s;
  return reshape(s, target);
}

}  // namespace tapegrad::ops

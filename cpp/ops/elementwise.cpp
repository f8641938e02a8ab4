// Elementwise ops with numpy broadcasting: add, subtract, multiply, divide, negative, square.
#include "ops/ops.h"
#include "core/parallel.h"
#include "ops/op_util.h"

namespace tapegrad::ops {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  Shape out;
  out.rank = a.rank > b.rank ? a.rank : b.rank;
  for (int d = 0; d < out.rank; ++d) {
    const int da = d - (out.rank - a.rank), db = d - (out.rank - b.rank);
    const int64_t x = da >= 0 ? a.dims[da] : 1, y = db >= 0 ? b.dims[db] : 1;
    if (x != y && x != 1 && y != 1)
      throw ValueError(std::string(op) + ": shapes " + a.str() + " and " + b.str() +
                       " cannot be broadcast together (dimension " + std::to_string(d) + ": " +
                       std::to_string(x) + " vs " + std::to_string(y) +
                       "; expected equal sizes or 1)");
    out.dims[d] = x == 1 ? y : x;
  }
  return out;
}

namespace {

TensorPtr binary(kernels::BinaryOp kop, OpKind kind, bool save, const TensorPtr& a,
                 const TensorPtr& b) {
  const char* name = op_name(kind);
  check_same_dtype(a, b, name);
  const Shape out_shape =
      a->shape() == b->shape() ? a->shape() : broadcast_shapes(a->shape(), b->shape(), name);
  TensorPtr out = TensorImpl::empty(a->dtype(), out_shape, name);
  if (out->numel() > 0) {
    const kernels::BinaryPlan plan = binary_plan(a->shape(), b->shape(), out_shape);
    LongRunning unlocked(static_cast<double>(out->numel()) >= kLongRunningWork);
    const auto& k = kernels::active();
    visit_dtype(a->dtype(), [&](auto zero) {
      using T = decltype(zero);
      if (plan.rank == 0) {
        k.get<T>().binary(kop, a->data<T>(), b->data<T>(), out->data<T>(), plan);
        return;
      }
      // Threads take slices of the outermost dimension; each writes its own part of out.
      const int64_t inner = out->numel() / plan.shape[0];
      const int64_t align = inner >= 16 ? 1 : 16;
      parallel_ranges(plan.shape[0], [&](int64_t lo, int64_t hi) {
        kernels::BinaryPlan part = plan;
        part.shape[0] = hi - lo;
        k.get<T>().binary(kop, a->data<T>() + lo * plan.stride_a[0],
                          b->data<T>() + lo * plan.stride_b[0], out->data<T>() + lo * inner, part);
      }, align, (threads::parallel_elements() + inner - 1) / inner);
    });
  }
  return recorded(kind, {&a, &b}, save, out);
}

TensorPtr unary(kernels::UnaryOp kop, OpKind kind, bool save, const TensorPtr& x) {
  TensorPtr out = TensorImpl::empty(x->dtype(), x->shape(), op_name(kind));
  const auto& k = kernels::active();
  LongRunning unlocked(static_cast<double>(x->numel()) >= kLongRunningWork);
  visit_dtype(x->dtype(), [&](auto zero) {
    using T = decltype(zero);
    parallel_ranges(x->numel(), [&](int64_t lo, int64_t hi) {
      k.get<T>().unary(kop, x->data<T>() + lo, out->data<T>() + lo, hi - lo);
    });
  });
  return recorded(kind, {&x}, save, out);
}

}  // namespace

// The bool says whether the backward rule needs the input values (see backward_rules.cpp).
TensorPtr add(const TensorPtr& a, const TensorPtr& b) {
  return binary(kernels::BinaryOp::Add, OpKind::Add, false, a, b);
}
TensorPtr subtract(const TensorPtr& a, const TensorPtr& b) {
  return binary(kernels::BinaryOp::Sub, OpKind::Subtract, false, a, b);
}
TensorPtr multiply(const TensorPtr& a, const TensorPtr& b) {
  return binary(kernels::BinaryOp::Mul, OpKind::Multiply, true, a, b);
}
TensorPtr divide(const TensorPtr& a, const TensorPtr& b) {
  return binary(kernels::BinaryOp::Div, OpKind::Divide, true, a, b);
}
TensorPtr negative(const TensorPtr& x) {
  return unary(kernels::UnaryOp::Neg, OpKind::Negative, false, x);
}
TensorPtr square(const TensorPtr& x) {
  return unary(kernels::UnaryOp::Square, OpKind::Square, true, x);
}

TensorPtr square_grad(const TensorPtr& x, const TensorPtr& g) {
  TensorPtr out = TensorImpl::empty(x->dtype(), x->shape(), "square gradient");
  const auto& k = kernels::active();
  LongRunning unlocked(static_cast<double>(x->numel()) >= kLongRunningWork);
  visit_dtype(x->dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* xp = x->data<T>();
    const T* gp = g->data<T>();
    T* op = out->data<T>();
    parallel_ranges(x->numel(), [&](int64_t lo, int64_t hi) {
      k.get<T>().square_grad(xp + lo, gp + lo, op + lo, hi - lo);
    });
  });
  return out;
}

TensorPtr scalar(DType dtype, double value) {
  return TensorImpl::full(dtype, Shape{}, value, "scalar");
}

}  // namespace tapegrad::ops

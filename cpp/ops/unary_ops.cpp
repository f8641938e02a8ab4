// Elementwise unary ops. Each is one entry: its kernel (kernels/elementwise_ops.h), what its rule
// reads, and the rule, written with ops. cpp/ops/README.md gives the recipe for adding one.
#include "ops/ops.h"
#include "core/parallel.h"
#include "ops/op_util.h"

#include <type_traits>

#include "kernels/integer.h"

namespace tapegrad::ops {
namespace {

// The forward every unary op shares: the op's kernel over x, in contiguous slices per thread.
TensorPtr unary_forward(const OpDef& op, const TensorPtr* in, const OpArguments&) {
  const TensorPtr& x = in[0];
  check_dtype(x, Accepts::Numbers, op.name);
  const auto kop = static_cast<kernels::UnaryOp>(op.kernel);
  TensorPtr out = TensorImpl::empty(x->dtype(), x->shape(), op.name);
  if (is_integer(x->dtype())) {
    visit_any_dtype(x->dtype(), [&](auto zero) {
      using T = decltype(zero);
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
        kernels::integer_kernels<T>().unary(kop, x->data<T>(), out->data<T>(), x->numel());
    });
    return out;
  }
  const auto& k = kernels::active();
  LongRunning unlocked(static_cast<double>(x->numel()) >= kLongRunningWork);
  visit_dtype(x->dtype(), [&](auto zero) {
    using T = decltype(zero);
    parallel_ranges(x->numel(), [&](int64_t lo, int64_t hi) {
      k.get<T>().unary(kop, x->data<T>() + lo, out->data<T>() + lo, hi - lo);
    });
  });
  return recorded(op, {&x}, out);
}

constexpr OpDef unary(const char* name, kernels::UnaryOp kernel, Saves saves, BackwardRule rule,
                      const char* doc) {
  return OpDef{name, doc, {"x", nullptr}, {}, saves, rule, unary_forward, static_cast<int>(kernel)};
}

using E = TapeEntry;
using G = TensorPtr;

void negative_rule(const E&, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = negative(g);
}

// d(x^2) = 2 x g
void square_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[0]) return;
  const G& x = e.saved[0];
  if (fused_ok() && g->shape() == x->shape() && g->dtype() == x->dtype()) {
    out[0] = square_grad(x, g);
  } else {
    out[0] = multiply(g, multiply(x, scalar(e.in_dtype[0], 2.0)));
  }
}

constexpr OpDef kNegative =
    unary("negative", kernels::UnaryOp::Neg, Saves::Nothing, negative_rule, "-x.");
constexpr OpDef kSquare =
    unary("square", kernels::UnaryOp::Square, Saves::Inputs, square_rule, "x * x, elementwise.");

constexpr const OpDef* kList[] = {&kNegative, &kSquare};

}  // namespace

const OpList kUnaryOps = {kList, sizeof(kList) / sizeof(kList[0])};

TensorPtr negative(const TensorPtr& x) { return unary_forward(kNegative, &x, no_arguments()); }
TensorPtr square(const TensorPtr& x) { return unary_forward(kSquare, &x, no_arguments()); }

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

}  // namespace tapegrad::ops

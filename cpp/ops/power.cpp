// pow, and the composite squared_difference (built of recorded ops, so never recorded itself).
#include <cmath>
#include <cstring>
#include <type_traits>

#include "core/parallel.h"
#include "kernels/integer.h"
#include "ops/ops.h"
#include "ops/op_util.h"

namespace tapegrad::ops {
namespace {

// Integer exponents up to this size, given as one number, are computed by repeated squaring:
// x ** 2 is square(x) exactly, and x ** 3 = x * x**2, x ** 4 = (x**2)**2 stay within an ulp or
// two (the C library's pow would be a function call per element for the same accuracy).
constexpr double kSquaringLimit = 4;

// The small integer exponent `y` holds, or 0 with *ok false: the repeated-squaring path applies
// only to a rank-0 float exponent whose value is an integer within kSquaringLimit.
int small_integer_exponent(const TensorPtr& y, bool* ok) {
  *ok = false;
  if (y->rank() != 0 || !is_floating(y->dtype())) return 0;
  const double v = y->item();
  if (!(std::fabs(v) <= kSquaringLimit) || v != std::floor(v)) return 0;
  *ok = true;
  return static_cast<int>(v);
}

// x ** n by repeated squaring, each step one kernel pass: the products of the sequence
// result *= p for the set bits of |n|, p *= p between them; then 1 / result for n < 0.
TensorPtr power_by_squaring(const TensorPtr& x, int n) {
  const char* name = "pow";
  if (n == 0) return TensorImpl::full(x->dtype(), x->shape(), 1.0, name);
  const auto& k = kernels::active();
  const int64_t count = x->numel();
  LongRunning unlocked(static_cast<double>(count) >= kLongRunningWork);
  TensorPtr result, p = x;
  visit_dtype(x->dtype(), [&](auto zero) {
    using T = decltype(zero);
    const auto& tk = k.get<T>();
    auto unary = [&](kernels::UnaryOp op, const TensorPtr& a) {
      TensorPtr out = TensorImpl::empty(x->dtype(), x->shape(), name);
      parallel_ranges(count, [&](int64_t lo, int64_t hi) {
        tk.unary(op, a->data<T>() + lo, out->data<T>() + lo, hi - lo);
      });
      return out;
    };
    auto product = [&](const TensorPtr& a, const TensorPtr& b) {
      TensorPtr out = TensorImpl::empty(x->dtype(), x->shape(), name);
      parallel_ranges(count, [&](int64_t lo, int64_t hi) {
        kernels::BinaryPlan plan;
        plan.rank = 1;
        plan.shape[0] = hi - lo;
        plan.stride_a[0] = plan.stride_b[0] = 1;
        tk.binary(kernels::BinaryOp::Mul, a->data<T>() + lo, b->data<T>() + lo,
                  out->data<T>() + lo, plan);
      });
      return out;
    };
    int m = n < 0 ? -n : n;
    while (m > 0) {
      if (m & 1) result = result ? product(result, p) : p;
      m >>= 1;
      if (m) p = unary(kernels::UnaryOp::Square, p);
    }
    if (n < 0) result = unary(kernels::UnaryOp::Reciprocal, result);
    if (result == x) {  // n == 1: a new tensor, as every op's result is
      result = TensorImpl::empty(x->dtype(), x->shape(), name);
      std::memcpy(result->raw(), x->raw(), x->nbytes());
    }
  });
  return result;
}

// x ** 0.5 as a square root, one kernel pass (the C library's pow is a call per element).
TensorPtr square_root(const TensorPtr& x) {
  TensorPtr out = TensorImpl::empty(x->dtype(), x->shape(), "pow");
  const auto& k = kernels::active();
  LongRunning unlocked(static_cast<double>(x->numel()) >= kLongRunningWork);
  visit_dtype(x->dtype(), [&](auto zero) {
    using T = decltype(zero);
    parallel_ranges(x->numel(), [&](int64_t lo, int64_t hi) {
      k.get<T>().unary(kernels::UnaryOp::PowHalf, x->data<T>() + lo, out->data<T>() + lo, hi - lo);
    });
  });
  return out;
}

// TensorFlow's error for an integer base: a negative integer power has no integer value.
void check_integer_exponents(const TensorPtr& y) {
  visit_any_dtype(y->dtype(), [&](auto zero) {
    using T = decltype(zero);
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      const T* v = y->data<T>();
      for (int64_t i = 0; i < y->numel(); ++i)
        if (v[i] < 0)
          throw ValueError(std::string("pow: integers to negative integer powers are not allowed (") +
                           dtype_name(y->dtype()) + " exponent " + std::to_string(v[i]) +
                           "); cast the base to a float dtype");
    }
  });
}

TensorPtr pow_apply(const OpDef& op, const TensorPtr& x, const TensorPtr& y) {
  check_same_dtype(x, y, op.name);
  check_dtype(x, Accepts::Numbers, op.name);
  if (is_integer(y->dtype())) check_integer_exponents(y);
  bool small = false;
  const int n = small_integer_exponent(y, &small);
  if (small) return recorded(op, {&x, &y}, power_by_squaring(x, n));
  if (y->rank() == 0 && is_floating(y->dtype()) && y->item() == 0.5)
    return recorded(op, {&x, &y}, square_root(x));
  return binary_kernel(op, x, y);
}

TensorPtr pow_forward(const OpDef& op, const TensorPtr* in, const OpArguments&) {
  return pow_apply(op, in[0], in[1]);
}

using E = TapeEntry;
using G = TensorPtr;

// TensorFlow's gradient: y x^(y-1) g for x, and x^y log(x) g for y with log(x) taken as 0 where
// x <= 0 (no real logarithm there). Both products are 0 wherever g is 0, even where the factor
// is infinite (multiply_no_nan). log reads x only where x > 0 (1 elsewhere), so its own
// gradient stays finite for higher orders.
void pow_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  const G& x = e.saved[0];
  const G& y = e.saved[1];
  const G one = scalar(x->dtype(), 1.0);
  if (need[0]) out[0] = unbroadcast(multiply_no_nan(multiply(y, pow(x, subtract(y, one))), g), e.in_shape[0]);
  if (need[1]) {
    const G positive = step(x);
    const G safe_x = add(multiply_no_nan(x, positive), subtract(one, positive));
    out[1] = unbroadcast(multiply_no_nan(multiply(e.saved_output, log(safe_x)), g), e.in_shape[1]);
  }
}

constexpr OpDef kPow{"pow",
                     "x ** y, elementwise, broadcasting: any real exponent for floats (NaN for a "
                     "negative base with a non-integer exponent), non-negative ones for integers.",
                     {"x", "y"}, {}, Saves::InputsAndOutput, pow_rule, pow_forward,
                     static_cast<int>(kernels::BinaryOp::Pow), true};

// The checks of its parts, made first so that errors name this op.
TensorPtr squared_difference_forward(const OpDef& op, const TensorPtr* in, const OpArguments&) {
  check_same_dtype(in[0], in[1], op.name);
  check_dtype(in[0], Accepts::Numbers, op.name);
  if (in[0]->shape() != in[1]->shape()) broadcast_shapes(in[0]->shape(), in[1]->shape(), op.name);
  return square(subtract(in[0], in[1]));
}

constexpr OpDef kSquaredDifference{"squared_difference", "(x - y) ** 2, elementwise, broadcasting.",
                                   {"x", "y"}, {}, Saves::Nothing, nullptr,
                                   squared_difference_forward, 0};

constexpr const OpDef* kList[] = {&kPow, &kSquaredDifference};

}  // namespace

const OpList kCompositeOps = {kList, sizeof(kList) / sizeof(kList[0])};

TensorPtr pow(const TensorPtr& x, const TensorPtr& y) {
  const TensorPtr in[2] = {x, y};
  return call_op(kPow, in, no_arguments());
}

TensorPtr scalar(DType dtype, double value) {
  return TensorImpl::full(dtype, Shape{}, value, "scalar");
}

}  // namespace tapegrad::ops

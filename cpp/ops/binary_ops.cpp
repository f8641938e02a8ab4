// Elementwise binary ops with numpy broadcasting. Each is one entry: its kernel
// (kernels/elementwise_ops.h), what its rule reads, and the rule, written with ops.
#include "ops/ops.h"
#include "core/parallel.h"
#include "ops/op_util.h"

#include <type_traits>

#include "kernels/integer.h"

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

// What every binary op computes: the op's kernel over the broadcast iteration plan.
TensorPtr binary_kernel(const OpDef& op, const TensorPtr& a, const TensorPtr& b) {
  const auto kop = static_cast<kernels::BinaryOp>(op.kernel);
  check_same_dtype(a, b, op.name);
  check_dtype(a, op.takes_integers ? Accepts::Numbers : Accepts::Floats, op.name);
  const Shape out_shape =
      a->shape() == b->shape() ? a->shape() : broadcast_shapes(a->shape(), b->shape(), op.name);
  TensorPtr out = TensorImpl::empty(a->dtype(), out_shape, op.name);
  if (out->numel() > 0 && is_integer(a->dtype())) {
    const kernels::BinaryPlan plan = binary_plan(a->shape(), b->shape(), out_shape);
    visit_any_dtype(a->dtype(), [&](auto zero) {
      using T = decltype(zero);
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
        kernels::integer_kernels<T>().binary(kop, a->data<T>(), b->data<T>(), out->data<T>(), plan);
    });
  } else if (out->numel() > 0) {
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
  return recorded(op, {&a, &b}, out);
}

namespace {

TensorPtr binary_apply(const OpDef& op, const TensorPtr& a, const TensorPtr& b) {
  const TensorPtr in[2] = {a, b};
  return call_op(op, in, no_arguments());
}

TensorPtr binary_forward(const OpDef& op, const TensorPtr* in, const OpArguments&) {
  return binary_kernel(op, in[0], in[1]);
}

constexpr OpDef binary(const char* name, kernels::BinaryOp kernel, Saves saves, BackwardRule rule,
                       const char* doc, bool takes_integers = true, bool internal = false) {
  return OpDef{name, doc, {"x", "y"}, {}, saves, rule, binary_forward, static_cast<int>(kernel),
               takes_integers, internal};
}

// Integer floor division and remainder have no value for a zero divisor: a ValueError, as
// TensorFlow's "Integer division by zero" error (floats give inf or NaN, as IEEE division).
TensorPtr integer_division_forward(const OpDef& op, const TensorPtr* in, const OpArguments&) {
  const TensorPtr& y = in[1];
  if (in[0]->dtype() == y->dtype() && is_integer(y->dtype())) {
    visit_any_dtype(y->dtype(), [&](auto zero) {
      using T = decltype(zero);
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        const T* v = y->data<T>();
        for (int64_t i = 0; i < y->numel(); ++i)
          if (v[i] == 0)
            throw ValueError(std::string(op.name) + ": integer division by zero (the divisor y has "
                             "a zero at flat index " + std::to_string(i) + ")");
      }
    });
  }
  return binary_kernel(op, in[0], in[1]);
}

using E = TapeEntry;
using G = TensorPtr;

void add_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = unbroadcast(g, e.in_shape[0]);
  if (need[1]) out[1] = unbroadcast(g, e.in_shape[1]);
}

void subtract_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = unbroadcast(g, e.in_shape[0]);
  // Negated after the sum, over the smaller tensor: the same bits (negation is exact).
  if (need[1]) out[1] = negative(unbroadcast(g, e.in_shape[1]));
}

void multiply_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = unbroadcast(multiply(g, e.saved[1]), e.in_shape[0]);
  if (need[1]) out[1] = unbroadcast(multiply(g, e.saved[0]), e.in_shape[1]);
}

// d(a/b) = g/b, -g*a/b^2
void divide_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  const G g_over_b = divide(g, e.saved[1]);
  if (need[0]) out[0] = unbroadcast(g_over_b, e.in_shape[0]);
  if (need[1])
    out[1] = unbroadcast(negative(divide(multiply(g_over_b, e.saved[0]), e.saved[1])),
                         e.in_shape[1]);
}

// The gradient goes to x where `mask` (x's side wins, ties included: TensorFlow's convention)
// and to y elsewhere.
void select_rule(const E& e, const G& g, const G& mask_bool, const bool need[2], G out[2]) {
  const G mask = cast(mask_bool, g->dtype());
  if (need[0]) out[0] = unbroadcast(multiply(g, mask), e.in_shape[0]);
  if (need[1])
    out[1] = unbroadcast(multiply(g, subtract(scalar(g->dtype(), 1.0), mask)), e.in_shape[1]);
}

// TensorFlow's FloorMod gradient: x - floor(x / y) y, with floor(x / y) piecewise constant.
void mod_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = unbroadcast(g, e.in_shape[0]);
  if (need[1])
    out[1] = unbroadcast(multiply(g, negative(floordiv(e.saved[0], e.saved[1]))), e.in_shape[1]);
}

// d(x y) with 0 where y is 0, and for y where g is 0 (TensorFlow's MulNoNan gradient).
void multiply_no_nan_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = unbroadcast(multiply_no_nan(g, e.saved[1]), e.in_shape[0]);
  if (need[1]) out[1] = unbroadcast(multiply_no_nan(e.saved[0], g), e.in_shape[1]);
}

// d(x / y) with 0 where y is 0 (TensorFlow's DivNoNan gradient).
void divide_no_nan_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  const G& x = e.saved[0];
  const G& y = e.saved[1];
  if (need[0]) out[0] = unbroadcast(divide_no_nan(g, y), e.in_shape[0]);
  if (need[1])
    out[1] = unbroadcast(multiply(g, divide_no_nan(divide_no_nan(negative(x), y), y)), e.in_shape[1]);
}

void maximum_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  select_rule(e, g, greater_equal(e.saved[0], e.saved[1]), need, out);
}

void minimum_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  select_rule(e, g, less_equal(e.saved[0], e.saved[1]), need, out);
}

constexpr OpDef kAdd = binary("add", kernels::BinaryOp::Add, Saves::Nothing, add_rule,
                              "x + y with numpy broadcasting.");
constexpr OpDef kSubtract = binary("subtract", kernels::BinaryOp::Sub, Saves::Nothing,
                                   subtract_rule, "x - y with numpy broadcasting.");
constexpr OpDef kMultiply = binary("multiply", kernels::BinaryOp::Mul, Saves::Inputs,
                                   multiply_rule, "x * y with numpy broadcasting.");
constexpr OpDef kDivide = binary("divide", kernels::BinaryOp::Div, Saves::Inputs, divide_rule,
                                 "x / y with numpy broadcasting.", false);

constexpr OpDef kMaximum = binary("maximum", kernels::BinaryOp::Max, Saves::Inputs, maximum_rule,
                                  "The larger of x and y, elementwise (NaN if either is).");
constexpr OpDef kMinimum = binary("minimum", kernels::BinaryOp::Min, Saves::Inputs, minimum_rule,
                                  "The smaller of x and y, elementwise (NaN if either is).");

// floor(x / y) and its remainder; integers with Python's semantics (the remainder takes the
// divisor's sign). floordiv is piecewise constant: not recorded, its gradient is None.
constexpr OpDef kFloorDiv{"floordiv",
                          "floor(x / y), elementwise, broadcasting; integer division rounds toward "
                          "-inf, and a zero integer divisor is a ValueError.",
                          {"x", "y"}, {}, Saves::Nothing, nullptr, integer_division_forward,
                          static_cast<int>(kernels::BinaryOp::FloorDiv), true};
constexpr OpDef kMod{"mod",
                     "The remainder of floor division, x - floor(x / y) * y, with the sign of y; "
                     "a zero integer divisor is a ValueError.",
                     {"x", "y"}, {}, Saves::Inputs, mod_rule, integer_division_forward,
                     static_cast<int>(kernels::BinaryOp::Mod), true};
// Helpers of backward rules (pow, cumprod): products and quotients that are 0 where y is 0.
constexpr OpDef kMultiplyNoNan = binary("multiply_no_nan", kernels::BinaryOp::MulNoNan, Saves::Inputs,
                                        multiply_no_nan_rule, "x * y, 0 where y is 0.", false, true);
constexpr OpDef kDivideNoNan = binary("divide_no_nan", kernels::BinaryOp::DivNoNan, Saves::Inputs,
                                      divide_no_nan_rule, "x / y, 0 where y is 0.", false, true);

constexpr const OpDef* kList[] = {&kAdd,      &kSubtract, &kMultiply,      &kDivide,      &kMaximum,
                                  &kMinimum,  &kFloorDiv, &kMod,           &kMultiplyNoNan,
                                  &kDivideNoNan};

}  // namespace

const OpList kBinaryOps = {kList, sizeof(kList) / sizeof(kList[0])};

TensorPtr add(const TensorPtr& a, const TensorPtr& b) { return binary_apply(kAdd, a, b); }
TensorPtr subtract(const TensorPtr& a, const TensorPtr& b) { return binary_apply(kSubtract, a, b); }
TensorPtr multiply(const TensorPtr& a, const TensorPtr& b) { return binary_apply(kMultiply, a, b); }
TensorPtr divide(const TensorPtr& a, const TensorPtr& b) { return binary_apply(kDivide, a, b); }
TensorPtr maximum(const TensorPtr& a, const TensorPtr& b) { return binary_apply(kMaximum, a, b); }
TensorPtr minimum(const TensorPtr& a, const TensorPtr& b) { return binary_apply(kMinimum, a, b); }
TensorPtr floordiv(const TensorPtr& a, const TensorPtr& b) {
  const TensorPtr in[2] = {a, b};
  return call_op(kFloorDiv, in, no_arguments());
}
TensorPtr mod(const TensorPtr& a, const TensorPtr& b) {
  const TensorPtr in[2] = {a, b};
  return call_op(kMod, in, no_arguments());
}
TensorPtr multiply_no_nan(const TensorPtr& a, const TensorPtr& b) {
  return binary_apply(kMultiplyNoNan, a, b);
}
TensorPtr divide_no_nan(const TensorPtr& a, const TensorPtr& b) {
  return binary_apply(kDivideNoNan, a, b);
}

bool is_binary_kernel_op(const OpDef& op) { return op.forward == binary_forward; }

}  // namespace tapegrad::ops

// Elementwise unary ops. Each is one entry: its kernel (kernels/elementwise_ops.h), what its rule
// reads, and the rule, written with ops. cpp/ops/README.md gives the recipe for adding one.
#include "ops/ops.h"
#include "core/long_running.h"
#include "core/parallel.h"
#include "ops/op_util.h"

#include <type_traits>

#include "kernels/integer.h"

namespace tapegrad::ops {
namespace {

// A new tensor holding the unary kernel `kop` applied to x: the float tables' kernel in
// contiguous slices per thread, or the integer kernel.
TensorPtr apply_kernel(kernels::UnaryOp kop, const TensorPtr& x, const char* name) {
  TensorPtr out = TensorImpl::empty(x->dtype(), x->shape(), name);
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
  return out;
}

// The forward every unary op shares: its kernel over x.
TensorPtr unary_forward(const OpDef& op, const TensorPtr* in, const OpArguments&) {
  const TensorPtr& x = in[0];
  check_dtype(x, op.takes_integers ? Accepts::Numbers : Accepts::Floats, op.name);
  return recorded(op, {&x}, apply_kernel(static_cast<kernels::UnaryOp>(op.kernel), x, op.name));
}

constexpr OpDef unary(const char* name, kernels::UnaryOp kernel, Saves saves, BackwardRule rule,
                      const char* doc, bool takes_integers = false, bool internal = false) {
  return OpDef{name,  doc,           {"x", nullptr},         {},    saves, rule, unary_forward,
               static_cast<int>(kernel), takes_integers, internal};
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
    count_shortcut(Shortcut::SquareGrad);
    out[0] = square_grad(x, g);
  } else {
    out[0] = multiply(g, multiply(x, scalar(e.in_dtype[0], 2.0)));
  }
}

// Scalars of x's dtype for the rules.
G one(const E& e) { return scalar(e.in_dtype[0], 1.0); }

// d(e^x) = e^x g
void exp_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = multiply(g, e.saved_output);
}

// d(e^x - 1) = (y + 1) g
void expm1_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = multiply(g, add(e.saved_output, one(e)));
}

// d(log x) = g / x
void log_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = divide(g, e.saved[0]);
}

// d(log(1 + x)) = g / (1 + x)
void log1p_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = divide(g, add(e.saved[0], one(e)));
}

// d(sqrt x) = g / (2 y)
void sqrt_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = divide(multiply(g, scalar(e.in_dtype[0], 0.5)), e.saved_output);
}

// d(x^-1/2) = -y^3 g / 2
void rsqrt_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[0]) return;
  const G& y = e.saved_output;
  out[0] = multiply(multiply(g, scalar(e.in_dtype[0], -0.5)), multiply(square(y), y));
}

// d(1/x) = -y^2 g
void reciprocal_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = negative(multiply(g, square(e.saved_output)));
}

// d|x| = sign(x) g (0 at 0, as TensorFlow)
void abs_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = multiply(g, sign(e.saved[0]));
}

// sign is piecewise constant: a zero gradient (not None), as TensorFlow. g has x's shape (after
// any batch axes): the op is elementwise.
void zero_rule(const E&, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = TensorImpl::zeros(g->dtype(), g->shape(), "gradient");
}

void sin_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = multiply(g, cos(e.saved[0]));
}

void cos_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = negative(multiply(g, sin(e.saved[0])));
}

// d(tanh x) = (1 - y^2) g
void tanh_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = multiply(g, subtract(one(e), square(e.saved_output)));
}

// d(sigmoid x) = y (1 - y) g
void sigmoid_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[0]) return;
  const G& y = e.saved_output;
  out[0] = multiply(g, multiply(y, subtract(one(e), y)));
}

// d(softplus x) = sigmoid(x) g
void softplus_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = multiply(g, sigmoid(e.saved[0]));
}

// d(relu x) = g where x > 0 (0 at 0, as TensorFlow)
void relu_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = multiply(g, step(e.saved[0]));
}

// d(relu6 x) = g where 0 < x < 6
void relu6_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[0]) return;
  const G& x = e.saved[0];
  out[0] = multiply(g, multiply(step(x), step(subtract(scalar(e.in_dtype[0], 6.0), x))));
}

// d(elu x) = g for x > 0, (y + 1) g below: min(y, 0) + 1 covers both without a mask (and stays
// finite at x = +inf).
void elu_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[0]) return;
  const G& y = e.saved_output;
  out[0] = multiply(g, add(minimum(y, scalar(y->dtype(), 0.0)), one(e)));
}

// d(erf x) = 2 / sqrt(pi) e^(-x^2) g
void erf_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[0]) return;
  const G& x = e.saved[0];
  out[0] = multiply(g, multiply(scalar(x->dtype(), 1.12837916709551257390), exp(negative(square(x)))));
}

// d(x Phi(x)) = Phi(x) + x phi(x); for the tanh form with u = c (x + k x^3), t = tanh(u):
// (1 + t) / 2 + x (1 - t^2) c (1 + 3 k x^2) / 2.
void gelu_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[0]) return;
  const G& x = e.saved[0];
  const DType d = x->dtype();
  auto c = [&](double v) { return scalar(d, v); };
  G slope;
  if (!e.attrs.approximate) {
    const G cdf = multiply(c(0.5), add(c(1.0), erf(multiply(x, c(0.70710678118654752440)))));
    const G pdf = multiply(c(0.39894228040143267794), exp(multiply(square(x), c(-0.5))));
    slope = add(cdf, multiply(x, pdf));
  } else {
    const G x2 = square(x);
    const G u = multiply(c(0.79788456080286535588), add(x, multiply(c(0.044715), multiply(x2, x))));
    const G t = tanh(u);
    const G du = multiply(c(0.79788456080286535588), add(c(1.0), multiply(c(3 * 0.044715), x2)));
    slope = add(multiply(c(0.5), add(c(1.0), t)),
                multiply(multiply(c(0.5), x), multiply(subtract(c(1.0), square(t)), du)));
  }
  out[0] = multiply(g, slope);
}

TensorPtr gelu_forward(const OpDef& op, const TensorPtr* in, const OpArguments& args) {
  const TensorPtr& x = in[0];
  check_dtype(x, Accepts::Floats, op.name);
  const auto kop = args.flags[0] ? kernels::UnaryOp::GeluTanh : kernels::UnaryOp::Gelu;
  const TensorPtr out = apply_kernel(kop, x, op.name);
  OpAttrs attrs;
  attrs.approximate = args.flags[0];
  return recorded(op, {&x}, out, attrs);
}

// x where x > 0, alpha x elsewhere, as x (step(x) + (1 - step(x)) alpha): each factor is exactly
// 1 or alpha. Composite: its gradient, 1 or alpha (alpha at 0, as TensorFlow), comes from the ops.
TensorPtr leaky_relu_forward(const OpDef& op, const TensorPtr* in, const OpArguments& args) {
  const TensorPtr& x = in[0];
  check_dtype(x, Accepts::Floats, op.name);
  const TensorPtr s = step(x);
  const TensorPtr one_minus = subtract(scalar(x->dtype(), 1.0), s);
  return multiply(x, add(s, multiply(one_minus, scalar(x->dtype(), args.number))));
}

using kernels::UnaryOp;

constexpr OpDef kNegative = unary("negative", UnaryOp::Neg, Saves::Nothing, negative_rule, "-x.", true);
constexpr OpDef kSquare =
    unary("square", UnaryOp::Square, Saves::Inputs, square_rule, "x * x, elementwise.", true);
constexpr OpDef kExp = unary("exp", UnaryOp::Exp, Saves::Output, exp_rule, "e ** x, elementwise.");
constexpr OpDef kExpm1 =
    unary("expm1", UnaryOp::Expm1, Saves::Output, expm1_rule, "e ** x - 1, accurate near 0.");
constexpr OpDef kLog = unary("log", UnaryOp::Log, Saves::Inputs, log_rule, "Natural logarithm.");
constexpr OpDef kLog1p =
    unary("log1p", UnaryOp::Log1p, Saves::Inputs, log1p_rule, "log(1 + x), accurate near 0.");
constexpr OpDef kSqrt = unary("sqrt", UnaryOp::Sqrt, Saves::Output, sqrt_rule, "Square root.");
constexpr OpDef kRsqrt =
    unary("rsqrt", UnaryOp::Rsqrt, Saves::Output, rsqrt_rule, "1 / sqrt(x), elementwise.");
constexpr OpDef kReciprocal =
    unary("reciprocal", UnaryOp::Reciprocal, Saves::Output, reciprocal_rule, "1 / x, elementwise.");
constexpr OpDef kAbs = unary("abs", UnaryOp::Abs, Saves::Inputs, abs_rule, "|x|, elementwise.");
constexpr OpDef kSign =
    unary("sign", UnaryOp::Sign, Saves::Nothing, zero_rule, "-1, 0 or 1 by the sign of x (NaN stays NaN).");
constexpr OpDef kSin = unary("sin", UnaryOp::Sin, Saves::Inputs, sin_rule, "Sine (radians).");
constexpr OpDef kCos = unary("cos", UnaryOp::Cos, Saves::Inputs, cos_rule, "Cosine (radians).");
constexpr OpDef kTanh = unary("tanh", UnaryOp::Tanh, Saves::Output, tanh_rule, "Hyperbolic tangent.");
constexpr OpDef kSigmoid =
    unary("sigmoid", UnaryOp::Sigmoid, Saves::Output, sigmoid_rule, "1 / (1 + e ** -x), stable.");
constexpr OpDef kSoftplus =
    unary("softplus", UnaryOp::Softplus, Saves::Inputs, softplus_rule, "log(1 + e ** x), stable.");
// Piecewise constant with no useful derivative: not recorded, so their gradient is None.
constexpr OpDef kFloor = unary("floor", UnaryOp::Floor, Saves::Nothing, nullptr,
                               "The largest integer not above x (its gradient is None).");
constexpr OpDef kRound = unary("round", UnaryOp::Round, Saves::Nothing, nullptr,
                               "The nearest integer, halves to even (its gradient is None).");
constexpr OpDef kRelu = unary("relu", UnaryOp::Relu, Saves::Inputs, relu_rule, "max(x, 0).");
constexpr OpDef kRelu6 =
    unary("relu6", UnaryOp::Relu6, Saves::Inputs, relu6_rule, "min(max(x, 0), 6).");
constexpr OpDef kElu = unary("elu", UnaryOp::Elu, Saves::Output, elu_rule,
                             "x where x > 0, e ** x - 1 elsewhere.");
constexpr OpDef kErf = unary("erf", UnaryOp::Erf, Saves::Inputs, erf_rule, "The error function.");
constexpr OpDef kGelu{"gelu", "x Phi(x), Phi the standard normal CDF (approximate: its tanh form).",
                      {"features", nullptr}, {{"approximate", AttrKind::Bool}}, Saves::Inputs,
                      gelu_rule, gelu_forward, 0};
constexpr OpDef kLeakyRelu{"leaky_relu", "x where x > 0, alpha x elsewhere.", {"features", nullptr},
                           {{"alpha", AttrKind::OptionalNumber, 0.2}}, Saves::Nothing, nullptr,
                           leaky_relu_forward, 0};
constexpr OpDef kStep = unary("step", UnaryOp::Step, Saves::Nothing, nullptr,
                              "1 where x > 0, else 0: the derivative of relu.", false, true);

constexpr const OpDef* kList[] = {&kNegative, &kSquare, &kExp,  &kExpm1,   &kLog,      &kLog1p,
                                  &kSqrt,     &kRsqrt,  &kReciprocal, &kAbs, &kSign,   &kSin,
                                  &kCos,      &kTanh,   &kSigmoid, &kSoftplus, &kFloor, &kRound,
                                  &kRelu,     &kRelu6,  &kStep,    &kElu,      &kErf,   &kGelu,
                                  &kLeakyRelu};

}  // namespace

const OpList kUnaryOps = {kList, sizeof(kList) / sizeof(kList[0])};

TensorPtr negative(const TensorPtr& x) { return call_op(kNegative, &x, no_arguments()); }
TensorPtr square(const TensorPtr& x) { return call_op(kSquare, &x, no_arguments()); }
TensorPtr sign(const TensorPtr& x) { return call_op(kSign, &x, no_arguments()); }
TensorPtr sin(const TensorPtr& x) { return call_op(kSin, &x, no_arguments()); }
TensorPtr cos(const TensorPtr& x) { return call_op(kCos, &x, no_arguments()); }
TensorPtr sigmoid(const TensorPtr& x) { return call_op(kSigmoid, &x, no_arguments()); }
TensorPtr exp(const TensorPtr& x) { return call_op(kExp, &x, no_arguments()); }
TensorPtr tanh(const TensorPtr& x) { return call_op(kTanh, &x, no_arguments()); }
TensorPtr erf(const TensorPtr& x) { return call_op(kErf, &x, no_arguments()); }
TensorPtr log(const TensorPtr& x) { return call_op(kLog, &x, no_arguments()); }
TensorPtr step(const TensorPtr& x) { return call_op(kStep, &x, no_arguments()); }

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

bool is_unary_kernel_op(const OpDef& op) { return op.forward == unary_forward; }

}  // namespace tapegrad::ops

// Composite ops: built of recorded ops, so they are never recorded themselves and their gradients
// of any order come from the rules of the ops they run.
#include <cmath>

#include "ops/ops.h"
#include "ops/op_util.h"

namespace tapegrad::ops {

// x ** n for an integer n, by repeated squaring: the same sequence of products for every x.
TensorPtr power(const TensorPtr& x, double exponent) {
  if (exponent != std::floor(exponent) || std::fabs(exponent) > 1 << 20)
    throw ValueError("pow: only integer exponents are supported, got " +
                     std::to_string(exponent) + "; use square/multiply for other powers");
  if (exponent < 0 && !is_floating(x->dtype()))
    throw ValueError(std::string("pow: a negative exponent needs a float tensor, got ") +
                     dtype_name(x->dtype()) + "; convert with tapegrad.cast");
  if (x->dtype() == DType::Bool)
    throw TypeError("pow: bool tensors are not supported (expected float32, float64, int32 or "
                    "int64); convert with tapegrad.cast");
  int64_t n = static_cast<int64_t>(std::fabs(exponent));
  if (n == 0) return TensorImpl::full(x->dtype(), x->shape(), 1.0, "pow");
  TensorPtr result, p = x;
  while (n > 0) {
    if (n & 1) result = result ? multiply(result, p) : p;
    n >>= 1;
    if (n) p = square(p);
  }
  if (exponent < 0) result = divide(scalar(x->dtype(), 1.0), result);
  return result;
}

namespace {

TensorPtr power_forward(const OpDef&, const TensorPtr* in, const OpArguments& args) {
  return power(in[0], args.number);
}

constexpr OpDef kPow{"pow", "x ** n for an integer n.", {"x", nullptr},
                     {{"exponent", AttrKind::Number}}, Saves::Nothing, nullptr, power_forward, 0};

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

TensorPtr scalar(DType dtype, double value) {
  return TensorImpl::full(dtype, Shape{}, value, "scalar");
}

}  // namespace tapegrad::ops

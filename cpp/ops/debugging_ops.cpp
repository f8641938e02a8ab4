// check_numerics (tf.debugging.check_numerics): the tensor itself, after checking that it holds
// no NaN and no infinity. Its gradient is the incoming one.
#include <string>

#include "ops/numerics_check.h"
#include "ops/op_util.h"
#include "ops/ops.h"

namespace tapegrad::ops {
namespace {

void check_numerics_rule(const TapeEntry&, const TensorPtr& g, const bool need[2], TensorPtr out[2]) {
  if (need[0]) out[0] = g;
}

// A new tensor object over x's storage (as identity), after the scan: a tape gives it a slot.
TensorPtr check_numerics_forward(const OpDef& op, const TensorPtr* in, const OpArguments& args) {
  const TensorPtr& x = in[0];
  check_dtype(x, Accepts::Floats, op.name);
  if (numerics::has_nonfinite(*x))
    throw ValueError(std::string(op.name) + ": " + args.text +
                     ": the tensor (shape " + x->shape().str() +
                     ") holds NaN or infinity values; expected only finite values");
  TensorPtr out = TensorImpl::view(x, x->shape());
  return recorded(op, {&x}, out);
}

constexpr OpDef kCheckNumerics{
    "check_numerics",
    "The tensor itself, after checking that it holds no NaN and no infinity (ValueError naming "
    "`message` otherwise); its gradient is the incoming one.",
    {"tensor", nullptr}, {{"message", AttrKind::String}}, Saves::Nothing, check_numerics_rule,
    check_numerics_forward, 0};

constexpr const OpDef* kList[] = {&kCheckNumerics};

}  // namespace

const OpList kDebuggingOps = {kList, sizeof(kList) / sizeof(kList[0])};

}  // namespace tapegrad::ops

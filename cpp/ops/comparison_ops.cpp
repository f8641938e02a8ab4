// Comparisons (numbers in, bool out) and logical ops (bool in and out), with numpy broadcasting.
// Their results are never differentiated: the entries have no rule, so they are never recorded.
#include "kernels/compare.h"
#include "ops/ops.h"
#include "ops/op_util.h"

namespace tapegrad::ops {
namespace {

// The output shape of two broadcast operands of the same dtype, and their iteration plan.
Shape broadcast_pair(const OpDef& op, const TensorPtr& a, const TensorPtr& b,
                     kernels::BinaryPlan* plan) {
  check_same_dtype(a, b, op.name);
  const Shape out =
      a->shape() == b->shape() ? a->shape() : broadcast_shapes(a->shape(), b->shape(), op.name);
  *plan = binary_plan(a->shape(), b->shape(), out);
  return out;
}

TensorPtr compare_forward(const OpDef& op, const TensorPtr* in, const OpArguments&) {
  const TensorPtr& a = in[0];
  const TensorPtr& b = in[1];
  const auto cop = static_cast<kernels::CompareOp>(op.kernel);
  kernels::BinaryPlan plan;
  const Shape shape = broadcast_pair(op, a, b, &plan);
  const bool equality = cop == kernels::CompareOp::Equal || cop == kernels::CompareOp::NotEqual;
  if (!equality) check_dtype(a, Accepts::Numbers, op.name);
  TensorPtr out = TensorImpl::empty(DType::Bool, shape, op.name);
  if (out->numel() > 0) kernels::compare(cop, a->dtype(), a->raw(), b->raw(), out->data<bool>(), plan);
  return out;
}

void check_bool(const TensorPtr& x, const char* op) {
  if (x->dtype() != DType::Bool)
    throw TypeError(std::string(op) + ": expected bool tensors, got " + dtype_name(x->dtype()) +
                    "; compare, or convert with tapegrad.cast(x, tapegrad.bool)");
}

TensorPtr logical_forward(const OpDef& op, const TensorPtr* in, const OpArguments&) {
  check_bool(in[0], op.name);
  check_bool(in[1], op.name);
  kernels::BinaryPlan plan;
  const Shape shape = broadcast_pair(op, in[0], in[1], &plan);
  TensorPtr out = TensorImpl::empty(DType::Bool, shape, op.name);
  if (out->numel() > 0)
    kernels::logical(static_cast<kernels::LogicalOp>(op.kernel), in[0]->data<bool>(),
                     in[1]->data<bool>(), out->data<bool>(), plan);
  return out;
}

TensorPtr logical_not_forward(const OpDef& op, const TensorPtr* in, const OpArguments&) {
  check_bool(in[0], op.name);
  TensorPtr out = TensorImpl::empty(DType::Bool, in[0]->shape(), op.name);
  kernels::logical_not(in[0]->data<bool>(), out->data<bool>(), in[0]->numel());
  return out;
}

constexpr OpDef comparison(const char* name, kernels::CompareOp kernel, const char* doc) {
  return OpDef{name, doc, {"x", "y"}, {}, Saves::Nothing, nullptr, compare_forward,
               static_cast<int>(kernel)};
}

using kernels::CompareOp;

constexpr OpDef kEqual = comparison("equal", CompareOp::Equal, "x == y, elementwise (bool).");
constexpr OpDef kNotEqual =
    comparison("not_equal", CompareOp::NotEqual, "x != y, elementwise (bool).");
constexpr OpDef kLess = comparison("less", CompareOp::Less, "x < y, elementwise (bool).");
constexpr OpDef kLessEqual =
    comparison("less_equal", CompareOp::LessEqual, "x <= y, elementwise (bool).");
constexpr OpDef kGreater = comparison("greater", CompareOp::Greater, "x > y, elementwise (bool).");
constexpr OpDef kGreaterEqual =
    comparison("greater_equal", CompareOp::GreaterEqual, "x >= y, elementwise (bool).");
constexpr OpDef kLogicalAnd{"logical_and", "x and y of bool tensors, elementwise.", {"x", "y"},
                            {}, Saves::Nothing, nullptr, logical_forward,
                            static_cast<int>(kernels::LogicalOp::And)};
constexpr OpDef kLogicalOr{"logical_or", "x or y of bool tensors, elementwise.", {"x", "y"},
                           {}, Saves::Nothing, nullptr, logical_forward,
                           static_cast<int>(kernels::LogicalOp::Or)};
constexpr OpDef kLogicalNot{"logical_not", "not x of a bool tensor, elementwise.", {"x", nullptr},
                            {}, Saves::Nothing, nullptr, logical_not_forward, 0};

constexpr const OpDef* kList[] = {&kEqual,        &kNotEqual,  &kLess,      &kLessEqual,
                                  &kGreater,      &kGreaterEqual, &kLogicalAnd, &kLogicalOr,
                                  &kLogicalNot};

}  // namespace

const OpList kComparisonOps = {kList, sizeof(kList) / sizeof(kList[0])};

TensorPtr greater_equal(const TensorPtr& a, const TensorPtr& b) {
  const TensorPtr in[2] = {a, b};
  return call_op(kGreaterEqual, in, no_arguments());
}
TensorPtr equal(const TensorPtr& a, const TensorPtr& b) {
  const TensorPtr in[2] = {a, b};
  return call_op(kEqual, in, no_arguments());
}
TensorPtr less_equal(const TensorPtr& a, const TensorPtr& b) {
  const TensorPtr in[2] = {a, b};
  return call_op(kLessEqual, in, no_arguments());
}

}  // namespace tapegrad::ops

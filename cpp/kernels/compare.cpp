#include "kernels/compare.h"

#include "kernels/strided_rows.h"

namespace tapegrad::kernels {
namespace {

template <typename T>
void compare_typed(CompareOp op, const T* a, const T* b, bool* out, const BinaryPlan& p) {
  switch (op) {
    case CompareOp::Equal: return binary_rows(a, b, out, p, [](T x, T y) { return x == y; });
    case CompareOp::NotEqual: return binary_rows(a, b, out, p, [](T x, T y) { return x != y; });
    case CompareOp::Less: return binary_rows(a, b, out, p, [](T x, T y) { return x < y; });
    case CompareOp::LessEqual: return binary_rows(a, b, out, p, [](T x, T y) { return x <= y; });
    case CompareOp::Greater: return binary_rows(a, b, out, p, [](T x, T y) { return x > y; });
    case CompareOp::GreaterEqual: return binary_rows(a, b, out, p, [](T x, T y) { return x >= y; });
  }
}

}  // namespace

void compare(CompareOp op, DType dtype, const void* a, const void* b, bool* out,
             const BinaryPlan& plan) {
  visit_any_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    compare_typed(op, static_cast<const T*>(a), static_cast<const T*>(b), out, plan);
  });
}

void logical(LogicalOp op, const bool* a, const bool* b, bool* out, const BinaryPlan& plan) {
  if (op == LogicalOp::And) return binary_rows(a, b, out, plan, [](bool x, bool y) { return x && y; });
  binary_rows(a, b, out, plan, [](bool x, bool y) { return x || y; });
}

void logical_not(const bool* x, bool* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = !x[i];
}

}  // namespace tapegrad::kernels

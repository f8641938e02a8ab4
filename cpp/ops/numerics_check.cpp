#include "ops/numerics_check.h"

#include <cmath>
#include <string>

#include "core/errors.h"

namespace tapegrad::ops::numerics {

std::atomic<bool> g_enabled{false};

namespace {

// The op whose backward rule this thread runs, or null outside a backward pass.
thread_local const OpDef* t_rule_op = nullptr;

struct Found {
  bool nan = false, inf = false;
};

template <typename T>
Found scan(const T* p, int64_t n) {
  Found f;
  for (int64_t i = 0; i < n; ++i) {
    // x - x is 0 for finite x and NaN for NaN and infinities: one test in the common case.
    if (p[i] - p[i] == T(0)) continue;
    if (std::isnan(p[i])) f.nan = true;
    else f.inf = true;
    if (f.nan && f.inf) break;
  }
  return f;
}

Found scan(const TensorImpl& t) {
  if (t.dtype() == DType::F32) return scan(t.data<float>(), t.numel());
  if (t.dtype() == DType::F64) return scan(t.data<double>(), t.numel());
  return {};
}

std::string what_found(const Found& f) {
  if (f.nan && f.inf) return "NaN and infinity";
  return f.nan ? "NaN" : "infinity";
}

std::string pass_text() {
  if (!t_rule_op) return "forward pass";
  return std::string("backward pass, in the gradient of ") + t_rule_op->name;
}

}  // namespace

void set_enabled(bool on) { g_enabled.store(on, std::memory_order_relaxed); }

bool has_nonfinite(const TensorImpl& t) {
  const Found f = scan(t);
  return f.nan || f.inf;
}

namespace {

void check_values(const char* name, const TensorPtr* inputs, int n, const TensorPtr& out,
                  const std::string& pass) {
  if (!out) return;
  const Found f = scan(*out);
  if (!f.nan && !f.inf) return;
  std::string shapes;
  for (int i = 0; i < n; ++i) {
    if (i) shapes += ", ";
    shapes += inputs[i] ? inputs[i]->shape().str() : std::string("None");
  }
  throw FloatingPointError(std::string(name) + ": the output (shape " + out->shape().str() +
                           ") holds " + what_found(f) + " (" + pass + "; input shapes: " +
                           (n ? shapes : std::string("none")) +
                           "); reported by tapegrad.debugging.enable_check_numerics");
}

}  // namespace

void check_output(const OpDef& op, const TensorPtr* inputs, int n, const TensorPtr& out) {
  if (out && has_nonfinite(*out)) check_values(op.name, inputs, n, out, pass_text());
}

void check_replayed(const char* name, const TensorPtr* inputs, int n, const TensorPtr& out) {
  if (out && has_nonfinite(*out)) check_values(name, inputs, n, out, "a tg.function replay");
}

BackwardRuleScope::BackwardRuleScope(const OpDef* rule_op) : outer_(t_rule_op) {
  t_rule_op = rule_op;
}

BackwardRuleScope::~BackwardRuleScope() { t_rule_op = outer_; }

void check_rule_gradient(const OpDef& rule_op, const Shape* in_shapes, int n_inputs, int index,
                         const TensorPtr& grad) {
  if (!grad) return;
  const Found f = scan(*grad);
  if (!f.nan && !f.inf) return;
  std::string shapes;
  for (int i = 0; i < n_inputs; ++i) {
    if (i) shapes += ", ";
    shapes += in_shapes[i].str();
  }
  throw FloatingPointError(std::string(rule_op.name) + ": the gradient of input " +
                           std::to_string(index) + " (shape " + grad->shape().str() +
                           ") holds " + what_found(f) +
                           " (backward pass, in the gradient of " + rule_op.name +
                           "; input shapes: " + shapes +
                           "); reported by tapegrad.debugging.enable_check_numerics");
}

}  // namespace tapegrad::ops::numerics

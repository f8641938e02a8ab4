// tg.debugging.enable_check_numerics: while on, every op's floating output is scanned for NaN and
// infinities as soon as it is computed (ops::call_op, and each backward rule's gradients in
// Tape::backward), and the first one found throws FloatingPointError naming the op, its input
// shapes and the pass that produced it. Off, the cost is one relaxed load of a flag per op.
#pragma once
#include <atomic>

#include "ops/op_def.h"

namespace tapegrad::ops::numerics {

extern std::atomic<bool> g_enabled;

inline bool enabled() { return g_enabled.load(std::memory_order_relaxed); }
void set_enabled(bool on);

// True when a float32/float64 tensor holds a NaN or an infinity (other dtypes never do).
bool has_nonfinite(const TensorImpl& t);

// Throws FloatingPointError when `out` holds a NaN or an infinity: `op` produced it from the `n`
// tensors at `inputs`, in the forward pass, or in the backward pass when this thread runs one.
void check_output(const OpDef& op, const TensorPtr* inputs, int n, const TensorPtr& out);
// The same for a step of a tg.function replay (`name`: the op, or the fused loop), whose graph
// holds forward and backward ops alike.
void check_replayed(const char* name, const TensorPtr* inputs, int n, const TensorPtr& out);

// While alive, this thread runs the backward rule of `rule_op` (errors name it and the pass).
class BackwardRuleScope {
 public:
  explicit BackwardRuleScope(const OpDef* rule_op);
  ~BackwardRuleScope();
  BackwardRuleScope(const BackwardRuleScope&) = delete;
  BackwardRuleScope& operator=(const BackwardRuleScope&) = delete;

 private:
  const OpDef* outer_;
};

// Throws FloatingPointError when the gradient `grad` that the rule of `rule_op` returned for its
// input `index` (of shape `in_shapes[index]`) holds a NaN or an infinity.
void check_rule_gradient(const OpDef& rule_op, const Shape* in_shapes, int n_inputs, int index,
                         const TensorPtr& grad);

}  // namespace tapegrad::ops::numerics

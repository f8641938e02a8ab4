// The one way an op runs: its forward, seen by a tracing tg.function when one records on this
// thread. The bindings and the C++ op API (ops.h) both call ops through here, so a trace records
// every op of a step, backward rules included.
#pragma once
#include <initializer_list>

#include "function/tracer.h"
#include "ops/op_def.h"

namespace tapegrad::ops {

inline TensorPtr call_op(const OpDef& op, const TensorPtr* inputs, const OpArguments& args) {
  if (function::Tracer* t = function::recorder())
    return t->run_op(op, inputs, op.variadic ? args.n_inputs : op.arity(), args);
  return op.forward(op, inputs, args);
}

// For ops whose C++ callers pass arguments that OpArguments does not hold (slice windows, a
// gradient's batch axes): `run(inputs)` computes the op, and a trace keeps a copy of it.
template <typename Run>
TensorPtr call_closure(const OpDef& op, std::initializer_list<TensorPtr> inputs, Run&& run) {
  if (function::Tracer* t = function::recorder())
    return t->run_closure(op, inputs.begin(), static_cast<int>(inputs.size()),
                          function::OpClosure(run));
  return run(inputs.begin());
}

}  // namespace tapegrad::ops

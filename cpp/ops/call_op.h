// The one way an op runs: its forward, seen by a tracing tg.function when one records on this
// thread. The bindings and the C++ op API (ops.h) both call ops through here, so a trace records
// every op of a step, backward rules included, and the numerics check (numerics_check.h) sees
// every op's output.
#pragma once
#include <initializer_list>

#include "function/tracer.h"
#include "ops/numerics_check.h"
#include "ops/op_def.h"

namespace tapegrad::ops {

// The number of tensors a call passes.
inline int call_arity(const OpDef& op, const OpArguments& args) {
  return op.variadic ? args.n_inputs : op.arity();
}

inline TensorPtr call_op(const OpDef& op, const TensorPtr* inputs, const OpArguments& args) {
  function::Tracer* t = function::recorder();
  TensorPtr out = t ? t->run_op(op, inputs, call_arity(op, args), args) : op.forward(op, inputs, args);
  if (__builtin_expect(numerics::enabled(), 0))
    numerics::check_output(op, inputs, call_arity(op, args), out);
  return out;
}

// For ops whose C++ callers pass arguments that OpArguments does not hold (slice windows, a
// gradient's batch axes): `run(inputs)` computes the op, and a trace keeps a copy of it.
template <typename Run>
TensorPtr call_closure(const OpDef& op, std::initializer_list<TensorPtr> inputs, Run&& run) {
  const int n = static_cast<int>(inputs.size());
  function::Tracer* t = function::recorder();
  TensorPtr out = t ? t->run_closure(op, inputs.begin(), n, function::OpClosure(run))
                    : run(inputs.begin());
  if (__builtin_expect(numerics::enabled(), 0)) numerics::check_output(op, inputs.begin(), n, out);
  return out;
}

}  // namespace tapegrad::ops

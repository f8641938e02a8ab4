// Shared plumbing for the op implementations: dtype checks, recording, iteration plans, and
// each op family's share of the registry.
#pragma once
#include <string>

#include "core/errors.h"
#include "core/long_running.h"
#include "kernels/kernels.h"
#include "function/tracer.h"
#include "ops/call_op.h"
#include "ops/op_def.h"
#include "ops/shortcut_counts.h"
#include "tape/tape.h"

namespace tapegrad::ops {

// Work (elements, or multiply-adds) above which an op lets other host threads run meanwhile.
constexpr double kLongRunningWork = 1 << 20;

inline void check_same_dtype(const TensorPtr& a, const TensorPtr& b, const char* op) {
  if (a->dtype() != b->dtype())
    throw TypeError(std::string(op) + ": both inputs must have the same dtype, got " +
                    dtype_name(a->dtype()) + " and " + dtype_name(b->dtype()) +
                    "; convert one with tapegrad.cast");
}

// The dtypes an op computes with: floats only, numbers (floats and integers), or any.
enum class Accepts { Floats, Numbers };

inline void check_dtype(const TensorPtr& x, Accepts accepts, const char* op) {
  const DType d = x->dtype();
  if (is_floating(d) || (accepts == Accepts::Numbers && is_integer(d))) return;
  throw TypeError(std::string(op) + ": " + dtype_name(d) + " tensors are not supported (expected " +
                  (accepts == Accepts::Floats ? "float32 or float64"
                                              : "float32, float64, int32 or int64") +
                  "); convert with tapegrad.cast");
}

// Every op's forward runs inside call_op while a trace records; one that runs outside it would be
// missing from the graph, which the trace reports instead of replaying wrongly.
inline void escaped_trace_check(const OpDef& op) {
  if (function::recorder()) function::t_tracer->untraced_op(op);
}

// Records `out` on the active tapes (a no-op, one branch, when no tape is active; never for an
// op without a rule, nor for an integer or bool result, which is never differentiated); what
// the entry keeps for backward follows `op.saves`.
inline const TensorPtr& recorded(const OpDef& op, const TensorPtr* inputs, int n,
                                 const TensorPtr& out, const OpAttrs& attrs = OpAttrs{}) {
  escaped_trace_check(op);
  if (tape_stack::any_active() && op.recorded() && is_floating(out->dtype()))
    tape_stack::record(op, inputs, n, out, attrs);
  return out;
}
inline const TensorPtr& recorded(const OpDef& op, std::initializer_list<const TensorPtr*> inputs,
                                 const TensorPtr& out, const OpAttrs& attrs = OpAttrs{},
                                 const TensorPtr& aux = TensorPtr()) {
  escaped_trace_check(op);
  if (tape_stack::any_active() && op.recorded() && is_floating(out->dtype())) {
    TensorPtr in[kMaxNamedInputs];
    int n = 0;
    for (const TensorPtr* p : inputs) in[n++] = *p;
    tape_stack::record(op, in, n, out, attrs, aux);
  }
  return out;
}

// Backward rules may take fused, non-recording shortcuts only when no tape records the backward
// pass; otherwise higher-order gradients would miss those steps.
// A trace records ops, not shortcuts: while one runs, rules take the op path.
inline bool fused_ok() { return !tape_stack::any_recording() && !function::t_tracer; }

// The arguments of a call that has no attributes.
inline const OpArguments& no_arguments() {
  static const OpArguments none;
  return none;
}

// The binary elementwise op `op` (its kernel over the broadcast plan, integers when
// op.takes_integers), checked and recorded: the shared forward of binary_ops.cpp, for ops with
// their own checks first (pow).
TensorPtr binary_kernel(const OpDef& op, const TensorPtr& a, const TensorPtr& b);

// The op families tg.function fuses: float elementwise ops computed by one kernel of the
// tables (op.kernel names it), and the sum and mean reductions.
bool is_unary_kernel_op(const OpDef& op);
bool is_binary_kernel_op(const OpDef& op);
bool is_sum_or_mean(const OpDef& op, bool* mean);

// The chunk of a full sum over many elements: the summation order is fixed per chunk.
constexpr int64_t kSumChunkElements = int64_t(1) << 16;

// Each family file lists its entries in one of these (registry.cpp joins them).
extern const OpList kUnaryOps;
extern const OpList kBinaryOps;
extern const OpList kReductionOps;
extern const OpList kMatmulOps;
extern const OpList kShapeOps;
extern const OpList kCompositeOps;
extern const OpList kComparisonOps;
extern const OpList kSoftmaxOps;
extern const OpList kIndexingOps;
extern const OpList kLayoutOps;
extern const OpList kSelectionOps;
extern const OpList kJoinOps;
extern const OpList kScanOps;
extern const OpList kLossOps;
extern const OpList kDebuggingOps;

// Plans with adjacent dimensions merged wherever the strides allow (see plans.cpp).
kernels::BinaryPlan binary_plan(const Shape& a, const Shape& b, const Shape& out);
kernels::GatherPlan gather_plan(const Shape& out, const int64_t* in_stride);
kernels::ReducePlan reduce_plan(const Shape& in, uint32_t axes_mask);

// Row-major element strides of a contiguous tensor.
void contiguous_strides(const Shape& s, int64_t* strides);
// Strides of `in` read as if broadcast to `out` (0 along broadcast axes), aligned to the right.
void broadcast_strides(const Shape& in, const Shape& out, int64_t* strides);

// Normalises axes (negative, duplicates, range) into a bit mask; nullptr means all axes.
uint32_t axes_to_mask(const std::vector<int64_t>* axes, const Shape& shape, const char* op);

// A tensor seen as [outer, n, inner] around one axis: the layout of the kernels that work along
// an axis (argmax, softmax).
struct AxisSplit {
  int axis;
  int64_t outer, n, inner;
};

// The one axis an AttrKind::Axis argument names, normalised, and the split around it; ValueError
// naming `op` for a scalar or an axis out of range.
inline AxisSplit split_at_axis(const OpArguments& args, const Shape& shape, const char* op) {
  if (shape.rank == 0)
    throw ValueError(std::string(op) + ": expected a tensor of rank >= 1, got a scalar");
  const uint32_t mask = axes_to_mask(&args.ints, shape, op);
  AxisSplit s{0, 1, 0, 1};
  while (!(mask >> s.axis & 1u)) ++s.axis;
  s.n = shape.dims[s.axis];
  for (int d = 0; d < s.axis; ++d) s.outer *= shape.dims[d];
  for (int d = s.axis + 1; d < shape.rank; ++d) s.inner *= shape.dims[d];
  return s;
}

}  // namespace tapegrad::ops

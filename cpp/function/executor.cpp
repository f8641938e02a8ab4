#include "function/executor.h"

#include <cstdlib>
#include <cstring>

#include "core/errors.h"
#include "function/fusion.h"
#include "function/tracer.h"
#include "ops/call_op.h"
#include "tape/tape.h"

namespace tapegrad::function {
namespace {

// A node's inputs gathered from the value table (ops take them as one array).
class NodeInputs {
 public:
  NodeInputs(const Node& n, const std::vector<TensorPtr>& values) : n_(n.inputs.size()) {
    TensorPtr* dst = n_ <= kLocal ? local_ : (spill_.resize(n_), spill_.data());
    for (size_t i = 0; i < n_; ++i) dst[i] = values[n.inputs[i]];
  }
  const TensorPtr* data() const { return n_ <= kLocal ? local_ : spill_.data(); }

 private:
  static constexpr size_t kLocal = 4;
  size_t n_;
  TensorPtr local_[kLocal];
  std::vector<TensorPtr> spill_;
};

std::vector<TensorPtr> table_for(const Graph& g, const std::vector<TensorPtr>& inputs) {
  std::vector<TensorPtr> values(g.values.size());
  for (size_t i = 0; i < g.values.size(); ++i)
    if (g.values[i].source == ValueSource::Constant) values[i] = g.values[i].constant;
  for (size_t k = 0; k < g.inputs.size(); ++k) values[g.inputs[k]] = inputs[k];
  return values;
}

std::vector<TensorPtr> outputs_of(const Graph& g, const std::vector<TensorPtr>& values) {
  std::vector<TensorPtr> out;
  out.reserve(g.outputs.size());
  for (int32_t v : g.outputs) out.push_back(values[v]);
  return out;
}

// Whether the pass `name` runs: all of them unless TAPEGRAD_FUNCTION_PASSES lists the ones to run
// (comma-separated: fold, cse, dce, fuse; empty runs none), for measuring what each one gains.
bool pass_enabled(const char* name) {
  const char* list = std::getenv("TAPEGRAD_FUNCTION_PASSES");
  if (!list) return true;
  const size_t n = std::strlen(name);
  for (const char* p = list; *p;) {
    const char* end = std::strchr(p, ',');
    const size_t len = end ? static_cast<size_t>(end - p) : std::strlen(p);
    if (len == n && std::strncmp(p, name, n) == 0) return true;
    if (!end) break;
    p = end + 1;
  }
  return false;
}

// tg.debugging.enable_check_numerics in a plan replay: the values a node computed (a fused loop's
// intermediate values are never stored, so only those it writes are seen).
void check_numerics(const Node& n, const std::vector<TensorPtr>& values) {
  const NodeInputs in(n, values);
  const int n_in = static_cast<int>(n.inputs.size());
  if (n.kind == NodeKind::Op || n.kind == NodeKind::Closure)
    ops::numerics::check_replayed(n.op->name, in.data(), n_in, values[n.output]);
  else if (n.kind == NodeKind::Fused)
    for (int32_t v : n.fused_outputs)
      ops::numerics::check_replayed("fused elementwise loop", in.data(), n_in, values[v]);
}

}  // namespace

ConcreteFunction::ConcreteFunction(Graph traced) : traced_(std::move(traced)) {
  if (!traced_.drawn.empty()) {
    // Random draws may initialise Variables during a trace, but nothing a call returns or
    // updates may depend on them.
    Graph live = traced_;
    eliminate_dead_code(live);
    std::vector<char> read(live.values.size(), 0);
    for (const Node& n : live.nodes)
      for (int32_t v : n.inputs) read[v] = 1;
    for (int32_t v : live.outputs) read[v] = 1;
    for (const auto& [value, source] : traced_.drawn)
      if (read[value])
        throw ValueError("tg.function: " + source + " drew values inside the traced function "
                         "and the result depends on them; every replay would reuse the values "
                         "drawn while tracing. Draw outside the function and pass the tensor as "
                         "an argument");
  }
  plan_ = traced_;
  if (pass_enabled("fold")) counts_.folded = fold_constants(plan_);
  if (pass_enabled("cse")) counts_.common = eliminate_common_subexpressions(plan_);
  if (pass_enabled("dce")) counts_.dead = eliminate_dead_code(plan_);
  if (pass_enabled("fuse")) {
    counts_.scaled = scale_columns(plan_);
    counts_.fused = fuse_elementwise(plan_, fused_);
    for (const FusedProgram& program : fused_)
      for (const FusedProgram::Step& step : program.steps) counts_.paired += step.pairs_with_next;
  }
  // Constants no node reads any more (a uniform one a fused loop reads as one value) are dropped.
  std::vector<char> read(plan_.values.size(), 0);
  for (const Node& n : plan_.nodes)
    for (size_t k = 0; k < n.inputs.size(); ++k)
      if (n.kind != NodeKind::Fused || !fused_[n.fused].uniform[k]) read[n.inputs[k]] = 1;
  for (int32_t v : plan_.outputs) read[v] = 1;
  for (size_t v = 0; v < plan_.values.size(); ++v)
    if (plan_.values[v].source == ValueSource::Constant && !read[v]) plan_.values[v].constant.reset();

  std::vector<int32_t> last_use(plan_.values.size(), -1);
  for (size_t i = 0; i < plan_.nodes.size(); ++i)
    for (int32_t v : plan_.nodes[i].inputs) last_use[v] = static_cast<int32_t>(i);
  for (int32_t v : plan_.outputs) last_use[v] = -1;
  release_after_.assign(plan_.nodes.size(), {});
  for (size_t v = 0; v < last_use.size(); ++v)
    if (last_use[v] >= 0) release_after_[last_use[v]].push_back(static_cast<int32_t>(v));
}

ConcreteFunction::~ConcreteFunction() = default;

void ConcreteFunction::check_inputs(const std::vector<TensorPtr>& inputs) const {
  if (inputs.size() != traced_.inputs.size())
    throw ValueError("tg.function: expected " + std::to_string(traced_.inputs.size()) +
                     " tensor arguments, got " + std::to_string(inputs.size()));
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Value& want = traced_.values[traced_.inputs[k]];
    if (inputs[k]->dtype() != want.dtype || inputs[k]->shape() != want.shape)
      throw ValueError("tg.function: tensor argument " + std::to_string(k) + " has dtype " +
                       dtype_name(inputs[k]->dtype()) + " and shape " + inputs[k]->shape().str() +
                       ", but the function was traced for " + dtype_name(want.dtype) + " " +
                       want.shape.str());
  }
}

std::vector<TensorPtr> ConcreteFunction::call(const std::vector<TensorPtr>& inputs) const {
  check_inputs(inputs);
  if (tape_stack::any_active() || t_tracer) return replay_traced(inputs);
  return run_plan(inputs);
}

std::vector<TensorPtr> ConcreteFunction::run_plan(const std::vector<TensorPtr>& inputs) const {
  std::vector<TensorPtr> values = table_for(plan_, inputs);
  for (size_t i = 0; i < plan_.nodes.size(); ++i) {
    const Node& n = plan_.nodes[i];
    switch (n.kind) {
      case NodeKind::Op: {
        const NodeInputs in(n, values);
        values[n.output] = n.op->forward(*n.op, in.data(), n.args);
        break;
      }
      case NodeKind::Closure: {
        const NodeInputs in(n, values);
        values[n.output] = n.run(in.data());
        break;
      }
      case NodeKind::VariableRead:
        values[n.output] = n.variable->peek();
        break;
      case NodeKind::Effect: {
        const NodeInputs in(n, values);
        n.effect(in.data());
        break;
      }
      case NodeKind::Fused:
        fused_[n.fused].run(n, values);
        break;
    }
    if (__builtin_expect(ops::numerics::enabled(), 0)) check_numerics(n, values);
    for (int32_t v : release_after_[i]) values[v].reset();
  }
  return outputs_of(plan_, values);
}

// Through the public entry points: active tapes record each op and read, and an outer trace
// records the whole call as its own nodes.
std::vector<TensorPtr> ConcreteFunction::replay_traced(const std::vector<TensorPtr>& inputs) const {
  std::vector<TensorPtr> values = table_for(traced_, inputs);
  for (const Node& n : traced_.nodes) {
    const NodeInputs in(n, values);
    switch (n.kind) {
      case NodeKind::Op:
        values[n.output] = ops::call_op(*n.op, in.data(), n.args);
        break;
      case NodeKind::Closure:
        if (Tracer* t = recorder())
          values[n.output] = t->run_closure(*n.op, in.data(), static_cast<int>(n.inputs.size()), n.run);
        else
          values[n.output] = n.run(in.data());
        break;
      case NodeKind::VariableRead:
        values[n.output] = n.variable->read();
        break;
      case NodeKind::Effect:
        if (Tracer* t = recorder())
          t->run_effect(n.effect_name, in.data(), static_cast<int>(n.inputs.size()), n.effect);
        else
          n.effect(in.data());
        break;
      case NodeKind::Fused:
        throw RuntimeError("tg.function: a traced graph holds no fused nodes");
    }
  }
  return outputs_of(traced_, values);
}

}  // namespace tapegrad::function

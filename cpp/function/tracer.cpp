#include "function/tracer.h"

#include "core/errors.h"

namespace tapegrad::function {

thread_local Tracer* t_tracer = nullptr;

Tracer::~Tracer() { end(); }

void Tracer::begin() {
  if (t_tracer)
    throw RuntimeError("tg.function: a trace is already running on this thread");
  t_tracer = this;
  tracing_ = true;
}

void Tracer::end() {
  if (t_tracer == this) t_tracer = nullptr;
  tracing_ = false;
}

int32_t Tracer::new_value(const TensorPtr& t, ValueSource source) {
  Value v;
  v.source = source;
  v.dtype = t->dtype();
  v.shape = t->shape();
  if (source == ValueSource::Constant) v.constant = t;
  const auto id = static_cast<int32_t>(graph_.values.size());
  graph_.values.push_back(std::move(v));
  seen_.push_back(t);
  ids_[t.get()] = id;
  return id;
}

int32_t Tracer::value_of(const TensorPtr& t) {
  const auto it = ids_.find(t.get());
  return it != ids_.end() ? it->second : new_value(t, ValueSource::Constant);
}

void Tracer::add_input(const TensorPtr& t) {
  if (ids_.count(t.get()))
    throw RuntimeError("tg.function: the same tensor object was declared twice as an argument");
  const int32_t id = new_value(t, ValueSource::Input);
  graph_.values[id].input_index = static_cast<int32_t>(graph_.inputs.size());
  graph_.inputs.push_back(id);
}

void Tracer::record(Node node, const TensorPtr* inputs, int n, const TensorPtr* out) {
  node.inputs.reserve(n);
  for (int i = 0; i < n; ++i) node.inputs.push_back(value_of(inputs[i]));
  if (out) {
    // An op that hands back a tensor the trace already knows (cast to the same dtype, a
    // broadcast to the same shape) computed nothing: later uses name that value directly.
    if (ids_.count(out->get())) return;
    node.output = new_value(*out, ValueSource::Node);
  }
  graph_.nodes.push_back(std::move(node));
}

TensorPtr Tracer::run_op(const OpDef& op, const TensorPtr* inputs, int n, const OpArguments& args) {
  TensorPtr out;
  if (!op.recorded()) {
    // An op without a rule may be a composite whose inner ops a tape records, keeping their
    // intermediates for its rules: those must be values of the graph too, so its inner ops record
    // themselves. When its result is none of theirs, it computed with kernels of its own and is
    // one node (its own recorded() call, made outside call_op's nesting, is not an escape).
    const std::string escaped_before = escaped_;
    out = op.forward(op, inputs, args);
    if (ids_.count(out.get())) return out;
    escaped_ = escaped_before;
  } else {
    Nested inside(this);
    out = op.forward(op, inputs, args);
  }
  Node node;
  node.kind = NodeKind::Op;
  node.op = &op;
  node.args = args;
  record(std::move(node), inputs, n, &out);
  return out;
}

TensorPtr Tracer::run_closure(const OpDef& op, const TensorPtr* inputs, int n,
                              const OpClosure& run) {
  TensorPtr out;
  {
    Nested inside(this);
    out = run(inputs);
  }
  Node node;
  node.kind = NodeKind::Closure;
  node.op = &op;
  node.run = run;
  record(std::move(node), inputs, n, &out);
  return out;
}

void Tracer::run_effect(const char* name, const TensorPtr* inputs, int n,
                        const EffectClosure& effect) {
  {
    Nested inside(this);
    effect(inputs);
  }
  Node node;
  node.kind = NodeKind::Effect;
  node.effect = effect;
  node.effect_name = name;
  record(std::move(node), inputs, n, nullptr);
}

void Tracer::variable_read(const VariablePtr& v, const TensorPtr& value) {
  Node node;
  node.kind = NodeKind::VariableRead;
  node.variable = v;
  // Each read is a value of its own, even when the tensor is one the trace knows (a variable
  // created from a traced result): later uses must see the variable, not what initialised it.
  node.output = new_value(value, ValueSource::Node);
  graph_.nodes.push_back(std::move(node));
}

void Tracer::variable_created(const std::string& name) { created_.push_back(name); }

void Tracer::mark_drawn(const TensorPtr& t, const char* source) { drawn_.emplace_back(t, source); }

void Tracer::untraced_op(const OpDef& op) {
  if (escaped_.empty()) escaped_ = op.name;
}

Graph Tracer::finish(const std::vector<TensorPtr>& outputs) {
  if (!escaped_.empty())
    throw RuntimeError(std::string("tg.function: the op '") + escaped_ +
                       "' ran outside the tracer's view, so it cannot be replayed (an engine bug: "
                       "please report it)");
  for (const TensorPtr& t : outputs) graph_.outputs.push_back(value_of(t));
  for (const auto& [t, source] : drawn_) {
    const auto it = ids_.find(t.get());
    if (it != ids_.end() && graph_.values[it->second].source == ValueSource::Constant)
      graph_.drawn.emplace_back(it->second, source);
  }
  drawn_.clear();
  end();
  Graph g = std::move(graph_);
  graph_ = Graph{};
  seen_.clear();
  ids_.clear();
  return g;
}

}  // namespace tapegrad::function

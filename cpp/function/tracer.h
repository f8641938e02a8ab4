// Tracing for tg.function: while a Tracer is current on a thread, every op run through
// ops::call_op (and the closure form for ops with C++-only arguments), every variable read and
// every variable update is executed as usual and also appended to a Graph. Work done inside a
// recorded op (a composite op's inner ops, an update's own reads) is part of that op and is not
// recorded again.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "function/graph.h"

namespace tapegrad::function {

class Tracer;

// The tracer of this thread, or null. Set by Tracer::begin, cleared by Tracer::end.
extern thread_local Tracer* t_tracer;

class Tracer {
 public:
  Tracer() = default;
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;
  ~Tracer();

  // Makes this tracer current on the calling thread; RuntimeError if one already is.
  void begin();
  // Stops recording (idempotent; also done by the destructor).
  void end();
  bool tracing() const { return tracing_; }

  // Declares the next tensor argument of the call. Each must be a distinct tensor object.
  void add_input(const TensorPtr& t);

  // The recording hooks; each runs the work itself and records it when it succeeds.
  TensorPtr run_op(const OpDef& op, const TensorPtr* inputs, int n, const OpArguments& args);
  TensorPtr run_closure(const OpDef& op, const TensorPtr* inputs, int n, const OpClosure& run);
  void run_effect(const char* name, const TensorPtr* inputs, int n, const EffectClosure& effect);
  void variable_read(const VariablePtr& v, const TensorPtr& value);
  void variable_created(const std::string& name);
  // `t` holds values drawn at random by `source` (tg.random): a replay would reuse them, so
  // finish() fails if a recorded node reads them.
  void mark_drawn(const TensorPtr& t, const char* source);
  // An op that ran outside call_op while recording: the graph would miss it, so finish() fails.
  void untraced_op(const OpDef& op);

  // True inside a recorded op or effect: what runs there is not recorded again.
  bool nested() const { return depth_ > 0; }
  const std::vector<std::string>& created_variables() const { return created_; }

  // The recorded graph returning `outputs`; RuntimeError if an op escaped the trace.
  Graph finish(const std::vector<TensorPtr>& outputs);

 private:
  struct Nested {
    explicit Nested(Tracer* t) : t_(t) { ++t_->depth_; }
    ~Nested() { --t_->depth_; }
    Tracer* t_;
  };
  // The value id of a tensor seen before, or a new constant holding it.
  int32_t value_of(const TensorPtr& t);
  int32_t new_value(const TensorPtr& t, ValueSource source);
  void record(Node node, const TensorPtr* inputs, int n, const TensorPtr* out);

  Graph graph_;
  // Every tensor the trace saw, by value id: kept alive so no address is reused during the trace.
  std::vector<TensorPtr> seen_;
  std::unordered_map<const TensorImpl*, int32_t> ids_;
  std::vector<std::string> created_;
  std::vector<std::pair<TensorPtr, std::string>> drawn_;
  std::string escaped_;
  int depth_ = 0;
  bool tracing_ = false;
};

// The tracer that records a call made here and now: the thread's tracer when it is not inside a
// recorded op, else null. One thread-local load when nothing traces.
inline Tracer* recorder() {
  Tracer* t = t_tracer;
  return t && !t->nested() ? t : nullptr;
}

}  // namespace tapegrad::function

// GradientTape engine: a thread-local stack of active tapes. An op is recorded on every active,
// recording tape that watches one of its inputs; gradient() walks the record in reverse (already a
// topological order) and accumulates into a slot array indexed by the tape's own ids.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/tensor.h"
#include "ops/op_def.h"

namespace tapegrad {

class Variable;
using VariablePtr = std::shared_ptr<Variable>;

// Per-input values of a tape entry: up to kMaxNamedInputs in place, more (a variadic op's)
// on the heap, contiguous either way. Rules index it as an array.
template <typename T>
class PerInput {
 public:
  void resize(int n) {
    n_ = n;
    if (n > kMaxNamedInputs) spill_.assign(static_cast<size_t>(n), T{});
  }
  int size() const { return n_; }
  T* data() { return n_ > kMaxNamedInputs ? spill_.data() : local_; }
  const T* data() const { return n_ > kMaxNamedInputs ? spill_.data() : local_; }
  T& operator[](int i) { return data()[i]; }
  const T& operator[](int i) const { return data()[i]; }

 private:
  int n_ = 0;
  T local_[kMaxNamedInputs] = {};
  std::vector<T> spill_;
};

struct TapeEntry {
  const OpDef* op;
  int n_inputs;
  PerInput<DType> in_dtype;
  PerInput<int32_t> in_slot;  // -1 where the input is not on this tape
  int32_t out_slot;
  PerInput<Shape> in_shape;
  PerInput<TensorPtr> saved;  // the inputs, kept only when the op's rule reads them
  TensorPtr saved_output;     // the output, kept only when the op's rule reads it
  TensorPtr saved_aux;        // a tensor the forward made for the rule alone, or null
  OpAttrs attrs;
};

// A gradient source: a tensor or a variable.
struct Source {
  TensorPtr tensor;
  VariablePtr variable;
};

class Tape {
 public:
  Tape(bool persistent, bool watch_accessed_variables);
  ~Tape();
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  bool persistent() const { return persistent_; }
  bool watch_accessed_variables() const { return watch_accessed_; }
  bool recording() const { return recording_; }
  void set_recording(bool on) { recording_ = on; }
  // True while the tape is on this thread's stack (inside its `with` block).
  bool active() const;
  uint64_t serial() const { return serial_; }

  void watch(const TensorPtr& t);
  void watch(const VariablePtr& v);
  // Variables watched so far, in the order they were first watched.
  const std::vector<VariablePtr>& watched_variables() const { return watched_vars_; }
  size_t num_entries() const { return entries_.size(); }

  // Gradients of sum_i sum(targets[i] * output_gradients[i]) for each source (null = unconnected,
  // or zeros of the source's shape when unconnected_zero); a null or missing output gradient is
  // ones. Throws RuntimeError on a second call on a non-persistent tape. A persistent tape that
  // is active records the ops of its own backward pass, so its gradients can be differentiated
  // again; any other tape records nothing of it.
  std::vector<TensorPtr> gradient(const std::vector<TensorPtr>& targets,
                                  const std::vector<Source>& sources,
                                  const std::vector<TensorPtr>& output_gradients,
                                  bool unconnected_zero);
  std::vector<TensorPtr> gradient(const TensorPtr& target, const std::vector<Source>& sources,
                                  const TensorPtr& output_gradient, bool unconnected_zero) {
    return gradient(std::vector<TensorPtr>{target}, sources,
                    std::vector<TensorPtr>{output_gradient}, unconnected_zero);
  }
  // Called with a source's index and its gradient (null when none reaches it) as soon as that
  // gradient is final, while backward still runs: what a data-parallel trainer needs to start
  // reducing early. Each source is reported exactly once.
  using SourceFinal = std::function<void(size_t, const TensorPtr&)>;
  // gradient() for one target (output gradient ones, unconnected = null) that reports each
  // source's gradient to `on_final` as soon as no entry still to be walked can add to it.
  std::vector<TensorPtr> gradient_streaming(const TensorPtr& target,
                                            const std::vector<Source>& sources,
                                            const SourceFinal& on_final);
  // d target / d source for each source, of shape target.shape + source.shape, computed by one
  // backward pass of a stack of one-hot cotangents (a leading batch axis, see
  // ops::BatchedGradients). null = unconnected, or zeros when unconnected_zero.
  std::vector<TensorPtr> jacobian(const TensorPtr& target, const std::vector<Source>& sources,
                                  bool unconnected_zero);
  // The jacobian of each batch row of `target` with respect to the same row of `source`, whose
  // first dimension must match target's: shape [batch] + target.shape[1:] + source.shape[1:].
  TensorPtr batch_jacobian(const TensorPtr& target, const Source& source, bool unconnected_zero);

  // Called by the op layer after computing an op.
  void maybe_record(const OpDef& op, const TensorPtr* inputs, int n, const TensorPtr& out,
                    const OpAttrs& attrs, const TensorPtr& aux);
  void on_variable_read(const VariablePtr& v);

  static int64_t live_count();

 private:
  // A gradient call: refuses a second one on a non-persistent tape, which end_use() releases.
  void begin_use(const char* op);
  void end_use();
  // The backward pass: seeds each target's slot with its output gradient (ones when null) and
  // returns the sum of the gradients reaching each source (null when none does).
  std::vector<TensorPtr> backward(const std::vector<TensorPtr>& targets,
                                  const std::vector<Source>& sources,
                                  const std::vector<TensorPtr>& output_gradients,
                                  const SourceFinal* on_final = nullptr);
  int32_t slot_of(TensorImpl& t) const;
  int32_t ensure_slot(TensorImpl& t);
  void release();

  uint64_t serial_;
  bool persistent_;
  bool watch_accessed_;
  bool recording_ = true;
  bool used_ = false;
  int32_t num_slots_ = 0;
  std::vector<TapeEntry> entries_;
  std::vector<VariablePtr> watched_vars_;
  // Every (variable, slot) pair read on this tape: a variable assigned between two reads has two.
  std::vector<std::pair<Variable*, int32_t>> var_slots_;
};

using TapePtr = std::shared_ptr<Tape>;

namespace tape_stack {
// Makes `t` active on this thread (entering its `with` block) / inactive (leaving it).
void push(const TapePtr& t);
void pop(const TapePtr& t);
// True when some tape on this thread might record: the op layer's fast exit.
bool any_active();
// True when some tape on this thread records right now: backward rules may take fused,
// non-recording fast paths only when this is false.
bool any_recording();
// `aux`: a tensor the forward computed for the rule (kept as TapeEntry::saved_aux), or null.
void record(const OpDef& op, const TensorPtr* inputs, int n, const TensorPtr& out,
            const OpAttrs& attrs, const TensorPtr& aux = TensorPtr());
void variable_read(const VariablePtr& v);
}  // namespace tape_stack

}  // namespace tapegrad

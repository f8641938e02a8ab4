#include "tape/tape.h"

#include <string>
#include <algorithm>
#include <atomic>
#include <mutex>

#include "core/errors.h"
#include "ops/numerics_check.h"
#include "ops/ops.h"
#include "tape/variable.h"

namespace tapegrad {
namespace {

// Serial numbers of the tapes alive in the process. A tensor's TapeRef to a dead tape is dropped
// the next time that tensor joins a tape, so long-lived tensors (variables) do not accumulate refs.
std::mutex g_live_mu;
std::vector<uint64_t> g_live;
std::atomic<uint64_t> g_next_serial{1};

bool is_live(uint64_t serial) {
  std::lock_guard<std::mutex> lock(g_live_mu);
  return std::find(g_live.begin(), g_live.end(), serial) != g_live.end();
}

int32_t find_ref(const TapeRefs& r, uint64_t serial) {
  for (int i = 0; i < r.n_inline; ++i)
    if (r.inline_refs[i].tape == serial) return r.inline_refs[i].slot;
  for (const TapeRef& ref : r.overflow)
    if (ref.tape == serial) return ref.slot;
  return -1;
}

void add_ref(TapeRefs& r, uint64_t serial, int32_t slot) {
  const TapeRef ref{serial, slot};
  if (r.n_inline < 2) {
    r.inline_refs[r.n_inline++] = ref;
    return;
  }
  // Full: reuse the place of a ref whose tape is gone (a variable read by a new tape each step).
  for (TapeRef& old : r.inline_refs)
    if (!is_live(old.tape)) {
      old = ref;
      return;
    }
  for (TapeRef& old : r.overflow)
    if (!is_live(old.tape)) {
      old = ref;
      return;
    }
  r.overflow.push_back(ref);
}

// When each source's gradient is final during a backward walk: final_at[i] is the lowest index of
// an entry that feeds one of source i's slots (entries.size() when none does), since the walk
// goes from the last entry down and nothing after that entry adds to the slot. `order` lists the
// sources by final_at, highest first (ties by index), the order in which they become final.
struct FinalSchedule {
  std::vector<size_t> final_at;
  std::vector<size_t> order;
  size_t next = 0;
};

FinalSchedule final_schedule(const std::vector<TapeEntry>& entries,
                             const std::vector<std::vector<int32_t>>& source_slots,
                             int32_t num_slots) {
  std::vector<size_t> first_use(static_cast<size_t>(num_slots), entries.size());
  for (size_t e = entries.size(); e-- > 0;)
    for (int k = 0; k < entries[e].n_inputs; ++k)
      if (entries[e].in_slot[k] >= 0) first_use[entries[e].in_slot[k]] = e;
  FinalSchedule s;
  s.final_at.assign(source_slots.size(), entries.size());
  for (size_t i = 0; i < source_slots.size(); ++i)
    for (int32_t slot : source_slots[i]) s.final_at[i] = std::min(s.final_at[i], first_use[slot]);
  s.order.resize(source_slots.size());
  for (size_t i = 0; i < s.order.size(); ++i) s.order[i] = i;
  std::stable_sort(s.order.begin(), s.order.end(),
                   [&](size_t a, size_t b) { return s.final_at[a] > s.final_at[b]; });
  return s;
}

// The thread's active tapes, innermost last.
thread_local std::vector<TapePtr> t_stack;

}  // namespace

Tape::Tape(bool persistent, bool watch_accessed_variables)
    : serial_(g_next_serial.fetch_add(1)), persistent_(persistent),
      watch_accessed_(watch_accessed_variables) {
  entries_.reserve(16);  // a training step records about a dozen ops: no regrowth
  std::lock_guard<std::mutex> lock(g_live_mu);
  g_live.push_back(serial_);
}

Tape::~Tape() {
  std::lock_guard<std::mutex> lock(g_live_mu);
  g_live.erase(std::find(g_live.begin(), g_live.end(), serial_));
}

int64_t Tape::live_count() {
  std::lock_guard<std::mutex> lock(g_live_mu);
  return static_cast<int64_t>(g_live.size());
}

int32_t Tape::slot_of(TensorImpl& t) const { return find_ref(t.tape_refs(), serial_); }

int32_t Tape::ensure_slot(TensorImpl& t) {
  int32_t s = slot_of(t);
  if (s >= 0) return s;
  s = num_slots_++;
  add_ref(t.tape_refs(), serial_, s);
  return s;
}

// Integer and bool tensors are never differentiated: watching one changes nothing.
void Tape::watch(const TensorPtr& t) {
  if (is_floating(t->dtype())) ensure_slot(*t);
}

void Tape::watch(const VariablePtr& v) {
  if (!is_floating(v->dtype())) return;
  int32_t s = ensure_slot(*v->peek());
  bool seen = false;
  for (const auto& vs : var_slots_) {
    if (vs.first == v.get()) {
      seen = true;
      if (vs.second == s) return;
    }
  }
  if (!seen) watched_vars_.push_back(v);
  var_slots_.emplace_back(v.get(), s);
}

void Tape::on_variable_read(const VariablePtr& v) {
  if (recording_ && watch_accessed_ && v->trainable()) watch(v);
}

void Tape::maybe_record(const OpDef& op, const TensorPtr* inputs, int n, const TensorPtr& out,
                        const OpAttrs& attrs, const TensorPtr& aux) {
  // Most ops have one or two inputs: their slots are looked up without allocating.
  int32_t local_slots[kMaxNamedInputs];
  std::vector<int32_t> spilled_slots(n > kMaxNamedInputs ? n : 0);
  int32_t* slots = n > kMaxNamedInputs ? spilled_slots.data() : local_slots;
  bool any = false;
  for (int i = 0; i < n; ++i) {
    slots[i] = slot_of(*inputs[i]);
    any |= slots[i] >= 0;
  }
  if (!any) return;
  TapeEntry& e = entries_.emplace_back();
  e.op = &op;
  e.n_inputs = n;
  e.in_dtype.resize(n);
  e.in_slot.resize(n);
  e.in_shape.resize(n);
  const bool save_inputs = op.saves == Saves::Inputs || op.saves == Saves::InputsAndOutput;
  if (save_inputs) e.saved.resize(n);
  for (int i = 0; i < n; ++i) {
    e.in_dtype[i] = inputs[i]->dtype();
    e.in_slot[i] = slots[i];
    e.in_shape[i] = inputs[i]->shape();
    if (save_inputs) e.saved[i] = inputs[i];
  }
  if (op.saves == Saves::Output || op.saves == Saves::InputsAndOutput) e.saved_output = out;
  e.saved_aux = aux;
  e.attrs = attrs;
  e.out_slot = ensure_slot(*out);
}

void Tape::release() {
  entries_.clear();
  entries_.shrink_to_fit();
  var_slots_.clear();  // watched_vars_ stays: watched_variables() still answers after gradient()
}

std::vector<TensorPtr> Tape::gradient(const std::vector<TensorPtr>& targets,
                                      const std::vector<Source>& sources,
                                      const std::vector<TensorPtr>& output_gradients,
                                      bool unconnected_zero) {
  begin_use("GradientTape.gradient");
  std::vector<TensorPtr> result = backward(targets, sources, output_gradients);
  for (size_t i = 0; i < sources.size(); ++i) {
    if (result[i] || !unconnected_zero) continue;
    const TensorPtr& like = sources[i].variable ? sources[i].variable->peek() : sources[i].tensor;
    result[i] = TensorImpl::zeros(like->dtype(), like->shape(), "gradient");
  }
  end_use();
  return result;
}

void Tape::begin_use(const char* op) {
  if (used_ && !persistent_)
    throw RuntimeError(std::string(op) +
                       " can only be called once on a non-persistent tape; create the tape with "
                       "persistent=True to compute several gradients");
  used_ = true;
}

void Tape::end_use() {
  if (!persistent_) release();
}

std::vector<TensorPtr> Tape::gradient_streaming(const TensorPtr& target,
                                                const std::vector<Source>& sources,
                                                const SourceFinal& on_final) {
  begin_use("GradientTape.gradient");
  std::vector<TensorPtr> result =
      backward(std::vector<TensorPtr>{target}, sources, std::vector<TensorPtr>{}, &on_final);
  end_use();
  return result;
}

std::vector<TensorPtr> Tape::backward(const std::vector<TensorPtr>& targets,
                                      const std::vector<Source>& sources,
                                      const std::vector<TensorPtr>& output_gradients,
                                      const SourceFinal* on_final) {

  // The slots each source answers for (a variable may have been read as several tensors).
  std::vector<std::vector<int32_t>> source_slots(sources.size());
  std::vector<char> is_source(num_slots_, 0);
  for (size_t i = 0; i < sources.size(); ++i) {
    const Source& s = sources[i];
    auto add_slot = [&](int32_t slot) {
      if (slot < 0) return;
      auto& v = source_slots[i];
      if (std::find(v.begin(), v.end(), slot) == v.end()) v.push_back(slot);
      is_source[slot] = 1;
    };
    if (s.variable) {
      for (const auto& vs : var_slots_)
        if (vs.first == s.variable.get()) add_slot(vs.second);
      add_slot(slot_of(*s.variable->peek()));
    } else {
      add_slot(slot_of(*s.tensor));
    }
  }

  // Forward sweep: which slots depend on a source. Backward skips everything else.
  std::vector<char> needed(is_source);
  for (const TapeEntry& e : entries_) {
    bool any = false;
    for (int i = 0; i < e.n_inputs; ++i) any |= e.in_slot[i] >= 0 && needed[e.in_slot[i]];
    if (any) needed[e.out_slot] = 1;
  }

  std::vector<TensorPtr> grads(num_slots_);
  std::vector<TensorPtr> result(sources.size());
  auto source_sum = [&](size_t i) {
    TensorPtr sum;
    for (int32_t slot : source_slots[i]) {
      if (!grads[slot]) continue;
      sum = sum ? ops::add(sum, grads[slot]) : grads[slot];
    }
    return sum;
  };
  FinalSchedule schedule;
  if (on_final) schedule = final_schedule(entries_, source_slots, num_slots_);
  // Reports every source whose last contributing entry has index >= `walked` (all entries at or
  // above `walked` are done), in order of that index, highest first.
  auto report_final_from = [&](size_t walked) {
    while (schedule.next < schedule.order.size() &&
           schedule.final_at[schedule.order[schedule.next]] >= walked) {
      const size_t i = schedule.order[schedule.next++];
      result[i] = source_sum(i);
      (*on_final)(i, result[i]);
    }
  };
  bool any_target = false;
  for (size_t t = 0; t < targets.size(); ++t) {
    const int32_t slot = slot_of(*targets[t]);
    if (slot < 0 || slot >= static_cast<int32_t>(needed.size()) || !needed[slot]) continue;
    const TensorPtr& og = t < output_gradients.size() ? output_gradients[t] : TensorPtr();
    TensorPtr seed =
        og ? og : TensorImpl::full(targets[t]->dtype(), targets[t]->shape(), 1.0, "gradient");
    grads[slot] = grads[slot] ? ops::add(grads[slot], seed) : std::move(seed);
    any_target = true;
  }
  if (any_target) {
    // A persistent tape inside its `with` block records its own backward pass (higher order from
    // one tape); otherwise this tape must not record it. Outer tapes record it either way.
    const bool self_records = persistent_ && recording_ && active();
    struct Pause {
      Tape* t;
      bool was;
      ~Pause() { t->recording_ = was; }
    } pause{this, recording_};
    if (!self_records) recording_ = false;

    auto backward = [&](const TapeEntry& e, const TensorPtr& g) {
      bool local_need[kMaxNamedInputs];
      std::unique_ptr<bool[]> spilled_need;
      if (e.n_inputs > kMaxNamedInputs) spilled_need.reset(new bool[e.n_inputs]);
      bool* need = spilled_need ? spilled_need.get() : local_need;
      for (int k = 0; k < e.n_inputs; ++k) need[k] = e.in_slot[k] >= 0 && needed[e.in_slot[k]];
      PerInput<TensorPtr> in_grads;
      in_grads.resize(e.n_inputs);
      if (__builtin_expect(ops::numerics::enabled(), 0)) {
        ops::numerics::BackwardRuleScope rule(e.op);
        e.op->backward(e, g, need, in_grads.data());
        for (int k = 0; k < e.n_inputs; ++k)
          if (need[k])
            ops::numerics::check_rule_gradient(*e.op, e.in_shape.data(), e.n_inputs, k, in_grads[k]);
      } else {
        e.op->backward(e, g, need, in_grads.data());
      }
      for (int k = 0; k < e.n_inputs; ++k) {
        if (!need[k] || !in_grads[k]) continue;
        TensorPtr& acc = grads[e.in_slot[k]];
        acc = acc ? ops::add(acc, in_grads[k]) : in_grads[k];
      }
    };
    // By index over the entries recorded so far: a rule's ops may append entries to this tape.
    for (size_t i = entries_.size(); i-- > 0;) {
      if (on_final) report_final_from(i + 1);
      const int32_t out = entries_[i].out_slot;
      if (!needed[out] || !grads[out]) continue;
      const TensorPtr g = grads[out];
      if (!is_source[out]) grads[out].reset();  // free early
      if (self_records) {
        const TapeEntry copy = entries_[i];  // appending to entries_ may move the original
        backward(copy, g);
      } else {
        backward(entries_[i], g);
      }
    }
  }

  if (on_final) {
    report_final_from(0);
    return result;
  }
  for (size_t i = 0; i < sources.size(); ++i) result[i] = source_sum(i);
  return result;
}

bool Tape::active() const {
  for (const TapePtr& t : t_stack)
    if (t.get() == this) return true;
  return false;
}

namespace tape_stack {

void push(const TapePtr& t) { t_stack.push_back(t); }

void pop(const TapePtr& t) {
  for (auto it = t_stack.rbegin(); it != t_stack.rend(); ++it) {
    if (it->get() == t.get()) {
      t_stack.erase(std::next(it).base());
      return;
    }
  }
}

bool any_active() { return !t_stack.empty(); }

bool any_recording() {
  for (const TapePtr& t : t_stack)
    if (t->recording()) return true;
  return false;
}

void record(const OpDef& op, const TensorPtr* inputs, int n, const TensorPtr& out,
            const OpAttrs& attrs, const TensorPtr& aux) {
  for (const TapePtr& t : t_stack)
    if (t->recording()) t->maybe_record(op, inputs, n, out, attrs, aux);
}

void variable_read(const VariablePtr& v) {
  for (const TapePtr& t : t_stack) t->on_variable_read(v);
}

}  // namespace tape_stack
}  // namespace tapegrad

// Variable: a mutable, named container of a Tensor. Reading hands out the current Tensor without
// a copy (and lets active tapes watch it); updates write in place only when no one else holds the
// storage, otherwise they swap in a new Tensor (copy-on-write), so a Tensor read earlier never changes.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tapegrad {

class Variable;
using VariablePtr = std::shared_ptr<Variable>;

class Variable : public std::enable_shared_from_this<Variable> {
 public:
  Variable(TensorPtr initial, std::string name, bool trainable);

  // The current value; every active tape that watches accessed variables watches it.
  TensorPtr read();
  // The current value without notifying tapes (numpy export, repr).
  const TensorPtr& peek() const { return value_; }

  const std::string& name() const { return name_; }
  bool trainable() const { return trainable_; }
  uint64_t unique_id() const { return id_; }
  DType dtype() const { return value_->dtype(); }
  const Shape& shape() const { return value_->shape(); }

  // Shape and dtype must match the variable's; `op` names the caller in errors. On error the
  // variable is unchanged.
  void assign(const TensorPtr& v, const char* op);
  void assign_add(const TensorPtr& v, const char* op) { axpy(1.0, v, op); }
  void assign_sub(const TensorPtr& v, const char* op) { axpy(-1.0, v, op); }
  // value += alpha * v, in place when the storage is exclusively ours.
  void axpy(double alpha, const TensorPtr& v, const char* op);
  void check_compatible(const TensorPtr& v, const char* op) const;
  // The current value, ready for an in-place write: copied first unless this variable holds the
  // only reference to storage it owns, so a Tensor read earlier never changes.
  const TensorPtr& value_for_update(const char* op);

 private:
  bool exclusive() const;

  TensorPtr value_;
  std::string name_;
  bool trainable_;
  uint64_t id_;
};

}  // namespace tapegrad

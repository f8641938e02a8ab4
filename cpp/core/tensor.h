// Tensor: an immutable N-d value. Storage is shared (reshape is a view) and never written after
// the op that made it returns, except by a Variable that owns it alone (see tape/variable.h).
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/allocator.h"
#include "core/dtype.h"
#include "core/shape.h"

namespace tapegrad {

struct Storage {
  void* ptr = nullptr;
  size_t capacity = 0;
  explicit Storage(size_t nbytes, const char* op);
  ~Storage() { allocator::release(ptr, capacity); }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

// Where a tensor sits on a tape: the tape's serial number and the tensor's slot in it. Most
// tensors are on at most one or two tapes, so two refs live inline.
struct TapeRef {
  uint64_t tape = 0;
  int32_t slot = -1;
};

struct TapeRefs {
  TapeRef inline_refs[2];
  int n_inline = 0;
  std::vector<TapeRef> overflow;
  bool empty() const { return n_inline == 0; }
};

class TensorImpl;
using TensorPtr = std::shared_ptr<TensorImpl>;

class TensorImpl : public std::enable_shared_from_this<TensorImpl> {
 public:
  TensorImpl(DType dtype, const Shape& shape, std::shared_ptr<Storage> storage);
  ~TensorImpl();
  TensorImpl(const TensorImpl&) = delete;
  TensorImpl& operator=(const TensorImpl&) = delete;

  // A new tensor with uninitialised storage; `op` names the caller in size errors.
  static TensorPtr empty(DType dtype, const Shape& shape, const char* op);
  static TensorPtr zeros(DType dtype, const Shape& shape, const char* op);
  static TensorPtr full(DType dtype, const Shape& shape, double value, const char* op);
  // Same storage, another shape with the same element count.
  static TensorPtr view(const TensorPtr& src, const Shape& shape);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank; }
  int64_t numel() const { return shape_.numel(); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  void* raw() const { return storage_->ptr; }
  template <typename T> T* data() const { return static_cast<T*>(storage_->ptr); }
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  double item() const;  // value of a one-element tensor, as double

  TapeRefs& tape_refs() { return refs_; }

  static int64_t live_count() { return live_.load(std::memory_order_relaxed); }

 private:
  DType dtype_;
  Shape shape_;
  std::shared_ptr<Storage> storage_;
  TapeRefs refs_;
  static std::atomic<int64_t> live_;
};

}  // namespace tapegrad

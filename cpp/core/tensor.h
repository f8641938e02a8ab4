// Tensor: an immutable N-d value. A tensor owns its buffer (from the caching allocator), or is a
// view (reshape) of another tensor's buffer and then keeps that tensor alive. Buffers are never
// written after the op that made them returns, except by a Variable that holds the only
// reference (see tape/variable.h). One heap block per tensor: the buffer is not a separate object.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/allocator.h"
#include "core/dtype.h"
#include "core/shape.h"

namespace tapegrad {

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
  // Owns a fresh buffer of `capacity` bytes at `data` (from allocator::allocate).
  TensorImpl(DType dtype, const Shape& shape, void* data, size_t capacity);
  // A view of `base`'s buffer.
  TensorImpl(DType dtype, const Shape& shape, TensorPtr base);
  ~TensorImpl();
  TensorImpl(const TensorImpl&) = delete;
  TensorImpl& operator=(const TensorImpl&) = delete;

  // A new tensor with uninitialised storage; `op` names the caller in size errors.
  static TensorPtr empty(DType dtype, const Shape& shape, const char* op);
  static TensorPtr zeros(DType dtype, const Shape& shape, const char* op);
  static TensorPtr full(DType dtype, const Shape& shape, double value, const char* op);
  // Same buffer, another shape with the same element count.
  static TensorPtr view(const TensorPtr& src, const Shape& shape);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank; }
  int64_t numel() const { return shape_.numel(); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  void* raw() const { return data_; }
  template <typename T> T* data() const { return static_cast<T*>(data_); }
  // The tensor that owns this one's buffer (itself unless a view).
  const TensorImpl* buffer_owner() const { return base_ ? base_.get() : this; }
  double item() const;  // value of a one-element tensor, as double

  TapeRefs& tape_refs() { return refs_; }

  static int64_t live_count() { return live_.load(std::memory_order_relaxed); }

 private:
  DType dtype_;
  Shape shape_;
  void* data_;
  size_t capacity_ = 0;  // bytes owned; 0 for views
  TensorPtr base_;       // set for views
  TapeRefs refs_;
  static std::atomic<int64_t> live_;
};

}  // namespace tapegrad

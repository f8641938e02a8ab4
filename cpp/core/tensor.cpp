#include "core/tensor.h"

#include <cstring>

#include "core/errors.h"
#include "core/parallel.h"
#include "kernels/integer.h"
#include "kernels/kernels.h"

namespace tapegrad {

std::atomic<int64_t> TensorImpl::live_{0};

TensorImpl::TensorImpl(DType dtype, const Shape& shape, void* data, size_t capacity)
    : dtype_(dtype), shape_(shape), data_(data), capacity_(capacity) {
  live_.fetch_add(1, std::memory_order_relaxed);
}

TensorImpl::TensorImpl(DType dtype, const Shape& shape, TensorPtr base)
    : dtype_(dtype), shape_(shape), data_(base->data_), base_(std::move(base)) {
  live_.fetch_add(1, std::memory_order_relaxed);
}

TensorImpl::~TensorImpl() {
  if (!base_) allocator::release(data_, capacity_);
  live_.fetch_sub(1, std::memory_order_relaxed);
}

TensorPtr TensorImpl::empty(DType dtype, const Shape& shape, const char* op) {
  check_shape(shape, dtype_size(dtype), op);
  const size_t nbytes = static_cast<size_t>(shape.numel()) * dtype_size(dtype);
  size_t capacity = 0;
  void* data;
  try {
    data = allocator::allocate(nbytes, &capacity);
  } catch (const MemoryError&) {
    throw MemoryError(std::string(op) + ": out of memory allocating " + std::to_string(nbytes) +
                      " bytes");
  }
  try {
    return std::make_shared<TensorImpl>(dtype, shape, data, capacity);
  } catch (...) {
    allocator::release(data, capacity);
    throw;
  }
}

TensorPtr TensorImpl::zeros(DType dtype, const Shape& shape, const char* op) {
  TensorPtr t = empty(dtype, shape, op);
  std::memset(t->raw(), 0, t->nbytes());
  return t;
}

TensorPtr TensorImpl::full(DType dtype, const Shape& shape, double value, const char* op) {
  TensorPtr t = empty(dtype, shape, op);
  if (!is_floating(dtype)) {
    // The value converted as tapegrad.cast converts (one element), then copied.
    unsigned char one[8];
    kernels::convert(DType::F64, &value, dtype, one, 1);
    const size_t size = dtype_size(dtype);
    for (int64_t i = 0; i < t->numel(); ++i)
      std::memcpy(static_cast<unsigned char*>(t->raw()) + i * size, one, size);
    return t;
  }
  const auto& k = kernels::active();
  parallel_ranges(t->numel(), [&](int64_t lo, int64_t hi) {
    if (dtype == DType::F32) k.f32.fill(hi - lo, static_cast<float>(value), t->data<float>() + lo);
    else k.f64.fill(hi - lo, value, t->data<double>() + lo);
  });
  return t;
}

TensorPtr TensorImpl::view(const TensorPtr& src, const Shape& shape) {
  // A view of a view shares the root owner, so only owners ever hold buffers.
  TensorPtr root = src->base_ ? src->base_ : src;
  return std::make_shared<TensorImpl>(src->dtype_, shape, std::move(root));
}

double TensorImpl::item() const {
  return visit_any_dtype(dtype_, [&](auto zero) { return static_cast<double>(*data<decltype(zero)>()); });
}

}  // namespace tapegrad

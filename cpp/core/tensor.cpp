#include "core/tensor.h"

#include <cstring>

#include "core/errors.h"

namespace tapegrad {

std::atomic<int64_t> TensorImpl::live_{0};

Storage::Storage(size_t nbytes, const char* op) {
  try {
    ptr = allocator::allocate(nbytes, &capacity);
  } catch (const MemoryError&) {
    throw MemoryError(std::string(op) + ": out of memory allocating " + std::to_string(nbytes) +
                      " bytes");
  }
}

TensorImpl::TensorImpl(DType dtype, const Shape& shape, std::shared_ptr<Storage> storage)
    : dtype_(dtype), shape_(shape), storage_(std::move(storage)) {
  live_.fetch_add(1, std::memory_order_relaxed);
}

TensorImpl::~TensorImpl() { live_.fetch_sub(1, std::memory_order_relaxed); }

TensorPtr TensorImpl::empty(DType dtype, const Shape& shape, const char* op) {
  check_shape(shape, dtype_size(dtype), op);
  size_t nbytes = static_cast<size_t>(shape.numel()) * dtype_size(dtype);
  return std::make_shared<TensorImpl>(dtype, shape, std::make_shared<Storage>(nbytes, op));
}

TensorPtr TensorImpl::zeros(DType dtype, const Shape& shape, const char* op) {
  TensorPtr t = empty(dtype, shape, op);
  std::memset(t->raw(), 0, t->nbytes());
  return t;
}

TensorPtr TensorImpl::full(DType dtype, const Shape& shape, double value, const char* op) {
  TensorPtr t = empty(dtype, shape, op);
  int64_t n = t->numel();
  if (dtype == DType::F32) {
    float v = static_cast<float>(value);
    float* p = t->data<float>();
    for (int64_t i = 0; i < n; ++i) p[i] = v;
  } else {
    double* p = t->data<double>();
    for (int64_t i = 0; i < n; ++i) p[i] = value;
  }
  return t;
}

TensorPtr TensorImpl::view(const TensorPtr& src, const Shape& shape) {
  return std::make_shared<TensorImpl>(src->dtype_, shape, src->storage_);
}

double TensorImpl::item() const {
  return dtype_ == DType::F32 ? static_cast<double>(*data<float>()) : *data<double>();
}

}  // namespace tapegrad

#include "core/tensor.h"

#include <cstring>

#include "core/errors.h"
#include "kernels/kernels.h"

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
  const auto& k = kernels::active();
  if (dtype == DType::F32) k.f32.fill(t->numel(), static_cast<float>(value), t->data<float>());
  else k.f64.fill(t->numel(), value, t->data<double>());
  return t;
}

TensorPtr TensorImpl::view(const TensorPtr& src, const Shape& shape) {
  return std::make_shared<TensorImpl>(src->dtype_, shape, src->storage_);
}

double TensorImpl::item() const {
  return dtype_ == DType::F32 ? static_cast<double>(*data<float>()) : *data<double>();
}

}  // namespace tapegrad

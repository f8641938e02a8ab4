#include "bindings/dlpack.h"

#include <cstring>
#include <string>
#include <type_traits>

#include "bindings/dlpack_abi.h"
#include "core/errors.h"

namespace tapegrad::dlpack {
using namespace dlpack_abi;
namespace {

// What an export owns until the consumer calls its deleter (or the unconsumed capsule dies): the
// tensor, which keeps the shared memory alive, and the shape and strides the DLTensor points to.
struct Export {
  TensorPtr tensor;
  int64_t shape[kMaxRank];
  int64_t strides[kMaxRank];
  DLManagedTensor legacy;
  DLManagedTensorVersioned versioned;
};

DLDataType dl_dtype(DType d) {
  switch (d) {
    case DType::F32: return {kDLFloat, 32, 1};
    case DType::F64: return {kDLFloat, 64, 1};
    case DType::I32: return {kDLInt, 32, 1};
    case DType::I64: return {kDLInt, 64, 1};
    case DType::Bool: return {kDLBool, 8, 1};
  }
  return {kDLFloat, 32, 1};
}

// Row-major strides in elements (DLPack 1.0 asks for explicit strides).
void describe(Export* e, DLTensor* dl) {
  const TensorImpl& t = *e->tensor;
  int64_t stride = 1;
  for (int d = t.rank() - 1; d >= 0; --d) {
    e->shape[d] = t.shape().dims[d];
    e->strides[d] = stride;
    stride *= t.shape().dims[d];
  }
  dl->data = t.raw();
  dl->device = {kDLCPU, 0};
  dl->ndim = t.rank();
  dl->dtype = dl_dtype(t.dtype());
  dl->shape = e->shape;
  dl->strides = e->strides;
  dl->byte_offset = 0;
}

// Deleters may run on any thread, with or without the GIL: they only drop a tensor reference.
void delete_legacy(DLManagedTensor* self) { delete static_cast<Export*>(self->manager_ctx); }
void delete_versioned(DLManagedTensorVersioned* self) {
  delete static_cast<Export*>(self->manager_ctx);
}

// A capsule that no consumer renamed still owns its export.
void destroy_legacy_capsule(PyObject* capsule) {
  if (!PyCapsule_IsValid(capsule, kCapsule)) return;
  auto* m = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(capsule, kCapsule));
  if (m && m->deleter) m->deleter(m);
}
void destroy_versioned_capsule(PyObject* capsule) {
  if (!PyCapsule_IsValid(capsule, kVersionedCapsule)) return;
  auto* m = static_cast<DLManagedTensorVersioned*>(PyCapsule_GetPointer(capsule, kVersionedCapsule));
  if (m && m->deleter) m->deleter(m);
}

// The major version of a max_version argument: None gives 0 (the unversioned protocol).
long requested_major(py::handle max_version) {
  if (max_version.is_none()) return 0;
  if (!PyTuple_Check(max_version.ptr()) || PyTuple_GET_SIZE(max_version.ptr()) != 2)
    throw TypeError("__dlpack__: max_version must be None or a (major, minor) tuple, got " +
                    std::string(py::repr(max_version)));
  return py::cast<long>(max_version[py::int_(0)]);
}

std::string dtype_text(const DLDataType& t) {
  static const char* codes[] = {"int", "uint", "float", "opaque", "bfloat", "complex", "bool"};
  const std::string code = t.code < 7 ? codes[t.code] : "code " + std::to_string(t.code);
  return code + std::to_string(t.bits) + (t.lanes != 1 ? "x" + std::to_string(t.lanes) : "");
}

// The tapegrad dtype a DLPack element type is imported as (that of tapegrad.constant for the
// matching numpy array), or TypeError.
DType import_dtype(const DLDataType& t) {
  if (t.lanes == 1) {
    if (t.code == kDLFloat && t.bits == 32) return DType::F32;
    if (t.code == kDLFloat && t.bits == 64) return DType::F64;
    if (t.code == kDLInt && (t.bits == 8 || t.bits == 16 || t.bits == 32)) return DType::I32;
    if (t.code == kDLInt && t.bits == 64) return DType::I64;
    if (t.code == kDLUInt && (t.bits == 8 || t.bits == 16)) return DType::I32;
    if (t.code == kDLUInt && t.bits == 32) return DType::I64;
    if (t.code == kDLBool && t.bits == 8) return DType::Bool;
  }
  throw TypeError("from_dlpack: element type " + dtype_text(t) +
                  " is not supported (expected float32, float64, signed integers, uint8/16/32 or "
                  "bool); convert it before the export");
}

// Copies every element of `dl` (any strides, in elements) into `out`, converting S to T.
template <typename S, typename T>
void copy_elements(const DLTensor& dl, const int64_t* strides, T* out, int64_t count) {
  const S* base = reinterpret_cast<const S*>(static_cast<const char*>(dl.data) + dl.byte_offset);
  const int rank = dl.ndim;
  int64_t index[kMaxRank] = {};
  int64_t offset = 0;
  for (int64_t i = 0; i < count; ++i) {
    if constexpr (std::is_same_v<T, bool>) out[i] = base[offset] != 0;
    else out[i] = static_cast<T>(base[offset]);
    for (int d = rank - 1; d >= 0; --d) {  // odometer over the source's indices
      offset += strides[d];
      if (++index[d] < dl.shape[d]) break;
      offset -= strides[d] * dl.shape[d];
      index[d] = 0;
    }
  }
}

template <typename T>
void copy_from(const DLTensor& dl, const int64_t* strides, T* out, int64_t count) {
  const DLDataType t = dl.dtype;
  switch (t.code) {
    case kDLFloat:
      if (t.bits == 32) return copy_elements<float>(dl, strides, out, count);
      return copy_elements<double>(dl, strides, out, count);
    case kDLInt:
      if (t.bits == 8) return copy_elements<int8_t>(dl, strides, out, count);
      if (t.bits == 16) return copy_elements<int16_t>(dl, strides, out, count);
      if (t.bits == 32) return copy_elements<int32_t>(dl, strides, out, count);
      return copy_elements<int64_t>(dl, strides, out, count);
    case kDLUInt:
      if (t.bits == 8) return copy_elements<uint8_t>(dl, strides, out, count);
      if (t.bits == 16) return copy_elements<uint16_t>(dl, strides, out, count);
      return copy_elements<uint32_t>(dl, strides, out, count);
    default:
      return copy_elements<uint8_t>(dl, strides, out, count);  // bool, one byte
  }
}

TensorPtr copy_out(const DLTensor& dl) {
  if (dl.device.device_type != kDLCPU)
    throw ValueError("from_dlpack: only host (CPU) memory can be imported; the tensor is on DLPack "
                     "device type " + std::to_string(dl.device.device_type));
  if (dl.ndim < 0 || dl.ndim > kMaxRank)
    throw ValueError("from_dlpack: tensors of rank " + std::to_string(dl.ndim) +
                     " are not supported (the maximum is " + std::to_string(kMaxRank) + ")");
  const DType dtype = import_dtype(dl.dtype);
  Shape shape;
  for (int d = 0; d < dl.ndim; ++d) {
    if (dl.shape[d] < 0)
      throw ValueError("from_dlpack: dimension " + std::to_string(d) + " has negative size " +
                       std::to_string(dl.shape[d]));
    shape.push_back(dl.shape[d]);
  }
  TensorPtr t = TensorImpl::empty(dtype, shape, "from_dlpack");
  if (t->numel() == 0) return t;
  int64_t compact[kMaxRank];
  int64_t stride = 1;
  for (int d = dl.ndim - 1; d >= 0; --d) {
    compact[d] = stride;
    stride *= dl.shape[d];
  }
  const int64_t* strides = dl.strides ? dl.strides : compact;
  visit_any_dtype(dtype, [&](auto zero) {
    copy_from(dl, strides, t->data<decltype(zero)>(), t->numel());
  });
  return t;
}

}  // namespace

py::capsule export_tensor(const TensorPtr& t, py::handle stream, py::handle max_version,
                          py::handle dl_device, py::handle copy) {
  if (!stream.is_none())
    throw ValueError("__dlpack__: stream must be None for host memory, got " +
                     std::string(py::repr(stream)));
  if (!dl_device.is_none() && !dl_device.equal(device()))
    throw py::buffer_error("__dlpack__: tapegrad tensors are in host memory (device (1, 0)); "
                           "cannot export to device " + std::string(py::repr(dl_device)));
  const bool copied = !copy.is_none() && PyObject_IsTrue(copy.ptr()) == 1;
  auto* e = new Export;
  if (copied) {
    e->tensor = TensorImpl::empty(t->dtype(), t->shape(), "__dlpack__");
    std::memcpy(e->tensor->raw(), t->raw(), t->nbytes());
  } else {
    e->tensor = t;
  }
  try {
    if (requested_major(max_version) >= 1) {
      DLManagedTensorVersioned& m = e->versioned;
      m.version = {kMajorVersion, kMinorVersion};
      m.manager_ctx = e;
      m.deleter = delete_versioned;
      // Shared memory is read-only: tensors are immutable. A private copy is the consumer's.
      m.flags = copied ? kFlagIsCopied : kFlagReadOnly;
      describe(e, &m.dl_tensor);
      return py::capsule(&m, kVersionedCapsule, destroy_versioned_capsule);
    }
    DLManagedTensor& m = e->legacy;
    m.manager_ctx = e;
    m.deleter = delete_legacy;
    describe(e, &m.dl_tensor);
    return py::capsule(&m, kCapsule, destroy_legacy_capsule);
  } catch (...) {
    delete e;
    throw;
  }
}

py::tuple device() { return py::make_tuple(kDLCPU, 0); }

namespace {

std::string type_name(py::handle obj) { return py::str(py::type::of(obj).attr("__name__")); }

// obj.__dlpack__ with max_version=(1, 0), or without it for producers that predate DLPack 1.0
// (they refuse the argument with a TypeError).
py::object call_producer(py::handle obj) {
  try {
    py::dict kwargs;
    kwargs["max_version"] = py::make_tuple(kMajorVersion, kMinorVersion);
    return obj.attr("__dlpack__")(**kwargs);
  } catch (py::error_already_set& err) {
    if (!err.matches(PyExc_TypeError)) throw;
  }
  return obj.attr("__dlpack__")();
}

}  // namespace

TensorPtr import_tensor(py::handle obj) {
  py::object capsule;
  if (PyCapsule_CheckExact(obj.ptr())) {
    capsule = py::reinterpret_borrow<py::object>(obj);
  } else {
    if (!py::hasattr(obj, "__dlpack__"))
      throw TypeError("from_dlpack: expected an object with __dlpack__ (a numpy array, torch or "
                      "jax tensor, ...) or a DLPack capsule, got " + type_name(obj));
    try {
      if (py::hasattr(obj, "__dlpack_device__")) {
        const py::tuple dev = py::cast<py::tuple>(obj.attr("__dlpack_device__")());
        if (dev.size() != 2 || py::cast<long>(dev[0]) != kDLCPU)
          throw ValueError("from_dlpack: only host (CPU) memory can be imported; the tensor is on "
                           "DLPack device " + std::string(py::repr(dev)));
      }
      capsule = call_producer(obj);
    } catch (py::error_already_set& err) {
      // The producer's own refusal (an element type it cannot export, ...), named for this call.
      if (!err.matches(PyExc_TypeError) && !err.matches(PyExc_ValueError) &&
          !err.matches(PyExc_BufferError) && !err.matches(PyExc_RuntimeError))
        throw;
      throw TypeError("from_dlpack: " + type_name(obj) + " could not export a DLPack tensor (" +
                      err.what() + ")");
    } catch (py::cast_error&) {
      throw TypeError("from_dlpack: " + type_name(obj) + ".__dlpack_device__ did not return a "
                      "(device type, device id) tuple");
    }
  }
  PyObject* cap = capsule.ptr();
  // On success the capsule is renamed (the export is ours) and released at once: the data is
  // copied. On failure the capsule keeps its name, and its destructor releases the export.
  if (PyCapsule_IsValid(cap, kVersionedCapsule)) {
    auto* m = static_cast<DLManagedTensorVersioned*>(PyCapsule_GetPointer(cap, kVersionedCapsule));
    if (m->version.major != kMajorVersion)
      throw ValueError("from_dlpack: DLPack version " + std::to_string(m->version.major) + "." +
                       std::to_string(m->version.minor) + " is not supported (expected 1.x)");
    TensorPtr t = copy_out(m->dl_tensor);
    if (PyCapsule_SetName(cap, kUsedVersionedCapsule) != 0) throw py::error_already_set();
    if (m->deleter) m->deleter(m);
    return t;
  }
  if (PyCapsule_IsValid(cap, kCapsule)) {
    auto* m = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(cap, kCapsule));
    TensorPtr t = copy_out(m->dl_tensor);
    if (PyCapsule_SetName(cap, kUsedCapsule) != 0) throw py::error_already_set();
    if (m->deleter) m->deleter(m);
    return t;
  }
  throw TypeError("from_dlpack: expected an unconsumed DLPack capsule (named \"dltensor\" or "
                  "\"dltensor_versioned\"), got " + std::string(py::repr(capsule)));
}

}  // namespace tapegrad::dlpack

// DLPack interop: Tensor.__dlpack__ / __dlpack_device__ (a zero-copy, read-only export) and
// tapegrad.from_dlpack (an import that copies into a new tensor, as imports from numpy do).
#pragma once
#include <pybind11/pybind11.h>

#include "core/tensor.h"

namespace tapegrad::dlpack {
namespace py = pybind11;

// A capsule holding `t`'s memory: "dltensor_versioned" (DLPack 1.0, flagged read-only) when the
// consumer passes max_version >= (1, 0), else the unversioned "dltensor". The capsule, and after
// consumption the consumer, keeps the tensor alive until the deleter runs. `stream` must be None
// (host memory), `dl_device` None or (1, 0); copy=True exports a private copy.
py::capsule export_tensor(const TensorPtr& t, py::handle stream, py::handle max_version,
                          py::handle dl_device, py::handle copy);

// (kDLCPU, 0): tapegrad tensors live in host memory.
py::tuple device();

// A new tensor holding a copy of the DLPack tensor `obj` exports (an object with __dlpack__, or
// a capsule): float32/float64, int8..int64 (kept as int32 up to 32 bits, int64 above), uint8/16
// (int32), uint32 (int64) and bool, any strides. TypeError/ValueError naming from_dlpack for
// other dtypes, devices and ranks.
TensorPtr import_tensor(py::handle obj);

}  // namespace tapegrad::dlpack

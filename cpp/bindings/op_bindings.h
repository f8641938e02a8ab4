// Python entry points generated from the op registry: one converter per argument kind and one
// generic function that reads any op's signature from its entry, so an op in the registry needs
// no hand-written binding.
#pragma once
#include <pybind11/pybind11.h>

#include "core/tensor.h"
#include "ops/op_def.h"

namespace tapegrad::op_bindings {
namespace py = pybind11;

// Converts `args` (the op's tensor arguments, then its attributes, in declaration order) and
// runs the op: the one path from Python into any registered op.
TensorPtr call(const OpDef& op, const py::handle* args);

// Sets the Python error for the C++ exception being handled, as pybind11 would; returns null.
// Only valid inside a catch block.
PyObject* translate_current_exception();

// The registered op `name`; aborts the import with a RuntimeError when there is none.
const OpDef& op(const char* name);

// Defines every registered op as a function of `m` (an internal one with a private binding as
// `_<name>`); `m._op_names` lists the public ones in order, and `m.__all__` adds the value types
// and constructors that `import *` brings along.
void bind_all(py::module_& m);

}  // namespace tapegrad::op_bindings

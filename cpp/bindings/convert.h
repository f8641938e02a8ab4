// Python <-> engine conversion: turns op arguments (Tensor, Variable, numpy arrays, Python numbers,
// nested lists) into tensors with the dtype rules of the API, and tensors into numpy views.
// Lives with the bindings because it touches Python; the engine itself never does.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <vector>

#include "core/tensor.h"
#include "tape/variable.h"

namespace tapegrad::convert {
namespace py = pybind11;

bool is_tensor(py::handle h);
// The tensor inside `h` when h's type is exactly Tensor (no subclass), else null: the fast path of
// the op entry points, which skips conversion for the common case.
const TensorPtr* exact_tensor(py::handle h);
bool is_variable(py::handle h);

// Converts `obj` for argument `arg` of `op`. Python numbers, lists and tuples, integer arrays and
// 0-d values are "weak": they take `want` when given. Floating arrays keep their dtype unless
// `force` is set. Tensors and Variables are returned as they are (Variables are read, so active
// tapes watch them). Throws TypeError/ValueError naming op and argument.
TensorPtr to_tensor(py::handle obj, const char* op, const char* arg, const DType* want = nullptr,
                    bool force = false);
// Like to_tensor, but an integer or bool numpy array keeps an integer or bool dtype (int32 for
// up to 32-bit signed integers and 8/16-bit unsigned ones, else int64): constant and
// convert_to_tensor without a dtype.
TensorPtr to_tensor_keeping_integers(py::handle obj, const char* op, const char* arg);
// Converts both operands of a binary op, giving weak operands the other one's dtype.
void to_tensor_pair(py::handle a, py::handle b, const char* op, TensorPtr* ta, TensorPtr* tb);
// The sequence argument of a variadic op (concat, stack): a list or tuple of at least one value;
// weak values take the dtype of the first strong one (float32 when none is strong).
std::vector<TensorPtr> to_tensor_list(py::handle seq, const char* op, const char* arg);
// A value of `dtype`: weak values are converted to it; Tensors and Variables must already have it,
// and so must floating numpy arrays unless `convert_strong` (an explicit conversion request).
TensorPtr to_tensor_as(py::handle obj, DType dtype, const char* op, const char* arg,
                       bool convert_strong = false);

// np.float32 / np.int64 / np.dtype / "bool" ... -> DType, for the five dtypes (float32, float64,
// int32, int64, bool); TypeError naming `op` otherwise.
DType dtype_from_py(py::handle obj, const char* op);
py::dtype to_numpy_dtype(DType d);

// Flags: a bool, a Python int or a numpy scalar integer (never an array); TypeError naming `op`
// and `what` otherwise.
bool flag_from_py(py::handle obj, const char* op, const char* what);
// Axis arguments: None -> all (returns false), int or sequence of ints.
bool axes_from_py(py::handle obj, const char* op, std::vector<int64_t>* axes);
// Shape arguments: int or sequence of ints.
std::vector<int64_t> ints_from_py(py::handle obj, const char* op, const char* what);

// A read-only numpy array sharing the tensor's storage; `owner` keeps that storage alive.
py::array numpy_view(const TensorPtr& t, py::handle owner);
py::tuple shape_tuple(const Shape& s);

}  // namespace tapegrad::convert

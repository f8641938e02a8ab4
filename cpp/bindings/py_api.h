// The Python-facing entry points that are not registry ops (those are generated, see
// op_bindings.h): tensors, variables, tapes and the gradient primitive.
// Argument checking and conversion live here; module.cpp only binds these.
#pragma once
#include <pybind11/pybind11.h>

#include "core/tensor.h"
#include "tape/tape.h"
#include "tape/variable.h"

namespace tapegrad::py_api {
namespace py = pybind11;
using H = py::handle;

TensorPtr constant(H value, H dtype);
TensorPtr convert_to_tensor(H value, H dtype);

py::object tensor_float(const TensorPtr& t);
// int(t): a one-element tensor's value, truncated toward zero for floats (NaN and infinities
// raise as Python's int() does). Tensors define no __index__: the argument converters read
// anything with one as an integer.
py::object tensor_int(const TensorPtr& t);
std::string tensor_repr(const TensorPtr& t, H owner);
py::object tensor_array(const TensorPtr& t, H owner, H dtype, H copy);
py::ssize_t tensor_len(const TensorPtr& t);

VariablePtr make_variable(H initial_value, H trainable, H name, H dtype);
std::string variable_repr(const VariablePtr& v);

void tape_watch(Tape& tape, H x);
py::list tape_gradient(Tape& tape, H target, H sources, H output_gradients, H unconnected_zero);
// GradientTape.gradient for one target that calls on_final(index, gradient or None) for each
// source as soon as its gradient is final, while backward still runs.
py::list tape_gradient_streaming(Tape& tape, py::handle target, py::handle sources,
                                 py::handle on_final);
py::list tape_jacobian(Tape& tape, H target, H sources, H unconnected_zero);
py::object tape_batch_jacobian(Tape& tape, H target, H source, H unconnected_zero);

// The one primitive behind the four gradient wrappers: calls f(*args, **kwargs) under a fresh
// tape and returns (value, result). With watch=None the sources are the trainable variables f
// read, in creation order, and result is [(grad, var), ...]; otherwise the sources are the
// Tensors and Variables in `watch` and result is [grad, ...]. A value that is a nested
// list/tuple/dict is differentiated as the sum of its tensors.
py::tuple differentiate(H f, H args, H kwargs, H watch);

}  // namespace tapegrad::py_api

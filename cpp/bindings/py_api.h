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

// The Python scalar protocols of a one-element tensor (of any rank, as numpy's and TensorFlow's
// tensors convert); a tensor of any other size is a TypeError (ValueError for bool, as numpy's
// truth value) whose message starts with the protocol's name.
py::object tensor_float(const TensorPtr& t);
// int(t): truncated toward zero for floats (NaN and infinities raise as Python's int() does).
py::object tensor_int(const TensorPtr& t);
py::object tensor_complex(const TensorPtr& t);
bool tensor_bool(const TensorPtr& t);
// operator.index(t): only a rank-0 int32 or int64 tensor is an index (numpy's ndarray.__index__
// rule), so a one-element 1-D tensor used as a numpy index keeps its axis, as an array's would.
py::object tensor_index(const TensorPtr& t);
std::string tensor_repr(const TensorPtr& t, H owner);
// str(t): the values as numpy prints them (summarised beyond numpy's threshold, as repr is).
py::str tensor_str(const TensorPtr& t, H owner);
// format(t, spec): an empty spec gives str(t) for any shape; another spec formats the numpy scalar
// of a rank-0 tensor as numpy does (".4f", "5d", ...); a spec numpy refuses for the shape is an
// error that starts with "format".
py::str tensor_format(const TensorPtr& t, H owner, H spec);
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

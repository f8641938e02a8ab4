#include "bindings/py_api.h"

#include <algorithm>
#include <string>
#include <type_traits>

#include "bindings/convert.h"
#include "core/errors.h"
#include "ops/ops.h"

namespace tapegrad::py_api {
using convert::to_tensor;

TensorPtr constant(H value, H dtype) {
  if (dtype.is_none()) return convert::to_tensor_keeping_integers(value, "constant", "value");
  const DType d = convert::dtype_from_py(dtype, "constant");
  return ops::cast(to_tensor(value, "constant", "value", &d, /*force=*/true), d);
}

TensorPtr convert_to_tensor(H value, H dtype) {
  if (dtype.is_none()) return convert::to_tensor_keeping_integers(value, "convert_to_tensor", "value");
  const DType d = convert::dtype_from_py(dtype, "convert_to_tensor");
  return convert::to_tensor_as(value, d, "convert_to_tensor", "value", /*convert_strong=*/true);
}

namespace {

// `protocol` of a tensor that must hold exactly one element.
void require_one_element(const TensorPtr& t, const char* protocol, const char* target) {
  if (t->numel() != 1)
    throw TypeError(std::string(protocol) + ": only one-element tensors can be converted to " +
                    target + ", got shape " + t->shape().str());
}

}  // namespace

py::object tensor_float(const TensorPtr& t) {
  require_one_element(t, "float", "a Python scalar");
  return py::float_(t->item());
}

py::object tensor_int(const TensorPtr& t) {
  require_one_element(t, "int", "a Python int");
  return visit_any_dtype(t->dtype(), [&](auto zero) -> py::object {
    using T = decltype(zero);
    const T v = *t->data<T>();
    if constexpr (std::is_floating_point_v<T>) {
      PyObject* i = PyLong_FromDouble(v);  // raises for NaN and infinities
      if (!i) throw py::error_already_set();
      return py::reinterpret_steal<py::object>(i);
    } else {
      return py::int_(static_cast<long long>(v));
    }
  });
}

py::object tensor_complex(const TensorPtr& t) {
  require_one_element(t, "complex", "a Python complex");
  PyObject* c = PyComplex_FromDoubles(t->item(), 0.0);
  if (!c) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(c);
}

bool tensor_bool(const TensorPtr& t) {
  if (t->numel() != 1)
    throw ValueError("bool: the truth value of a tensor with " + std::to_string(t->numel()) +
                     " elements is ambiguous; use tapegrad.reduce_any or tapegrad.reduce_all");
  return t->item() != 0.0;
}

py::object tensor_index(const TensorPtr& t) {
  if (t->rank() != 0 || (t->dtype() != DType::I32 && t->dtype() != DType::I64))
    throw TypeError("index: only integer scalar tensors (int32 or int64, shape ()) can be used as "
                    "an index, got a tensor of dtype " + std::string(dtype_name(t->dtype())) +
                    " and shape " + t->shape().str());
  return tensor_int(t);
}

py::ssize_t tensor_len(const TensorPtr& t) {
  if (t->rank() == 0) throw TypeError("len: a rank-0 (scalar) tensor has no len()");
  return static_cast<py::ssize_t>(t->shape().dims[0]);
}

std::string tensor_repr(const TensorPtr& t, H owner) {
  py::array arr = convert::numpy_view(t, owner);
  return "<tapegrad.Tensor shape=" + std::string(py::str(convert::shape_tuple(t->shape()))) +
         " dtype=" + dtype_name(t->dtype()) + " numpy=" + std::string(py::str(arr)) + ">";
}

py::str tensor_str(const TensorPtr& t, H owner) {
  return py::str(convert::numpy_view(t, owner));
}

py::str tensor_format(const TensorPtr& t, H owner, H spec) {
  if (!PyUnicode_Check(spec.ptr()))
    throw TypeError("format: the format spec must be a str, got " + std::string(py::repr(spec)));
  // An empty spec gives str(t), as for Python's own values (numpy's float32 scalar would give
  // the float64 digits instead).
  if (PyUnicode_GetLength(spec.ptr()) == 0) return tensor_str(t, owner);
  py::array arr = convert::numpy_view(t, owner);
  py::object values = t->rank() == 0 ? arr[py::tuple()] : py::object(arr);
  try {
    return py::str(values.attr("__format__")(spec));
  } catch (py::error_already_set& e) {
    if (!e.matches(PyExc_TypeError) && !e.matches(PyExc_ValueError)) throw;
    const std::string message = "format: cannot format a tensor of dtype " +
        std::string(dtype_name(t->dtype())) + " and shape " + t->shape().str() + " with the spec " +
        std::string(py::repr(spec)) +
        " (" + std::string(py::str(e.value())) +
        "); a spec formats one value (shape ()), an empty spec any shape";
    if (e.matches(PyExc_TypeError)) throw TypeError(message);
    throw ValueError(message);
  }
}

py::object tensor_array(const TensorPtr& t, H owner, H dtype, H copy) {
  py::array arr = convert::numpy_view(t, owner);
  const bool want_copy = !copy.is_none() && convert::flag_from_py(copy, "__array__", "copy");
  if (!dtype.is_none()) return arr.attr("astype")(dtype, py::arg("copy") = want_copy);
  if (want_copy) return arr.attr("copy")();
  return std::move(arr);
}

VariablePtr make_variable(H initial_value, H trainable, H name, H dtype) {
  const char* op = "Variable";
  py::object value = py::reinterpret_borrow<py::object>(initial_value);
  // TF allows a zero-argument callable that produces the initial value.
  if (PyCallable_Check(value.ptr()) && !convert::is_tensor(value) && !convert::is_variable(value))
    value = value();
  TensorPtr t;
  if (dtype.is_none()) {
    t = convert::to_tensor_keeping_integers(value, op, "initial_value");
  } else {
    const DType d = convert::dtype_from_py(dtype, op);
    t = ops::cast(to_tensor(value, op, "initial_value", &d, /*force=*/true), d);
  }
  if (!PyBool_Check(trainable.ptr()))
    throw TypeError(std::string(op) + ": trainable must be a bool, got " +
                    std::string(py::repr(trainable)));
  std::string n = "Variable";
  if (!name.is_none()) {
    if (!PyUnicode_Check(name.ptr()))
      throw TypeError(std::string(op) + ": name must be a string, got " + std::string(py::repr(name)));
    n = py::cast<std::string>(name);
    if (n.empty()) throw ValueError(std::string(op) + ": name must not be empty");
  }
  return std::make_shared<Variable>(std::move(t), n + ":0", trainable.ptr() == Py_True);
}

std::string variable_repr(const VariablePtr& v) {
  py::object owner = py::cast(v->peek());
  py::array arr = convert::numpy_view(v->peek(), owner);
  return "<tapegrad.Variable '" + v->name() + "' shape=" +
         std::string(py::str(convert::shape_tuple(v->shape()))) + " dtype=" +
         dtype_name(v->dtype()) + " numpy=" + std::string(py::str(arr)) + ">";
}

void tape_watch(Tape& tape, H x) {
  if (convert::is_tensor(x)) return tape.watch(py::cast<TensorPtr>(x));
  if (convert::is_variable(x)) return tape.watch(py::cast<VariablePtr>(x));
  throw TypeError("GradientTape.watch: expected a Tensor or Variable, got " +
                  std::string(py::repr(py::type::of(x))) +
                  "; convert values with tapegrad.constant first");
}

namespace {

TensorPtr target_tensor(H target, const char* op) {
  if (convert::is_tensor(target)) return py::cast<TensorPtr>(target);
  if (convert::is_variable(target)) return py::cast<Variable&>(target).peek();
  throw TypeError(std::string(op) + ": target must be a Tensor or Variable, got " +
                  std::string(py::repr(py::type::of(target))));
}

std::vector<Source> sources_from_py(H sources, const char* op) {
  std::vector<Source> srcs;
  size_t i = 0;
  for (H s : py::reinterpret_borrow<py::iterable>(sources)) {
    Source src;
    if (convert::is_tensor(s)) src.tensor = py::cast<TensorPtr>(s);
    else if (convert::is_variable(s)) src.variable = py::cast<VariablePtr>(s);
    else
      throw TypeError(std::string(op) + ": sources must be Tensors or Variables, got " +
                      std::string(py::repr(py::type::of(s))) + " at position " + std::to_string(i));
    srcs.push_back(std::move(src));
    ++i;
  }
  return srcs;
}

py::list tensors_or_none(const std::vector<TensorPtr>& ts) {
  py::list out(ts.size());
  for (size_t j = 0; j < ts.size(); ++j) out[j] = ts[j] ? py::cast(ts[j]) : py::none();
  return out;
}

TensorPtr output_gradient(H og, const TensorPtr& target, const char* op) {
  if (og.is_none()) return nullptr;
  TensorPtr t = convert::to_tensor_as(og, target->dtype(), op, "output_gradients");
  if (t->shape() != target->shape())
    throw ValueError(std::string(op) + ": output_gradients has shape " + t->shape().str() +
                     " but the target has shape " + target->shape().str());
  return t;
}

}  // namespace

py::list tape_gradient(Tape& tape, H target, H sources, H output_gradients, H unconnected_zero) {
  const char* op = "GradientTape.gradient";
  // A list of targets (a flattened structure, with output gradients in a list of the same
  // length, None entries meaning ones) or one target.
  std::vector<TensorPtr> targets, ogs;
  if (PyList_Check(target.ptr())) {
    auto list = py::reinterpret_borrow<py::list>(target);
    for (H t : list) targets.push_back(target_tensor(t, op));
    if (!output_gradients.is_none()) {
      if (!PyList_Check(output_gradients.ptr()) ||
          static_cast<size_t>(PyList_GET_SIZE(output_gradients.ptr())) != targets.size())
        throw ValueError(std::string(op) + ": output_gradients must have the target's structure (" +
                         std::to_string(targets.size()) + " tensors)");
      auto og_list = py::reinterpret_borrow<py::list>(output_gradients);
      for (size_t i = 0; i < targets.size(); ++i)
        ogs.push_back(output_gradient(og_list[i], targets[i], op));
    }
  } else {
    targets.push_back(target_tensor(target, op));
    ogs.push_back(output_gradient(output_gradients, targets[0], op));
  }
  const std::vector<Source> srcs = sources_from_py(sources, op);
  return tensors_or_none(
      tape.gradient(targets, srcs, ogs, convert::flag_from_py(unconnected_zero, op, "unconnected_zero")));
}

py::list tape_gradient_streaming(Tape& tape, H target, H sources, H on_final) {
  const char* op = "GradientTape.gradient";
  if (!PyCallable_Check(on_final.ptr()))
    throw TypeError(std::string(op) + ": on_final must be a callable taking (index, gradient), got " +
                    std::string(py::repr(py::type::of(on_final))));
  const TensorPtr t = target_tensor(target, op);
  const std::vector<Source> srcs = sources_from_py(sources, op);
  const auto callback = py::reinterpret_borrow<py::object>(on_final);
  // Kernels may release the GIL while backward runs: the callback takes it back to call Python.
  const Tape::SourceFinal report = [&callback](size_t i, const TensorPtr& g) {
    py::gil_scoped_acquire gil;
    callback(i, g ? py::cast(g) : py::none());
  };
  return tensors_or_none(tape.gradient_streaming(t, srcs, report));
}

py::list tape_jacobian(Tape& tape, H target, H sources, H unconnected_zero) {
  const char* op = "GradientTape.jacobian";
  const TensorPtr t = target_tensor(target, op);
  const std::vector<Source> srcs = sources_from_py(sources, op);
  return tensors_or_none(
      tape.jacobian(t, srcs, convert::flag_from_py(unconnected_zero, op, "unconnected_zero")));
}

py::object tape_batch_jacobian(Tape& tape, H target, H source, H unconnected_zero) {
  const char* op = "GradientTape.batch_jacobian";
  const TensorPtr t = target_tensor(target, op);
  const py::tuple one = py::make_tuple(source);
  const TensorPtr j = tape.batch_jacobian(t, sources_from_py(one, op)[0],
                                          convert::flag_from_py(unconnected_zero, op, "unconnected_zero"));
  return j ? py::cast(j) : py::none();
}

namespace {

std::string function_name(H f) {
  return py::hasattr(f, "__name__") ? std::string(py::str(f.attr("__name__")))
                                    : std::string(py::repr(f));
}

// The tensors of what `f` returned: a Tensor, a Variable, a value to convert, or a nested
// list/tuple/dict of them (depth first, dicts in their order).
void flatten_value(H value, H f, std::vector<TensorPtr>* out, int depth = 0) {
  if (value.is_none())
    throw ValueError(function_name(f) + " returned None" + (depth ? " inside its result" : "") +
                     ": the function to differentiate must return a Tensor or a structure of them");
  if (depth > 100)
    throw ValueError(function_name(f) + " returned a structure nested more than 100 deep");
  if (PyList_Check(value.ptr()) || PyTuple_Check(value.ptr())) {
    for (H item : py::reinterpret_borrow<py::sequence>(value)) flatten_value(item, f, out, depth + 1);
  } else if (PyDict_Check(value.ptr())) {
    for (auto item : py::reinterpret_borrow<py::dict>(value)) flatten_value(item.second, f, out, depth + 1);
  } else if (convert::is_tensor(value)) {
    out->push_back(py::cast<TensorPtr>(value));
  } else if (convert::is_variable(value)) {
    out->push_back(py::cast<Variable&>(value).peek());
  } else {
    out->push_back(to_tensor(value, "gradient", "value"));
  }
}

}  // namespace

py::tuple differentiate(H f, H args, H kwargs, H watch) {
  const bool implicit = watch.is_none();
  auto tape = std::make_shared<Tape>(false, implicit);
  auto a = py::reinterpret_borrow<py::tuple>(args);
  std::vector<Source> sources;
  if (!implicit) {
    for (H x : py::reinterpret_borrow<py::iterable>(watch)) {
      Source s;
      if (convert::is_tensor(x)) s.tensor = py::cast<TensorPtr>(x), tape->watch(s.tensor);
      else s.variable = py::cast<VariablePtr>(x), tape->watch(s.variable);
      sources.push_back(std::move(s));
    }
  }
  py::object value;
  {
    tape_stack::push(tape);
    struct Pop {
      TapePtr t;
      ~Pop() { tape_stack::pop(t); }
    } pop{tape};
    value = kwargs.is_none() ? f(*a) : f(*a, **py::reinterpret_borrow<py::dict>(kwargs));
  }
  std::vector<VariablePtr> vars;
  if (implicit) {
    vars = tape->watched_variables();
    std::stable_sort(vars.begin(), vars.end(), [](const VariablePtr& x, const VariablePtr& y) {
      return x->unique_id() < y->unique_id();
    });
    if (vars.empty())
      throw ValueError("No trainable variables were accessed while the function was being computed.");
    for (const VariablePtr& v : vars) sources.push_back(Source{nullptr, v});
  }
  // A structure of values is differentiated as the sum of all its tensors, as TensorFlow does.
  std::vector<TensorPtr> targets;
  flatten_value(value, f, &targets);
  std::vector<TensorPtr> grads = tape->gradient(targets, sources, {}, false);
  py::list result(grads.size());
  for (size_t i = 0; i < grads.size(); ++i) {
    py::object g = grads[i] ? py::cast(grads[i]) : py::none();
    result[i] = implicit ? py::object(py::make_tuple(g, py::cast(vars[i]))) : g;
  }
  return py::make_tuple(value, result);
}

}  // namespace tapegrad::py_api

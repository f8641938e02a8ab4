#include "bindings/py_api.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "bindings/convert.h"
#include "core/errors.h"
#include "ops/ops.h"

namespace tapegrad::py_api {
using convert::to_tensor;

namespace {

// numpy scalars (numpy.bool_, numpy.int64, ...) but not arrays, and not their classes: on the
// class numpy.int64, `ndim` is a descriptor, not an int.
bool PyArray_IsScalarLike(H h) {
  if (PyType_Check(h.ptr()) || py::isinstance<py::array>(h) || !py::hasattr(h, "dtype")) return false;
  const py::object ndim = py::getattr(h, "ndim", py::none());
  return PyLong_Check(ndim.ptr()) && PyLong_AsLong(ndim.ptr()) == 0;
}

bool truthy(H h, const char* op, const char* what) {
  if (PyBool_Check(h.ptr())) return h.ptr() == Py_True;
  // Python ints and numpy scalars (bool_, integers); arrays are not flags.
  if ((PyLong_Check(h.ptr()) || PyArray_IsScalarLike(h)) && PyIndex_Check(h.ptr())) {
    const int v = PyObject_IsTrue(h.ptr());
    if (v >= 0) return v == 1;
    PyErr_Clear();
  }
  throw TypeError(std::string(op) + ": " + what + " must be a bool, got " +
                  std::string(py::repr(h)));
}

template <TensorPtr (*F)(const TensorPtr&, const TensorPtr&)>
TensorPtr binary(H x, H y, const char* op) {
  TensorPtr a, b;
  convert::to_tensor_pair(x, y, op, &a, &b);
  return F(a, b);
}

TensorPtr reduce(H x, H axis, H keepdims, const char* op,
                 TensorPtr (*f)(const TensorPtr&, const std::vector<int64_t>*, bool)) {
  TensorPtr t = to_tensor(x, op, "x");
  std::vector<int64_t> axes;
  const bool some = convert::axes_from_py(axis, op, &axes);
  return f(t, some ? &axes : nullptr, truthy(keepdims, op, "keepdims"));
}

Shape shape_from_py(H obj, const char* op) {
  std::vector<int64_t> v = convert::ints_from_py(obj, op, "shape");
  if (v.size() > static_cast<size_t>(kMaxRank))
    throw ValueError(std::string(op) + ": shape has rank " + std::to_string(v.size()) +
                     "; the maximum is " + std::to_string(kMaxRank));
  Shape s;
  for (int64_t d : v) s.push_back(d);  // the op checks the values, naming both shapes
  return s;
}

}  // namespace

TensorPtr add(H x, H y) { return binary<ops::add>(x, y, "add"); }
TensorPtr subtract(H x, H y) { return binary<ops::subtract>(x, y, "subtract"); }
TensorPtr multiply(H x, H y) { return binary<ops::multiply>(x, y, "multiply"); }
TensorPtr divide(H x, H y) { return binary<ops::divide>(x, y, "divide"); }
TensorPtr negative(H x) { return ops::negative(to_tensor(x, "negative", "x")); }
TensorPtr square(H x) { return ops::square(to_tensor(x, "square", "x")); }

// x ** n for an integer n, by repeated squaring with the differentiable ops (so gradients of
// any order come from the existing rules).
TensorPtr power(H x, H exponent, H modulo) {
  if (!modulo.is_none()) throw TypeError("pow: the modulo argument is not supported");
  TensorPtr base = to_tensor(x, "pow", "x");
  double e;
  if (PyLong_Check(exponent.ptr()) || PyFloat_Check(exponent.ptr()) ||
      (PyIndex_Check(exponent.ptr()) && !PyBool_Check(exponent.ptr()))) {
    e = PyFloat_AsDouble(exponent.ptr());
    if (e == -1.0 && PyErr_Occurred()) {
      PyErr_Clear();
      throw ValueError("pow: exponent is out of range");
    }
  } else {
    throw TypeError("pow: the exponent must be a Python number, got " +
                    std::string(py::repr(py::type::of(exponent))));
  }
  if (e != std::floor(e) || std::fabs(e) > 1 << 20)
    throw ValueError("pow: only integer exponents are supported, got " + std::to_string(e) +
                     "; use square/multiply for other powers");
  int64_t n = static_cast<int64_t>(std::fabs(e));
  if (n == 0) return TensorImpl::full(base->dtype(), base->shape(), 1.0, "pow");
  TensorPtr result, p = base;
  while (n > 0) {
    if (n & 1) result = result ? ops::multiply(result, p) : p;
    n >>= 1;
    if (n) p = ops::square(p);
  }
  if (e < 0) result = ops::divide(ops::scalar(base->dtype(), 1.0), result);
  return result;
}

TensorPtr matmul(H a, H b, H ta, H tb) {
  TensorPtr x, y;
  convert::to_tensor_pair(a, b, "matmul", &x, &y);
  return ops::matmul(x, y, truthy(ta, "matmul", "transpose_a"), truthy(tb, "matmul", "transpose_b"));
}

TensorPtr reduce_sum(H x, H axis, H keepdims) {
  return reduce(x, axis, keepdims, "reduce_sum", ops::reduce_sum);
}
TensorPtr reduce_mean(H x, H axis, H keepdims) {
  return reduce(x, axis, keepdims, "reduce_mean", ops::reduce_mean);
}

TensorPtr reshape(H x, H shape) {
  TensorPtr t = to_tensor(x, "reshape", "x");
  return ops::reshape(t, convert::ints_from_py(shape, "reshape", "shape"));
}

TensorPtr transpose(H x, H perm) {
  TensorPtr t = to_tensor(x, "transpose", "x");
  if (perm.is_none()) return ops::transpose(t, nullptr);
  std::vector<int64_t> p = convert::ints_from_py(perm, "transpose", "perm");
  return ops::transpose(t, &p);
}

TensorPtr cast(H x, H dtype) {
  const DType d = convert::dtype_from_py(dtype, "cast");
  TensorPtr t = to_tensor(x, "cast", "x", &d);
  return ops::cast(t, d);
}

TensorPtr broadcast_to(H x, H shape) {
  TensorPtr t = to_tensor(x, "broadcast_to", "x");
  return ops::broadcast_to(t, shape_from_py(shape, "broadcast_to"));
}

TensorPtr constant(H value, H dtype) {
  if (dtype.is_none()) return to_tensor(value, "constant", "value");
  const DType d = convert::dtype_from_py(dtype, "constant");
  return ops::cast(to_tensor(value, "constant", "value", &d, /*force=*/true), d);
}

TensorPtr convert_to_tensor(H value, H dtype) {
  if (dtype.is_none()) return to_tensor(value, "convert_to_tensor", "value");
  const DType d = convert::dtype_from_py(dtype, "convert_to_tensor");
  return convert::to_tensor_as(value, d, "convert_to_tensor", "value", /*convert_strong=*/true);
}

py::object tensor_float(const TensorPtr& t) {
  if (t->numel() != 1)
    throw TypeError("float: only one-element tensors can be converted to a Python scalar, got "
                    "shape " + t->shape().str());
  return py::float_(t->item());
}

py::ssize_t tensor_len(const TensorPtr& t) {
  if (t->rank() == 0) throw TypeError("len() of a rank-0 tensor");
  return static_cast<py::ssize_t>(t->shape().dims[0]);
}

std::string tensor_repr(const TensorPtr& t, H owner) {
  py::array arr = convert::numpy_view(t, owner);
  return "<tapegrad.Tensor shape=" + std::string(py::str(convert::shape_tuple(t->shape()))) +
         " dtype=" + dtype_name(t->dtype()) + " numpy=" + std::string(py::str(arr)) + ">";
}

py::object tensor_array(const TensorPtr& t, H owner, H dtype, H copy) {
  py::array arr = convert::numpy_view(t, owner);
  const bool want_copy = !copy.is_none() && truthy(copy, "__array__", "copy");
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
    t = to_tensor(value, op, "initial_value");
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

py::list tape_gradient(Tape& tape, H target, H sources, H output_gradients, H unconnected_zero) {
  const char* op = "GradientTape.gradient";
  TensorPtr tgt;
  if (convert::is_tensor(target)) tgt = py::cast<TensorPtr>(target);
  else if (convert::is_variable(target)) tgt = py::cast<Variable&>(target).peek();
  else
    throw TypeError(std::string(op) + ": target must be a Tensor or Variable, got " +
                    std::string(py::repr(py::type::of(target))));
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
  TensorPtr og;
  if (!output_gradients.is_none()) {
    og = convert::to_tensor_as(output_gradients, tgt->dtype(), op, "output_gradients");
    if (og->shape() != tgt->shape())
      throw ValueError(std::string(op) + ": output_gradients has shape " + og->shape().str() +
                       " but the target has shape " + tgt->shape().str());
  }
  std::vector<TensorPtr> grads = tape.gradient(tgt, srcs, og, truthy(unconnected_zero, op, "unconnected_zero"));
  py::list out(grads.size());
  for (size_t j = 0; j < grads.size(); ++j)
    out[j] = grads[j] ? py::cast(grads[j]) : py::none();
  return out;
}

py::tuple differentiate(H f, H args, H kwargs, H watch) {
  const bool implicit = watch.is_none();
  auto tape = std::make_shared<Tape>(false, implicit);
  auto a = py::reinterpret_borrow<py::tuple>(args);
  std::vector<Source> sources;
  if (!implicit) {
    for (H idx : py::reinterpret_borrow<py::iterable>(watch)) {
      H x = a[py::cast<size_t>(idx)];
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
  if (value.is_none()) {
    std::string name = py::hasattr(f, "__name__") ? std::string(py::str(f.attr("__name__")))
                                                   : std::string(py::repr(f));
    throw ValueError(name + " returned None: the function to differentiate must return a Tensor");
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
  TensorPtr target;
  if (convert::is_tensor(value)) target = py::cast<TensorPtr>(value);
  else if (convert::is_variable(value)) target = py::cast<Variable&>(value).peek();
  else target = to_tensor(value, "gradient", "value");
  std::vector<TensorPtr> grads = tape->gradient(target, sources, nullptr, false);
  py::list result(grads.size());
  for (size_t i = 0; i < grads.size(); ++i) {
    py::object g = grads[i] ? py::cast(grads[i]) : py::none();
    result[i] = implicit ? py::object(py::make_tuple(g, py::cast(vars[i]))) : g;
  }
  return py::make_tuple(value, result);
}

void sgd_update(H variables, H gradients, H learning_rate) {
  const char* op = "apply_gradients";
  if (!PyFloat_Check(learning_rate.ptr()) && !PyLong_Check(learning_rate.ptr()))
    throw TypeError(std::string(op) + ": learning_rate must be a number");
  const double lr = PyFloat_AsDouble(learning_rate.ptr());
  std::vector<VariablePtr> vars;
  for (H v : py::reinterpret_borrow<py::iterable>(variables)) {
    if (!convert::is_variable(v))
      throw TypeError(std::string(op) + ": expected a Variable, got " +
                      std::string(py::repr(py::type::of(v))));
    vars.push_back(py::cast<VariablePtr>(v));
  }
  std::vector<TensorPtr> grads;
  size_t i = 0;
  for (H g : py::reinterpret_borrow<py::iterable>(gradients)) {
    if (i >= vars.size()) throw ValueError(std::string(op) + ": more gradients than variables");
    try {
      grads.push_back(convert::to_tensor_as(g, vars[i]->dtype(), op, "gradient"));
    } catch (const TypeError& e) {
      throw TypeError(std::string(e.what()) + " (for variable " + vars[i]->name() + ")");
    } catch (const ValueError& e) {
      throw ValueError(std::string(e.what()) + " (for variable " + vars[i]->name() + ")");
    }
    ++i;
  }
  tapegrad::sgd_update(vars, grads, lr);
}

}  // namespace tapegrad::py_api

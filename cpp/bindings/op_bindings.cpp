#include "bindings/op_bindings.h"

#include "ops/call_op.h"

#include <deque>
#include <unordered_map>
#include <string>

#include "bindings/convert.h"
#include "core/errors.h"

namespace tapegrad::op_bindings {
namespace {

double number_from_py(py::handle h, const char* op, const char* what) {
  // numpy integers pass by __index__; Tensors have one too but are not numbers here.
  if (PyLong_Check(h.ptr()) || PyFloat_Check(h.ptr()) ||
      (PyIndex_Check(h.ptr()) && !PyBool_Check(h.ptr()) && !convert::is_tensor(h) &&
       !convert::is_variable(h))) {
    const double v = PyFloat_AsDouble(h.ptr());
    if (v == -1.0 && PyErr_Occurred()) {
      PyErr_Clear();
      throw ValueError(std::string(op) + ": " + what + " is out of range");
    }
    return v;
  }
  throw TypeError(std::string(op) + ": the " + what + " must be a Python number, got " +
                  std::string(py::repr(py::type::of(h))));
}

std::vector<int64_t> shape_from_py(py::handle h, const char* op, const char* what) {
  std::vector<int64_t> v = convert::ints_from_py(h, op, what);
  if (v.size() > static_cast<size_t>(kMaxRank))
    throw ValueError(std::string(op) + ": " + what + " has rank " + std::to_string(v.size()) +
                     "; the maximum is " + std::to_string(kMaxRank));
  return v;  // the op checks the values, naming both shapes
}

int count_attrs(const OpDef& op) {
  int n = 0;
  while (n < kMaxAttrs && op.attrs[n].kind != AttrKind::None) ++n;
  return n;
}

bool has_default(AttrKind k) {
  return k == AttrKind::Bool || k == AttrKind::Axes || k == AttrKind::OptionalInts ||
         k == AttrKind::Axis || k == AttrKind::OptionalNumber;
}

// The default of an optional attribute, as Python sees it. The objects live as long as the
// module (they are never released), so handles to them stay valid.
py::handle default_of(const AttrSpec& spec) {
  if (spec.kind == AttrKind::Bool) return Py_False;
  if (spec.kind == AttrKind::Axis || spec.kind == AttrKind::OptionalNumber) {
    static std::unordered_map<const AttrSpec*, PyObject*> numbers;
    PyObject*& n = numbers[&spec];
    if (!n)
      n = spec.kind == AttrKind::Axis ? PyLong_FromLongLong(static_cast<long long>(spec.number_default))
                                      : PyFloat_FromDouble(spec.number_default);
    return n;
  }
  return Py_None;
}

std::string default_text(const AttrSpec& spec) {
  return "=" + std::string(py::repr(default_of(spec)));
}

// An argument of an op whose inputs are converted apart: integer data keeps an integer dtype
// whatever its Python form (numpy arrays and scalars, ints, lists of ints), as class labels must;
// anything else converts as usual (Python floats to float32).
TensorPtr to_tensor_apart(py::handle h, const char* op, const char* arg) {
  if (const TensorPtr* t = convert::exact_tensor(h)) return *t;
  if (!convert::is_tensor(h) && !convert::is_variable(h) && !py::isinstance<py::array>(h)) {
    py::object arr;
    try {
      arr = py::module_::import("numpy").attr("asarray")(h);
    } catch (py::error_already_set&) {
      arr = py::object();  // numpy cannot read it: the usual conversion names the problem
    }
    if (arr && py::isinstance<py::array>(arr)) {
      const char kind = py::reinterpret_borrow<py::array>(arr).dtype().kind();
      if (kind == 'i' || kind == 'u') return convert::to_tensor_keeping_integers(arr, op, arg);
    }
  }
  return convert::to_tensor_keeping_integers(h, op, arg);
}

}  // namespace

TensorPtr call(const OpDef& op, const py::handle* args) {
  const int n_in = op.arity(), n_attrs = count_attrs(op);
  OpArguments a;
  // A dtype attribute comes first: Python values among the inputs take that dtype.
  const DType* want = nullptr;
  for (int i = 0; i < n_attrs; ++i) {
    if (op.attrs[i].kind != AttrKind::DType) continue;
    a.dtype = convert::dtype_from_py(args[n_in + i], op.name);
    want = &a.dtype;
  }
  // A Tensor is taken as it is, as the conversions would take it, without their type checks.
  TensorPtr in[kMaxNamedInputs];
  std::vector<TensorPtr> values;
  const TensorPtr* t0 = convert::exact_tensor(args[0]);
  if (op.variadic) {
    values = convert::to_tensor_list(args[0], op.name, op.inputs[0]);
    a.n_inputs = static_cast<int>(values.size());
  } else if (op.inputs_converted_apart) {
    for (int i = 0; i < n_in; ++i) in[i] = to_tensor_apart(args[i], op.name, op.inputs[i]);
  } else if (n_in == 1) {
    in[0] = t0 ? *t0 : convert::to_tensor(args[0], op.name, op.inputs[0], want);
  } else {
    // The last two inputs are a pair whose weak values follow the other's dtype (x + 1); an
    // input before them (where's condition) stands alone, and Python values there are bools.
    const int first = n_in - 2;
    if (first == 1) {
      const DType boolean = DType::Bool;
      in[0] = t0 ? *t0 : convert::to_tensor(args[0], op.name, op.inputs[0], &boolean);
    }
    const TensorPtr* ta = convert::exact_tensor(args[first]);
    const TensorPtr* tb = ta ? convert::exact_tensor(args[first + 1]) : nullptr;
    if (tb) in[first] = *ta, in[first + 1] = *tb;
    else convert::to_tensor_pair(args[first], args[first + 1], op.name, &in[first], &in[first + 1]);
  }
  int flags = 0;
  for (int i = 0; i < n_attrs; ++i) {
    const AttrSpec& spec = op.attrs[i];
    const py::handle h = args[n_in + i];
    switch (spec.kind) {
      case AttrKind::None:
      case AttrKind::DType:
        break;
      case AttrKind::Bool:
        a.flags[flags++] = convert::flag_from_py(h, op.name, spec.name);
        break;
      case AttrKind::Axes:
        a.has_ints = convert::axes_from_py(h, op.name, &a.ints);
        break;
      case AttrKind::OptionalInts:
        a.has_ints = !h.is_none();
        if (a.has_ints) a.ints = convert::ints_from_py(h, op.name, spec.name);
        break;
      case AttrKind::Ints:
        a.has_ints = true;
        a.ints = convert::ints_from_py(h, op.name, spec.name);
        break;
      case AttrKind::Shape:
        a.has_ints = true;
        a.ints = shape_from_py(h, op.name, spec.name);
        break;
      case AttrKind::String:
        if (!PyUnicode_Check(h.ptr()))
          throw TypeError(std::string(op.name) + ": " + spec.name + " must be a str, got " +
                          Py_TYPE(h.ptr())->tp_name);
        a.text = py::reinterpret_borrow<py::str>(h).cast<std::string>();
        break;
      case AttrKind::Number:
      case AttrKind::OptionalNumber:
        a.number = number_from_py(h, op.name, spec.name);
        break;
      case AttrKind::Axis:
      case AttrKind::RequiredAxis: {
        a.has_ints = true;
        if (h.is_none()) {  // TensorFlow reads None as axis 0
          a.ints = {0};
          break;
        }
        a.ints = convert::ints_from_py(h, op.name, spec.name);
        if (a.ints.size() != 1 || !(PyLong_Check(h.ptr()) || PyIndex_Check(h.ptr())))
          throw TypeError(std::string(op.name) + ": " + spec.name + " must be one int, got " +
                          std::string(py::repr(h)));
        break;
      }
    }
  }
  return ops::call_op(op, op.variadic ? values.data() : in, a);
}

const OpDef& op(const char* name) {
  const OpDef* d = find_op(name);
  if (!d) throw RuntimeError(std::string("tapegrad._core: no op named '") + name + "' is registered");
  return *d;
}

PyObject* translate_current_exception() {
  try {
    throw;
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (...) {
    py::detail::try_translate_exceptions();
  }
  return nullptr;
}

namespace {

// The parameter names of `op` in order: tensor arguments, then attributes.
const char* param_name(const OpDef& op, int i) {
  const int n_in = op.arity();
  return i < n_in ? op.inputs[i] : op.attrs[i - n_in].name;
}

// Takes Python's fast calling convention apart into the op's parameters, in declaration order,
// filling defaults; TypeError as Python gives for a bad call. Returns false with the error set.
bool parse_call(const OpDef& op, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames,
                py::handle* params) {
  const int n = op.arity() + count_attrs(op);
  if (nargs > n) {
    PyErr_Format(PyExc_TypeError, "%s() takes at most %d arguments (%zd given)", op.name, n,
                 nargs);
    return false;
  }
  for (int i = 0; i < n; ++i) params[i] = i < nargs ? py::handle(args[i]) : py::handle();
  const Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  for (Py_ssize_t k = 0; k < nkw; ++k) {
    PyObject* key = PyTuple_GET_ITEM(kwnames, k);
    int i = 0;
    while (i < n && PyUnicode_CompareWithASCIIString(key, param_name(op, i)) != 0) ++i;
    if (i == n) {
      PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", op.name, key);
      return false;
    }
    if (params[i]) {
      PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", op.name,
                   param_name(op, i));
      return false;
    }
    params[i] = args[nargs + k];
  }
  for (int i = 0; i < n; ++i) {
    if (params[i]) continue;
    const AttrKind kind = i < op.arity() ? AttrKind::None : op.attrs[i - op.arity()].kind;
    if (!has_default(kind)) {
      PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", op.name,
                   param_name(op, i));
      return false;
    }
    params[i] = default_of(op.attrs[i - op.arity()]);
  }
  return true;
}

PyObject* op_function(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  const OpDef& op = *static_cast<const OpDef*>(PyCapsule_GetPointer(self, nullptr));
  py::handle params[kMaxNamedInputs + kMaxAttrs];
  if (!parse_call(op, args, nargs, kwnames, params)) return nullptr;
  try {
    return py::cast(call(op, params)).release().ptr();
  } catch (...) {
    return translate_current_exception();
  }
}

// "name(x, y, transpose_a=False)\n--\n\ndoc": CPython reads the first part as the signature.
std::string docstring(const OpDef& op) {
  std::string sig = std::string(op.name) + "(";
  const int n = op.arity() + count_attrs(op);
  for (int i = 0; i < n; ++i) {
    sig += i ? ", " : "";
    sig += param_name(op, i);
    if (i >= op.arity()) {
      const AttrSpec& spec = op.attrs[i - op.arity()];
      if (has_default(spec.kind)) sig += default_text(spec);
    }
  }
  return sig + ")\n--\n\n" + op.doc;
}

// Python's function objects: METH_FASTCALL entry points, the op's OpDef as their `self`. They
// skip pybind11's overload dispatcher, which costs as much as a small op itself. `attr` is the
// module attribute that holds the function.
void define_op(py::module_& m, const OpDef* op, const std::string& attr) {
  static std::deque<std::string> docs;
  static std::deque<PyMethodDef> defs;
  const int n = op->arity() + count_attrs(*op);
  bool optional = false;
  for (int i = op->arity(); i < n; ++i) {
    const bool has = has_default(op->attrs[i - op->arity()].kind);
    if (optional && !has)
      throw RuntimeError(std::string("tapegrad._core: op '") + op->name +
                         "' declares a required attribute after an optional one");
    optional |= has;
  }
  docs.push_back(docstring(*op));
  defs.push_back(PyMethodDef{op->name, reinterpret_cast<PyCFunction>(
                                 reinterpret_cast<void (*)()>(op_function)),
                             METH_FASTCALL | METH_KEYWORDS, docs.back().c_str()});
  py::capsule self(static_cast<const void*>(op));
  py::object fn = py::reinterpret_steal<py::object>(
      PyCFunction_NewEx(&defs.back(), self.ptr(), m.attr("__name__").ptr()));
  if (!fn) throw py::error_already_set();
  m.attr(attr.c_str()) = fn;
}

}  // namespace

void bind_all(py::module_& m) {
  py::list names;
  for (const OpDef* op : registry()) {
    if (op->internal) {  // never exported; tapegrad's own Python functions may call some
      if (op->private_binding) define_op(m, op, std::string("_") + op->name);
      continue;
    }
    define_op(m, op, op->name);
    names.append(op->name);
  }
  m.attr("_op_names") = py::tuple(names);
  // What `from tapegrad._core import *` brings into tapegrad: the value types and every op.
  py::list all;
  for (const char* name : {"Tensor", "Variable", "constant", "convert_to_tensor"}) all.append(name);
  for (py::handle name : names) all.append(name);
  m.attr("__all__") = all;
}

}  // namespace tapegrad::op_bindings

#include "bindings/convert.h"

#include <cstring>
#include <string>

#include "core/errors.h"
#include "ops/ops.h"

namespace tapegrad::convert {
namespace {

std::string type_name(py::handle h) { return py::str(py::type::of(h).attr("__name__")); }

std::string where(const char* op, const char* arg) {
  return std::string(op) + ": argument '" + arg + "'";
}

// The dtype a numpy integer or bool array keeps when it is not converted to another.
DType integer_dtype_of(const py::dtype& dt) {
  if (dt.kind() == 'b') return DType::Bool;
  const bool small = dt.itemsize() < 4 || (dt.kind() == 'i' && dt.itemsize() == 4);
  return small ? DType::I32 : DType::I64;
}

// Refuses integer data that `dt` (an integer dtype) cannot hold.
void check_integer_range(const py::array& arr, DType dt, const char* op, const char* arg) {
  if (arr.size() == 0) return;
  const py::int_ lo = arr.attr("min")(), hi = arr.attr("max")();
  const bool narrow = dt == DType::I32;
  const py::int_ min(narrow ? INT32_MIN : INT64_MIN), max(narrow ? INT32_MAX : INT64_MAX);
  if (lo < min || hi > max)
    throw ValueError(std::string(op) + ": argument '" + arg + "' has values from " +
                     std::string(py::str(lo)) + " to " + std::string(py::str(hi)) +
                     ", out of the range of " + dtype_name(dt));
}

// Copies a numpy array of any layout/byte order/real dtype into a new tensor of `dt`. Floating
// data into an integer or bool dtype converts as tapegrad.cast does; integer data into an
// integer dtype must fit.
TensorPtr from_array(const py::array& arr, DType dt, const char* op, const char* arg) {
  if (arr.ndim() > kMaxRank)
    throw ValueError(std::string(op) + ": arrays of rank " + std::to_string(arr.ndim()) +
                     " are not supported (the maximum is " + std::to_string(kMaxRank) + ")");
  const char kind = arr.dtype().kind();
  if (!is_floating(dt) && kind == 'f')
    return ops::cast(from_array(arr, DType::F64, op, arg), dt);
  if (is_integer(dt) && kind != 'b') check_integer_range(arr, dt, op, arg);
  Shape s;
  for (py::ssize_t d = 0; d < arr.ndim(); ++d) s.push_back(arr.shape(d));
  TensorPtr t = TensorImpl::empty(dt, s, op);
  if (t->numel() == 0) return t;
  if (dt == DType::Bool && kind != 'b')  // numbers to bool: x != 0, as tapegrad.cast
    return ops::cast(from_array(arr, DType::I64, op, arg), DType::Bool);
  visit_any_dtype(dt, [&](auto zero) {
    using T = decltype(zero);
    // forcecast converts dtype and byte order; c_style makes it contiguous. Both copy only if needed.
    auto c = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(arr);
    if (!c) throw py::error_already_set();
    std::memcpy(t->raw(), c.data(), t->nbytes());
  });
  return t;
}

// A Python int or float as a rank-0 tensor of an integer or bool dtype. A float converts only
// when asked for explicitly (`force`), as tapegrad.cast converts; an int must fit.
TensorPtr integer_scalar(py::handle obj, DType dt, const char* op, const char* arg, bool force) {
  if (PyFloat_Check(obj.ptr())) {
    if (!force)
      throw TypeError(where(op, arg) + " is a float, which does not convert to " +
                      dtype_name(dt) + " implicitly; convert with tapegrad.cast");
    return ops::cast(ops::scalar(DType::F64, PyFloat_AS_DOUBLE(obj.ptr())), dt);
  }
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(obj.ptr(), &overflow);
  if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
  if (dt == DType::Bool) return TensorImpl::full(dt, Shape{}, overflow || v != 0 ? 1.0 : 0.0, op);
  if (overflow || (dt == DType::I32 && (v < INT32_MIN || v > INT32_MAX)))
    throw ValueError(where(op, arg) + " is " + std::string(py::str(obj)) + ", out of the range of " +
                     dtype_name(dt));
  TensorPtr t = TensorImpl::empty(dt, Shape{}, op);
  if (dt == DType::I32) *t->data<int32_t>() = static_cast<int32_t>(v);
  else *t->data<int64_t>() = static_cast<int64_t>(v);
  return t;
}

enum class Cls { Tensor, Variable, Number, Array, Other };

Cls classify(py::handle h) {
  if (is_tensor(h)) return Cls::Tensor;
  if (is_variable(h)) return Cls::Variable;
  // Exact float: numpy.float64 subclasses float but carries a dtype, so it takes the array path.
  if (PyFloat_CheckExact(h.ptr()) || PyLong_Check(h.ptr())) return Cls::Number;  // bool is a PyLong
  if (py::isinstance<py::array>(h)) return Cls::Array;
  return Cls::Other;
}

// Strong values fix the dtype of a binary op; weak ones follow their partner.
bool is_weak(py::handle h) {
  switch (classify(h)) {
    case Cls::Tensor:
    case Cls::Variable: return false;
    case Cls::Number: return true;
    case Cls::Array: {
      auto arr = py::reinterpret_borrow<py::array>(h);
      return arr.ndim() == 0 || arr.dtype().kind() != 'f';
    }
    case Cls::Other:
      // numpy scalars of a floating type carry their dtype but are 0-d: weak. Lists are weak.
      return true;
  }
  return true;
}

}  // namespace

bool is_tensor(py::handle h) {
  static PyTypeObject* tp = reinterpret_cast<PyTypeObject*>(py::type::of<TensorImpl>().ptr());
  return Py_TYPE(h.ptr()) == tp || PyObject_TypeCheck(h.ptr(), tp);
}

const TensorPtr* exact_tensor(py::handle h) {
  static PyTypeObject* tp = reinterpret_cast<PyTypeObject*>(py::type::of<TensorImpl>().ptr());
  static const py::detail::type_info* info = py::detail::get_type_info(tp);
  if (Py_TYPE(h.ptr()) != tp) return nullptr;
  auto* inst = reinterpret_cast<py::detail::instance*>(h.ptr());
  return &inst->get_value_and_holder(info).holder<TensorPtr>();
}

bool is_variable(py::handle h) {
  static PyTypeObject* tp = reinterpret_cast<PyTypeObject*>(py::type::of<Variable>().ptr());
  return Py_TYPE(h.ptr()) == tp || PyObject_TypeCheck(h.ptr(), tp);
}

TensorPtr to_tensor(py::handle obj, const char* op, const char* arg, const DType* want,
                    bool force) {
  switch (classify(obj)) {
    case Cls::Tensor: return py::cast<TensorPtr>(obj);
    case Cls::Variable: return py::cast<Variable&>(obj).read();
    case Cls::Number: {
      const DType dt = want ? *want : DType::F32;
      if (!is_floating(dt)) return integer_scalar(obj, dt, op, arg, force);
      double v = PyFloat_Check(obj.ptr()) ? PyFloat_AS_DOUBLE(obj.ptr()) : PyLong_AsDouble(obj.ptr());
      if (v == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        throw ValueError(where(op, arg) + " is an integer too large to represent as a float");
      }
      return ops::scalar(dt, v);
    }
    default: break;
  }
  if (obj.is_none())
    throw TypeError(where(op, arg) + " is None; expected a Tensor, Variable, numpy array, number "
                    "or nested list of numbers");
  if (PyUnicode_Check(obj.ptr()) || PyBytes_Check(obj.ptr()))
    throw TypeError(where(op, arg) + " is a " + type_name(obj) + "; expected a Tensor, Variable, "
                    "numpy array, number or nested list of numbers");
  py::array arr;
  if (py::isinstance<py::array>(obj)) {
    arr = py::reinterpret_borrow<py::array>(obj);
  } else {
    try {
      // Leaked on purpose: a static py::object would be destroyed after the interpreter.
      static py::object* asarray = new py::object(py::module_::import("numpy").attr("asarray"));
      arr = (*asarray)(obj);
    } catch (py::error_already_set& e) {
      throw ValueError(where(op, arg) + " could not be converted to an array (" +
                       std::string(py::str(e.value())) + ")");
    }
  }
  const char kind = arr.dtype().kind();
  const int itemsize = static_cast<int>(arr.dtype().itemsize());
  const bool weak = arr.ndim() == 0 || kind != 'f' || !py::isinstance<py::array>(obj);
  DType natural;
  // Python floats inside lists default to float32, as Python scalars do (TF's convention).
  const bool from_sequence = PyList_Check(obj.ptr()) || PyTuple_Check(obj.ptr());
  if (kind == 'f') {
    natural = itemsize <= 4 || from_sequence ? DType::F32 : DType::F64;
  } else if (kind == 'i' || kind == 'u' || kind == 'b') {
    natural = DType::F32;  // integer data is a constant; float32 unless the context says otherwise
  } else if (kind == 'c') {
    throw TypeError(where(op, arg) + " has complex dtype " + std::string(py::str(arr.dtype())) +
                    "; only real numbers are supported");
  } else {
    throw TypeError(where(op, arg) + " has dtype " + std::string(py::str(arr.dtype())) + " (from " +
                    type_name(obj) + "); expected real numbers (float or integer)");
  }
  DType dt = natural;
  if (want && (weak || force)) dt = *want;
  if (!is_floating(dt) && kind == 'f' && !force)
    throw TypeError(where(op, arg) + " holds floating values, which do not convert to " +
                    dtype_name(dt) + " implicitly; convert with tapegrad.cast");
  return from_array(arr, dt, op, arg);
}

TensorPtr to_tensor_keeping_integers(py::handle obj, const char* op, const char* arg) {
  if (py::isinstance<py::array>(obj)) {
    auto arr = py::reinterpret_borrow<py::array>(obj);
    const char kind = arr.dtype().kind();
    if (kind == 'i' || kind == 'u' || kind == 'b')
      return from_array(arr, integer_dtype_of(arr.dtype()), op, arg);
  }
  return to_tensor(obj, op, arg);
}

void to_tensor_pair(py::handle a, py::handle b, const char* op, TensorPtr* ta, TensorPtr* tb) {
  const bool wa = is_weak(a), wb = is_weak(b);
  if (wa && !wb) {
    *tb = to_tensor(b, op, "y");
    const DType d = (*tb)->dtype();
    *ta = to_tensor(a, op, "x", &d);
  } else if (wa && wb) {
    const DType d = DType::F32;  // nothing fixes the dtype: the default, whatever the order
    *ta = to_tensor(a, op, "x", &d);
    *tb = to_tensor(b, op, "y", &d);
  } else {
    *ta = to_tensor(a, op, "x");
    const DType d = (*ta)->dtype();
    *tb = to_tensor(b, op, "y", wb ? &d : nullptr);
  }
}

std::vector<TensorPtr> to_tensor_list(py::handle seq, const char* op, const char* arg) {
  if (!PyList_Check(seq.ptr()) && !PyTuple_Check(seq.ptr()))
    throw TypeError(where(op, arg) + " must be a list or tuple of tensors, got " + type_name(seq));
  const py::sequence items = py::reinterpret_borrow<py::sequence>(seq);
  const size_t n = items.size();
  if (n == 0) throw ValueError(where(op, arg) + " must hold at least one tensor, got an empty " +
                               type_name(seq));
  std::vector<TensorPtr> out(n);
  const DType* want = nullptr;
  DType strong = DType::F32;
  for (size_t i = 0; i < n; ++i) {
    if (is_weak(items[i])) continue;
    out[i] = to_tensor(items[i], op, arg);
    if (!want) strong = out[i]->dtype(), want = &strong;
  }
  if (!want) want = &strong;
  for (size_t i = 0; i < n; ++i)
    if (!out[i]) out[i] = to_tensor(items[i], op, arg, want);
  return out;
}

TensorPtr to_tensor_as(py::handle obj, DType dtype, const char* op, const char* arg,
                       bool convert_strong) {
  TensorPtr t = to_tensor(obj, op, arg, &dtype, convert_strong);
  if (t->dtype() != dtype)
    throw TypeError(where(op, arg) + " has dtype " + dtype_name(t->dtype()) + "; expected " +
                    dtype_name(dtype));
  return t;
}

namespace {

// numpy's reading of `obj` as a dtype; TypeError listing `expected` when it has none.
py::dtype numpy_dtype(py::handle obj, const char* op, const char* expected) {
  if (obj.is_none())  // numpy reads None as float64; here it is a mistake
    throw TypeError(std::string(op) + ": dtype must be " + expected + ", got None");
  try {
    return py::dtype::from_args(py::reinterpret_borrow<py::object>(obj));
  } catch (py::error_already_set&) {
    throw TypeError(std::string(op) + ": dtype must be " + expected + ", got " +
                    std::string(py::repr(obj)));
  }
}

}  // namespace

DType dtype_from_py(py::handle obj, const char* op) {
  const char* expected = "float32, float64, int32, int64 or bool";
  const py::dtype dt = numpy_dtype(obj, op, expected);
  if (dt.kind() == 'f' && dt.itemsize() == 4) return DType::F32;
  if (dt.kind() == 'f' && dt.itemsize() == 8) return DType::F64;
  if (dt.kind() == 'i' && dt.itemsize() == 4) return DType::I32;
  if (dt.kind() == 'i' && dt.itemsize() == 8) return DType::I64;
  if (dt.kind() == 'b') return DType::Bool;
  throw TypeError(std::string(op) + ": dtype must be " + expected + ", got " +
                  std::string(py::str(dt)));
}

py::dtype to_numpy_dtype(DType d) {
  // Leaked on purpose: static py::objects would be destroyed after the interpreter.
  static py::dtype* dtypes[] = {
      new py::dtype(py::dtype::of<float>()), new py::dtype(py::dtype::of<double>()),
      new py::dtype(py::dtype::of<int32_t>()), new py::dtype(py::dtype::of<int64_t>()),
      new py::dtype(py::dtype::of<bool>())};
  return *dtypes[static_cast<int>(d)];
}

static int64_t index_of(py::handle h, const char* op, const char* what) {
  if (PyBool_Check(h.ptr()) || !PyIndex_Check(h.ptr()) || py::isinstance<py::array>(h))
    throw TypeError(std::string(op) + ": " + what + " must be integers, got " +
                    std::string(py::repr(h)) + " of type " + type_name(h));
  Py_ssize_t v = PyNumber_AsSsize_t(h.ptr(), PyExc_OverflowError);
  if (v == -1 && PyErr_Occurred()) {
    const bool overflow = PyErr_ExceptionMatches(PyExc_OverflowError);
    PyErr_Clear();
    if (overflow)
      throw ValueError(std::string(op) + ": " + what + " value " + std::string(py::repr(h)) +
                       " is out of range");
    throw TypeError(std::string(op) + ": " + what + " must be integers, got " +
                    std::string(py::repr(h)));
  }
  return v;
}

std::vector<int64_t> ints_from_py(py::handle obj, const char* op, const char* what) {
  std::vector<int64_t> out;
  if (py::isinstance<py::array>(obj)) {  // integer arrays: a 0-d one is one int, else a sequence
    auto arr = py::reinterpret_borrow<py::array>(obj);
    if (arr.ndim() == 0) {
      out.push_back(index_of(obj.attr("item")(), op, what));
      return out;
    }
    if (arr.ndim() != 1)
      throw TypeError(std::string(op) + ": " + what + " must be an int or a 1-D sequence of ints, "
                      "got an array of shape " + std::string(py::str(obj.attr("shape"))));
  } else if (PyIndex_Check(obj.ptr()) && !PyBool_Check(obj.ptr())) {
    out.push_back(index_of(obj, op, what));
    return out;
  }
  if (!PyList_Check(obj.ptr()) && !PyTuple_Check(obj.ptr()) && !py::isinstance<py::array>(obj))
    throw TypeError(std::string(op) + ": " + what + " must be an int or a sequence of ints, got " +
                    type_name(obj));
  for (py::handle item : py::reinterpret_borrow<py::iterable>(obj))
    out.push_back(index_of(item, op, what));
  return out;
}

namespace {

// numpy scalars (numpy.bool_, numpy.int64, ...) but not arrays, not rank-0 Tensors or Variables
// (they have a dtype and ndim too), and not their classes: on the class numpy.int64, `ndim` is a
// descriptor, not an int.
bool is_numpy_scalar(py::handle h) {
  if (PyType_Check(h.ptr()) || py::isinstance<py::array>(h) || is_tensor(h) || is_variable(h) ||
      !py::hasattr(h, "dtype"))
    return false;
  const py::object ndim = py::getattr(h, "ndim", py::none());
  return PyLong_Check(ndim.ptr()) && PyLong_AsLong(ndim.ptr()) == 0;
}

}  // namespace

bool flag_from_py(py::handle h, const char* op, const char* what) {
  if (PyBool_Check(h.ptr())) return h.ptr() == Py_True;
  // Python ints and numpy scalars (bool_, integers); arrays are not flags.
  if ((PyLong_Check(h.ptr()) || is_numpy_scalar(h)) && PyIndex_Check(h.ptr())) {
    const int v = PyObject_IsTrue(h.ptr());
    if (v >= 0) return v == 1;
    PyErr_Clear();
  }
  throw TypeError(std::string(op) + ": " + what + " must be a bool, got " +
                  std::string(py::repr(h)));
}

bool axes_from_py(py::handle obj, const char* op, std::vector<int64_t>* axes) {
  if (obj.is_none()) return false;
  *axes = ints_from_py(obj, op, "axis");
  return true;
}

py::tuple shape_tuple(const Shape& s) {
  py::tuple t(s.rank);
  for (int d = 0; d < s.rank; ++d) t[d] = py::int_(s.dims[d]);
  return t;
}

py::array numpy_view(const TensorPtr& t, py::handle owner) {
  std::vector<py::ssize_t> shape(t->shape().dims, t->shape().dims + t->rank());
  std::vector<py::ssize_t> strides(t->rank());
  py::ssize_t st = static_cast<py::ssize_t>(dtype_size(t->dtype()));
  for (int d = t->rank() - 1; d >= 0; --d) {
    strides[d] = st;
    st *= t->shape().dims[d];
  }
  py::array arr(to_numpy_dtype(t->dtype()), shape, strides, t->raw(), owner);
  // Read-only: tensors are immutable, and a Variable may write its storage in place.
  py::detail::array_proxy(arr.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return arr;
}

}  // namespace tapegrad::convert

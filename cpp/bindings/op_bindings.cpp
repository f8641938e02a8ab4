#include "bindings/op_bindings.h"

#include <string>
#include <utility>

#include "bindings/convert.h"
#include "core/errors.h"

namespace tapegrad::op_bindings {
namespace {

double number_from_py(py::handle h, const char* op, const char* what) {
  if (PyLong_Check(h.ptr()) || PyFloat_Check(h.ptr()) ||
      (PyIndex_Check(h.ptr()) && !PyBool_Check(h.ptr()))) {
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

int count_inputs(const OpDef& op) { return op.arity(); }

int count_attrs(const OpDef& op) {
  int n = 0;
  while (n < 2 && op.attrs[n].kind != AttrKind::None) ++n;
  return n;
}

bool has_default(AttrKind k) {
  return k == AttrKind::Bool || k == AttrKind::Axes || k == AttrKind::OptionalInts;
}

}  // namespace

TensorPtr call(const OpDef& op, const py::handle* args) {
  const int n_in = count_inputs(op), n_attrs = count_attrs(op);
  OpArguments a;
  // A dtype attribute comes first: Python values among the inputs take that dtype.
  const DType* want = nullptr;
  for (int i = 0; i < n_attrs; ++i) {
    if (op.attrs[i].kind != AttrKind::DType) continue;
    a.dtype = convert::dtype_from_py(args[n_in + i], op.name);
    want = &a.dtype;
  }
  TensorPtr in[2];
  if (n_in == 2) convert::to_tensor_pair(args[0], args[1], op.name, &in[0], &in[1]);
  else in[0] = convert::to_tensor(args[0], op.name, op.inputs[0], want);
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
      case AttrKind::Number:
        a.number = number_from_py(h, op.name, spec.name);
        break;
    }
  }
  return op.forward(op, in, a);
}

const OpDef& op(const char* name) {
  const OpDef* d = find_op(name);
  if (!d) throw RuntimeError(std::string("tapegrad._core: no op named '") + name + "' is registered");
  return *d;
}

namespace {

template <size_t I>
using Handle = py::handle;

// The parameter names of `op` in order: tensor arguments, then attributes.
const char* param_name(const OpDef& op, size_t i) {
  const size_t n_in = static_cast<size_t>(count_inputs(op));
  return i < n_in ? op.inputs[i] : op.attrs[i - n_in].name;
}

// One binding per signature shape: `Required` parameters without defaults (the tensors and the
// required attributes), then `Optional` ones defaulting to False (flags) or None.
template <size_t... R, size_t... O>
void define(py::module_& m, const OpDef* op, std::index_sequence<R...>, std::index_sequence<O...>) {
  constexpr size_t kRequired = sizeof...(R);
  m.def(
      op->name,
      [op](Handle<R>... required, Handle<O>... optional) {
        const py::handle args[] = {required..., optional..., py::handle()};
        return call(*op, args);
      },
      py::arg(param_name(*op, R))...,
      py::arg_v(param_name(*op, kRequired + O),
                op->attrs[kRequired + O - count_inputs(*op)].kind == AttrKind::Bool
                    ? py::object(py::bool_(false))
                    : py::object(py::none()))...,
      op->doc);
}

template <size_t R, size_t O>
void define(py::module_& m, const OpDef* op) {
  define(m, op, std::make_index_sequence<R>(), std::make_index_sequence<O>());
}

void define_op(py::module_& m, const OpDef* op) {
  const int n_in = count_inputs(*op), n_attrs = count_attrs(*op);
  int required = n_in, optional = 0;
  for (int i = 0; i < n_attrs; ++i) {
    if (has_default(op->attrs[i].kind)) {
      ++optional;
    } else if (optional > 0) {
      throw RuntimeError(std::string("tapegrad._core: op '") + op->name +
                         "' declares a required attribute after an optional one");
    } else {
      ++required;
    }
  }
  switch (required * 3 + optional) {
    case 1 * 3 + 0: return define<1, 0>(m, op);
    case 1 * 3 + 1: return define<1, 1>(m, op);
    case 1 * 3 + 2: return define<1, 2>(m, op);
    case 2 * 3 + 0: return define<2, 0>(m, op);
    case 2 * 3 + 1: return define<2, 1>(m, op);
    case 2 * 3 + 2: return define<2, 2>(m, op);
    case 3 * 3 + 0: return define<3, 0>(m, op);
    case 3 * 3 + 1: return define<3, 1>(m, op);
    default:
      throw RuntimeError(std::string("tapegrad._core: op '") + op->name +
                         "' has a signature no binding template covers");
  }
}

}  // namespace

void bind_all(py::module_& m) {
  py::list names;
  for (const OpDef* op : registry()) {
    define_op(m, op);
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

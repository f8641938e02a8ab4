#include "bindings/function_bindings.h"

#include <memory>
#include <vector>

#include <pybind11/stl.h>

#include <new>
#include <string>
#include <unordered_map>

#include "bindings/convert.h"
#include "bindings/op_bindings.h"
#include "core/errors.h"
#include "function/executor.h"
#include "function/tracer.h"

namespace tapegrad::function_bindings {
namespace py = pybind11;
using function::ConcreteFunction;
using function::Tracer;

namespace {

std::vector<TensorPtr> tensors_from_py(py::handle seq, const char* what) {
  std::vector<TensorPtr> out;
  for (py::handle h : py::reinterpret_borrow<py::iterable>(seq)) {
    if (!py::isinstance<TensorImpl>(h))
      throw TypeError(std::string("tg.function: ") + what + " must be Tensors, got " +
                      std::string(py::repr(py::type::of(h))));
    out.push_back(py::cast<TensorPtr>(h));
  }
  return out;
}

py::list tensors_to_py(const std::vector<TensorPtr>& ts) {
  py::list out(ts.size());
  for (size_t i = 0; i < ts.size(); ++i) out[i] = py::cast(ts[i]);
  return out;
}

// The signature of a call whose positional arguments are all Tensors, Variables, None, bools,
// ints, floats or objects compared by identity (the default __hash__ and __eq__): dtype and shape
// per tensor, the address of every other object, the value of every scalar. False for any other
// call, which takes the general path in Python.
bool signature_of(PyObject* const* args, Py_ssize_t n, std::string* key) {
  auto put = [key](const void* p, size_t len) { key->append(static_cast<const char*>(p), len); };
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* o = args[i];
    const py::handle a(o);
    const TensorPtr* exact = convert::exact_tensor(a);
    if (exact || convert::is_tensor(a)) {
      const TensorImpl& t = exact ? **exact : py::cast<const TensorImpl&>(a);
      const char tag = 'T';
      const auto dtype = static_cast<uint8_t>(t.dtype());
      const auto rank = static_cast<uint8_t>(t.shape().rank);
      put(&tag, 1);
      put(&dtype, 1);
      put(&rank, 1);
      put(t.shape().dims, sizeof(int64_t) * rank);
    } else if (o == Py_None || PyBool_Check(o)) {
      const char tag = o == Py_None ? 'N' : (o == Py_True ? 't' : 'f');
      put(&tag, 1);
    } else if (PyLong_CheckExact(o)) {
      int overflow = 0;
      const long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
      if (overflow) return false;
      const char tag = 'I';
      put(&tag, 1);
      put(&v, sizeof v);
    } else if (PyFloat_CheckExact(o)) {
      const double v = PyFloat_AS_DOUBLE(o);
      const char tag = 'F';
      put(&tag, 1);
      put(&v, sizeof v);
    } else if (convert::is_variable(a) || (Py_TYPE(o)->tp_hash == PyBaseObject_Type.tp_hash &&
                                           Py_TYPE(o)->tp_richcompare == PyBaseObject_Type.tp_richcompare)) {
      const char tag = 'O';
      put(&tag, 1);
      put(&o, sizeof o);
    } else {
      return false;
    }
  }
  return true;
}

py::object positional_signature(py::tuple args) {
  std::string key;
  if (!signature_of(&PyTuple_GET_ITEM(args.ptr(), 0), PyTuple_GET_SIZE(args.ptr()), &key))
    return py::none();
  return py::bytes(key);
}

// The Tensors among a call's arguments, in order: the inputs of a call signature_of accepted.
std::vector<TensorPtr> positional_tensors(PyObject* const* args, Py_ssize_t n) {
  std::vector<TensorPtr> out;
  for (Py_ssize_t i = 0; i < n; ++i) {
    const py::handle a(args[i]);
    if (const TensorPtr* exact = convert::exact_tensor(a)) out.push_back(*exact);
    else if (convert::is_tensor(a)) out.push_back(py::cast<TensorPtr>(a));
  }
  return out;
}

// The call's result: the one output (None when there is none) or a tuple of them.
PyObject* result_to_py(const std::vector<TensorPtr>& out, int structure) {
  if (structure == 0) return out.empty() ? py::none().release().ptr() : py::cast(out[0]).release().ptr();
  py::tuple t(out.size());
  for (size_t i = 0; i < out.size(); ++i) t[i] = py::cast(out[i]);
  return t.release().ptr();
}

// _FunctionBase: the base of tapegrad.function's Function. Its call looks the arguments'
// signature up among the compiled calls registered with _register_fast and runs one without
// entering Python; any other call goes to the instance's _call_general(*args, **kwargs).
struct FastCall {
  std::shared_ptr<ConcreteFunction> function;
  int structure;
};
struct FunctionBase {
  PyObject_HEAD
  std::unordered_map<std::string, FastCall>* calls;
};

PyObject* function_base_new(PyTypeObject* type, PyObject*, PyObject*) {
  auto* self = reinterpret_cast<FunctionBase*>(type->tp_alloc(type, 0));
  if (!self) return nullptr;
  self->calls = new (std::nothrow) std::unordered_map<std::string, FastCall>();
  if (!self->calls) {
    Py_DECREF(self);
    return PyErr_NoMemory();
  }
  return reinterpret_cast<PyObject*>(self);
}

void function_base_dealloc(PyObject* o) {
  auto* self = reinterpret_cast<FunctionBase*>(o);
  delete self->calls;
  self->calls = nullptr;
  PyTypeObject* type = Py_TYPE(o);
  type->tp_free(o);
  Py_DECREF(type);  // instances of heap types own a reference to their type
}

PyObject* function_base_call(PyObject* o, PyObject* args, PyObject* kwargs) {
  auto* self = reinterpret_cast<FunctionBase*>(o);
  if ((!kwargs || PyDict_GET_SIZE(kwargs) == 0) && self->calls && !self->calls->empty() &&
      !function::t_tracer) {
    try {
      PyObject* const* items = &PyTuple_GET_ITEM(args, 0);
      const Py_ssize_t n = PyTuple_GET_SIZE(args);
      std::string key;
      if (signature_of(items, n, &key)) {
        const auto it = self->calls->find(key);
        if (it != self->calls->end()) {
          const FastCall call = it->second;  // a copy: the map may change while this call runs
          return result_to_py(call.function->call(positional_tensors(items, n)), call.structure);
        }
      }
    } catch (...) {
      return op_bindings::translate_current_exception();
    }
  }
  PyObject* general = PyObject_GetAttrString(o, "_call_general");
  if (!general) return nullptr;
  PyObject* result = PyObject_Call(general, args, kwargs);
  Py_DECREF(general);
  return result;
}

PyObject* function_base_register(PyObject* o, PyObject* args) {
  auto* self = reinterpret_cast<FunctionBase*>(o);
  try {
    const py::tuple a = py::reinterpret_borrow<py::tuple>(args);
    if (a.size() != 3) throw TypeError("_register_fast(signature, concrete, structure)");
    (*self->calls)[py::cast<std::string>(a[0])] =
        FastCall{py::cast<std::shared_ptr<ConcreteFunction>>(a[1]), py::cast<int>(a[2])};
  } catch (...) {
    return op_bindings::translate_current_exception();
  }
  Py_RETURN_NONE;
}

PyMethodDef function_base_methods[] = {
    {"_register_fast", function_base_register, METH_VARARGS,
     "Registers a compiled call for a signature made by _positional_signature (structure 0: one "
     "output, 1: a tuple of outputs)."},
    {nullptr, nullptr, 0, nullptr}};

PyType_Slot function_base_slots[] = {
    {Py_tp_new, reinterpret_cast<void*>(function_base_new)},
    {Py_tp_dealloc, reinterpret_cast<void*>(function_base_dealloc)},
    {Py_tp_call, reinterpret_cast<void*>(function_base_call)},
    {Py_tp_methods, function_base_methods},
    {Py_tp_doc, const_cast<char*>("The engine side of tapegrad.function.Function: the call fast path.")},
    {0, nullptr}};

PyType_Spec function_base_spec = {"tapegrad._core._FunctionBase", sizeof(FunctionBase), 0,
                                  Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, function_base_slots};

}  // namespace

void bind(py::module_& m) {
  PyObject* base = PyType_FromSpec(&function_base_spec);
  if (!base) throw py::error_already_set();
  m.add_object("_FunctionBase", py::reinterpret_steal<py::object>(base));
  m.def("_positional_signature", &positional_signature, py::arg("args"),
        "tg.function's signature of a call with simple positional arguments, or None.");
  m.def("_tracing", [] { return function::t_tracer != nullptr; },
        "True while a tg.function trace records on this thread.");
  m.def("_trace_mark_drawn", [](const TensorPtr& t, const std::string& source) {
    if (function::t_tracer) function::t_tracer->mark_drawn(t, source.c_str());
  }, py::arg("tensor"), py::arg("source"),
  "Marks a tensor of random draws made during a trace: ops must not read it (see tg.random).");
  py::class_<Tracer, std::shared_ptr<Tracer>>(m, "_Tracer",
                                              "Records the ops, variable reads and updates of one "
                                              "run of a Python function (tapegrad.function).")
      .def(py::init<>())
      .def("begin", &Tracer::begin)
      .def("end", &Tracer::end)
      .def("add_input", &Tracer::add_input, py::arg("tensor"))
      .def_property_readonly("created_variables", &Tracer::created_variables)
      .def("finish", [](Tracer& t, py::handle outputs) {
        return std::make_shared<ConcreteFunction>(t.finish(tensors_from_py(outputs, "outputs")));
      }, py::arg("outputs"));

  py::class_<ConcreteFunction, std::shared_ptr<ConcreteFunction>>(
      m, "_ConcreteFunction", "A traced graph and its compiled plan (tapegrad.function).")
      .def("__call__", [](const ConcreteFunction& f, py::handle inputs) {
        return tensors_to_py(f.call(tensors_from_py(inputs, "arguments")));
      }, py::arg("inputs"))
      .def("graph", [](const ConcreteFunction& f, bool optimized) {
        return function::describe(optimized ? f.plan() : f.traced_graph());
      }, py::arg("optimized") = true, "A listing of the graph, one node per line.")
      .def_property_readonly("pass_counts", [](const ConcreteFunction& f) {
        const auto& c = f.pass_counts();
        py::dict d;
        d["folded"] = c.folded;
        d["common"] = c.common;
        d["dead"] = c.dead;
        d["fused"] = c.fused;
        d["scaled"] = c.scaled;
        d["paired"] = c.paired;
        return d;
      });
}

}  // namespace tapegrad::function_bindings

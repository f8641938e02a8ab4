#include "bindings/function_bindings.h"

#include <memory>
#include <vector>

#include <pybind11/stl.h>

#include "bindings/convert.h"
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
// ints, floats or objects compared by identity (the default __hash__ and __eq__), as bytes:
// dtype and shape per tensor, the address of every other object, the value of every scalar.
// None for any other call, which takes the general path in Python.
py::object positional_signature(py::tuple args) {
  std::string key;
  auto put = [&key](const void* p, size_t n) { key.append(static_cast<const char*>(p), n); };
  for (py::handle a : args) {
    PyObject* o = a.ptr();
    if (convert::is_tensor(a)) {
      const TensorImpl& t = py::cast<const TensorImpl&>(a);
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
      if (overflow) return py::none();
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
      return py::none();
    }
  }
  return py::bytes(key);
}

// The Tensors among `args`, in order: the inputs of a call that positional_signature accepted.
std::vector<TensorPtr> positional_tensors(py::tuple args) {
  std::vector<TensorPtr> out;
  for (py::handle a : args)
    if (convert::is_tensor(a)) out.push_back(py::cast<TensorPtr>(a));
  return out;
}

}  // namespace

void bind(py::module_& m) {
  m.def("_positional_signature", &positional_signature, py::arg("args"),
        "tg.function's signature of a call with simple positional arguments, or None.");
  m.def("_tracing", [] { return function::t_tracer != nullptr; },
        "True while a tg.function trace records on this thread.");
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
      .def("call_positional", [](const ConcreteFunction& f, py::tuple args, int structure) -> py::object {
        const std::vector<TensorPtr> out = f.call(positional_tensors(args));
        if (structure == 0) return out.empty() ? py::none() : py::cast(out[0]);
        py::tuple t(out.size());
        for (size_t i = 0; i < out.size(); ++i) t[i] = py::cast(out[i]);
        return std::move(t);
      }, py::arg("args"), py::arg("structure"),
      "Runs on the Tensors among args (a call _positional_signature accepted); returns the one "
      "output (structure 0: a Tensor, or None when there is none) or a tuple of them (1).")
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
        return d;
      });
}

}  // namespace tapegrad::function_bindings

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

}  // namespace

void bind(py::module_& m) {
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

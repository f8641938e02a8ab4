#include "bindings/optimizer_bindings.h"

#include <string>
#include <vector>

#include "bindings/convert.h"
#include "core/errors.h"
#include "tape/optimizer_updates.h"

namespace tapegrad::optimizer_bindings {
namespace py = pybind11;
using py::arg;

namespace {

constexpr const char* kOp = "apply_gradients";

std::vector<VariablePtr> variables_from_py(py::handle seq, const char* what) {
  std::vector<VariablePtr> out;
  for (py::handle v : py::reinterpret_borrow<py::iterable>(seq)) {
    if (!convert::is_variable(v))
      throw TypeError(std::string(kOp) + ": expected a Variable in " + what + ", got " +
                      std::string(py::repr(py::type::of(v))));
    out.push_back(py::cast<VariablePtr>(v));
  }
  return out;
}

// Each gradient converted to its variable's dtype; errors name the variable.
std::vector<TensorPtr> gradients_from_py(py::handle seq, const std::vector<VariablePtr>& vars) {
  std::vector<TensorPtr> grads;
  for (py::handle g : py::reinterpret_borrow<py::iterable>(seq)) {
    const size_t i = grads.size();
    if (i >= vars.size()) throw ValueError(std::string(kOp) + ": more gradients than variables");
    try {
      grads.push_back(convert::to_tensor_as(g, vars[i]->dtype(), kOp, "gradient"));
    } catch (const TypeError& e) {
      throw TypeError(std::string(e.what()) + " (for variable " + vars[i]->name() + ")");
    } catch (const ValueError& e) {
      throw ValueError(std::string(e.what()) + " (for variable " + vars[i]->name() + ")");
    }
  }
  return grads;
}

void sgd(py::handle variables, py::handle gradients, py::handle learning_rate) {
  if (!PyFloat_Check(learning_rate.ptr()) && !PyLong_Check(learning_rate.ptr()))
    throw TypeError(std::string(kOp) + ": learning_rate must be a number");
  const double lr = PyFloat_AsDouble(learning_rate.ptr());
  if (lr == -1.0 && PyErr_Occurred()) throw py::error_already_set();
  const auto vars = variables_from_py(variables, "variables");
  sgd_update(vars, gradients_from_py(gradients, vars), lr);
}

void momentum(py::handle variables, py::handle gradients, py::handle accumulators,
              double learning_rate, double momentum, bool use_nesterov) {
  const auto vars = variables_from_py(variables, "variables");
  momentum_update(vars, gradients_from_py(gradients, vars),
                  variables_from_py(accumulators, "accumulators"),
                  {learning_rate, momentum, use_nesterov});
}

void adam(py::handle variables, py::handle gradients, py::handle m, py::handle v,
          double learning_rate, double beta1, double beta2, double epsilon, double beta1_power,
          double beta2_power) {
  const auto vars = variables_from_py(variables, "variables");
  adam_update(vars, gradients_from_py(gradients, vars), variables_from_py(m, "m"),
              variables_from_py(v, "v"),
              {learning_rate, beta1, beta2, epsilon, beta1_power, beta2_power});
}

void rmsprop(py::handle variables, py::handle gradients, py::handle rms, py::handle momentum,
             py::handle mean_grads, double learning_rate, double decay, double momentum_rate,
             double epsilon) {
  const auto vars = variables_from_py(variables, "variables");
  rmsprop_update(vars, gradients_from_py(gradients, vars), variables_from_py(rms, "rms"),
                 variables_from_py(momentum, "momentum"),
                 mean_grads.is_none() ? std::vector<VariablePtr>{}
                                      : variables_from_py(mean_grads, "mg"),
                 {learning_rate, decay, momentum_rate, epsilon});
}

}  // namespace

void bind(py::module_& m) {
  m.def("sgd_update", &sgd, arg("variables"), arg("gradients"), arg("learning_rate"),
        "var -= learning_rate * grad for every pair, after validating all pairs.");
  m.def("momentum_update", &momentum, arg("variables"), arg("gradients"), arg("accumulators"),
        arg("learning_rate"), arg("momentum"), arg("use_nesterov"),
        "TensorFlow's ApplyMomentum on every variable with its accumulator slot, after validating "
        "all of them.");
  m.def("adam_update", &adam, arg("variables"), arg("gradients"), arg("m"), arg("v"),
        arg("learning_rate"), arg("beta1"), arg("beta2"), arg("epsilon"), arg("beta1_power"),
        arg("beta2_power"),
        "TensorFlow's ApplyAdam at step t (beta1_power = beta1**t, beta2_power = beta2**t) on every "
        "variable with its m and v slots, after validating all of them.");
  m.def("rmsprop_update", &rmsprop, arg("variables"), arg("gradients"), arg("rms"), arg("momentum"),
        arg("mg"), arg("learning_rate"), arg("decay"), arg("momentum_rate"), arg("epsilon"),
        "TensorFlow's ApplyRMSProp (ApplyCenteredRMSProp when mg is a list) on every variable with "
        "its slots, after validating all of them.");
}

}  // namespace tapegrad::optimizer_bindings

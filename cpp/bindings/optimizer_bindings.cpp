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

// The optimizer's step counter, or null for None.
VariablePtr counter_from_py(py::handle iterations) {
  if (iterations.is_none()) return nullptr;
  if (!convert::is_variable(iterations))
    throw TypeError(std::string(kOp) + ": iterations must be a Variable or None, got " +
                    std::string(py::repr(py::type::of(iterations))));
  return py::cast<VariablePtr>(iterations);
}

// A learning rate: a number, or a float64 scalar Variable read now (and again by a traced update).
struct LearningRateArg {
  double value;
  VariablePtr source;
};

LearningRateArg learning_rate_from_py(py::handle lr) {
  if (convert::is_variable(lr)) {
    VariablePtr v = py::cast<VariablePtr>(lr);
    if (v->dtype() != DType::F64 || v->shape().rank != 0)
      throw TypeError(std::string(kOp) + ": a learning_rate Variable must be a float64 scalar, got " +
                      dtype_name(v->dtype()) + " of shape " + v->shape().str());
    return {*v->peek()->data<double>(), v};
  }
  if (PyBool_Check(lr.ptr()) || (!PyFloat_Check(lr.ptr()) && !PyLong_Check(lr.ptr())))
    throw TypeError(std::string(kOp) + ": learning_rate must be a number or a float64 Variable");
  const double x = PyFloat_AsDouble(lr.ptr());
  if (x == -1.0 && PyErr_Occurred()) throw py::error_already_set();
  return {x, nullptr};
}

double power_from_py(py::handle power, const char* what) {
  if (power.is_none())
    throw TypeError(std::string(kOp) + ": " + what + " is required when iterations is None");
  return py::cast<double>(power);
}

void sgd(py::handle variables, py::handle gradients, py::handle learning_rate,
         py::handle iterations) {
  const LearningRateArg lr = learning_rate_from_py(learning_rate);
  const auto vars = variables_from_py(variables, "variables");
  sgd_update(vars, gradients_from_py(gradients, vars), lr.value, counter_from_py(iterations), lr.source);
}

void momentum(py::handle variables, py::handle gradients, py::handle accumulators,
              py::handle learning_rate, double momentum, bool use_nesterov, py::handle iterations) {
  const LearningRateArg lr = learning_rate_from_py(learning_rate);
  const auto vars = variables_from_py(variables, "variables");
  momentum_update(vars, gradients_from_py(gradients, vars),
                  variables_from_py(accumulators, "accumulators"),
                  {lr.value, momentum, use_nesterov}, counter_from_py(iterations), lr.source);
}

void adam(py::handle variables, py::handle gradients, py::handle m, py::handle v,
          py::handle learning_rate, double beta1, double beta2, double epsilon, py::handle beta1_power,
          py::handle beta2_power, py::handle iterations) {
  const LearningRateArg lr = learning_rate_from_py(learning_rate);
  const auto vars = variables_from_py(variables, "variables");
  const VariablePtr counter = counter_from_py(iterations);
  const double b1p = counter ? 0.0 : power_from_py(beta1_power, "beta1_power");
  const double b2p = counter ? 0.0 : power_from_py(beta2_power, "beta2_power");
  adam_update(vars, gradients_from_py(gradients, vars), variables_from_py(m, "m"),
              variables_from_py(v, "v"), {lr.value, beta1, beta2, epsilon, b1p, b2p}, counter,
              lr.source);
}

void rmsprop(py::handle variables, py::handle gradients, py::handle rms, py::handle momentum,
             py::handle mean_grads, py::handle learning_rate, double decay, double momentum_rate,
             double epsilon, py::handle iterations) {
  const LearningRateArg lr = learning_rate_from_py(learning_rate);
  const auto vars = variables_from_py(variables, "variables");
  rmsprop_update(vars, gradients_from_py(gradients, vars), variables_from_py(rms, "rms"),
                 variables_from_py(momentum, "momentum"),
                 mean_grads.is_none() ? std::vector<VariablePtr>{}
                                      : variables_from_py(mean_grads, "mg"),
                 {lr.value, decay, momentum_rate, epsilon}, counter_from_py(iterations), lr.source);
}

}  // namespace

void bind(py::module_& m) {
  m.def("sgd_update", &sgd, arg("variables"), arg("gradients"), arg("learning_rate"),
        arg("iterations") = py::none(),
        "var -= learning_rate * grad for every pair, after validating all pairs; then "
        "iterations (an int64 scalar Variable, optional) counts the step.");
  m.def("momentum_update", &momentum, arg("variables"), arg("gradients"), arg("accumulators"),
        arg("learning_rate"), arg("momentum"), arg("use_nesterov"), arg("iterations") = py::none(),
        "TensorFlow's ApplyMomentum on every variable with its accumulator slot, after validating "
        "all of them.");
  m.def("adam_update", &adam, arg("variables"), arg("gradients"), arg("m"), arg("v"),
        arg("learning_rate"), arg("beta1"), arg("beta2"), arg("epsilon"),
        arg("beta1_power") = py::none(), arg("beta2_power") = py::none(),
        arg("iterations") = py::none(),
        "TensorFlow's ApplyAdam at step t (beta1_power = beta1**t, beta2_power = beta2**t, or both "
        "from t = iterations + 1 when the step counter is given) on every variable with its m and "
        "v slots, after validating all of them.");
  m.def("rmsprop_update", &rmsprop, arg("variables"), arg("gradients"), arg("rms"), arg("momentum"),
        arg("mg"), arg("learning_rate"), arg("decay"), arg("momentum_rate"), arg("epsilon"),
        arg("iterations") = py::none(),
        "TensorFlow's ApplyRMSProp (ApplyCenteredRMSProp when mg is a list) on every variable with "
        "its slots, after validating all of them.");
}

}  // namespace tapegrad::optimizer_bindings

#include "tape/optimizer_updates.h"

#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <type_traits>

#include "core/errors.h"
#include "core/parallel.h"
#include "function/tracer.h"
#include "kernels/optimizer_updates.h"

namespace tapegrad {
namespace {

constexpr const char* kOp = "apply_gradients";

std::string number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

void check_positive(double x, const char* what) {
  if (!(std::isfinite(x) && x > 0.0))
    throw ValueError(std::string(kOp) + ": " + what + " must be a positive finite number, got " +
                     number(x));
}

void check_fraction(double x, const char* what) {
  if (!(x >= 0.0 && x < 1.0))
    throw ValueError(std::string(kOp) + ": " + what + " must be in [0, 1), got " + number(x));
}

// Each variable with its gradient, and each of its slots, checked before anything changes.
void check_groups(const std::vector<VariablePtr>& vars, const std::vector<TensorPtr>& grads,
                  std::initializer_list<const std::vector<VariablePtr>*> slot_lists) {
  if (vars.size() != grads.size())
    throw ValueError(std::string(kOp) + ": got " + std::to_string(grads.size()) +
                     " gradients for " + std::to_string(vars.size()) + " variables");
  for (const auto* slots : slot_lists)
    if (slots->size() != vars.size())
      throw ValueError(std::string(kOp) + ": got " + std::to_string(slots->size()) +
                       " slots for " + std::to_string(vars.size()) + " variables");
  for (size_t i = 0; i < vars.size(); ++i) {
    const Variable& var = *vars[i];
    const TensorImpl& grad = *grads[i];
    if (grad.dtype() != var.dtype())
      throw TypeError(std::string(kOp) + ": the gradient for variable '" + var.name() +
                      "' has dtype " + dtype_name(grad.dtype()) + " but the variable has dtype " +
                      dtype_name(var.dtype()));
    if (grad.shape() != var.shape())
      throw ValueError(std::string(kOp) + ": the gradient for variable '" + var.name() +
                       "' has shape " + grad.shape().str() + " but the variable has shape " +
                       var.shape().str());
    if (!is_floating(var.dtype()))
      throw TypeError(std::string(kOp) + ": variable '" + var.name() + "' has dtype " +
                      dtype_name(var.dtype()) + "; only float variables are trained");
    // Every array of a group is written through its own storage: no slot may be the variable or
    // another slot of the same group.
    std::vector<const Variable*> seen{&var};
    for (const auto* slots : slot_lists) {
      const Variable& slot = *(*slots)[i];
      if (slot.dtype() != var.dtype() || slot.shape() != var.shape())
        throw ValueError(std::string(kOp) + ": slot '" + slot.name() + "' (" +
                         dtype_name(slot.dtype()) + ", shape " + slot.shape().str() +
                         ") does not match variable '" + var.name() + "' (" +
                         dtype_name(var.dtype()) + ", shape " + var.shape().str() + ")");
      for (const Variable* other : seen)
        if (other == &slot)
          throw ValueError(std::string(kOp) + ": variable '" + slot.name() +
                           "' appears twice in the group of variable '" + var.name() + "'");
      seen.push_back(&slot);
    }
  }
}

// A hyperparameter in the variable's dtype. Overflow to infinity, or a positive one that vanishes
// to zero, would turn into NaN or infinite updates later; both are errors here instead.
template <typename T>
T in_dtype(double x, const char* what, bool must_stay_positive) {
  const T t = static_cast<T>(x);
  if (!std::isfinite(t) || (must_stay_positive && !(t > T(0))))
    throw ValueError(std::string(kOp) + ": " + what + " = " + number(x) + " is " +
                     (std::isfinite(t) ? "zero" : "infinite") + " in " +
                     dtype_name(std::is_same_v<T, float> ? DType::F32 : DType::F64));
  return t;
}

// Calls f(T{}) once for each float dtype among the variables (validation per dtype).
template <typename F>
void for_each_dtype(const std::vector<VariablePtr>& vars, F&& f) {
  bool f32 = false, f64 = false;
  for (const VariablePtr& v : vars) (v->dtype() == DType::F32 ? f32 : f64) = true;
  if (f32) f(float{});
  if (f64) f(double{});
}

template <typename T>
T* data_for_update(const VariablePtr& v) {
  return v->value_for_update(kOp)->template data<T>();
}

void check_counter(const VariablePtr& iterations) {
  if (iterations && (iterations->dtype() != DType::I64 || iterations->shape().rank != 0))
    throw TypeError(std::string(kOp) + ": the step counter '" + iterations->name() +
                    "' must be an int64 scalar Variable, got " + dtype_name(iterations->dtype()) +
                    " of shape " + iterations->shape().str());
}

void count_step(const VariablePtr& iterations) {
  if (iterations) ++*iterations->value_for_update(kOp)->data<int64_t>();  // copy-on-write
}

// The learning rate an update traced with `fixed` uses when it runs again.
double learning_rate_now(double fixed, const VariablePtr& source) {
  if (!source) return fixed;
  if (source->dtype() != DType::F64 || source->shape().rank != 0)
    throw TypeError(std::string(kOp) + ": the learning rate Variable '" + source->name() +
                    "' must be a float64 scalar");
  return *source->peek()->data<double>();
}

// While a trace records, an update runs as one effect of the graph (`update` redoes it on each
// replay, counter included); true when it did so.
template <typename Update>
bool traced_update(const std::vector<TensorPtr>& grads, Update&& update) {
  function::Tracer* t = function::recorder();
  if (!t) return false;
  t->run_effect(kOp, grads.data(), static_cast<int>(grads.size()),
                [update, n = grads.size()](const TensorPtr* in) {
                  update(std::vector<TensorPtr>(in, in + n));
                });
  return true;
}

template <typename T>
struct AdamStep {
  T alpha, beta1, beta2, epsilon;
};

template <typename T>
AdamStep<T> adam_step(const AdamHyperparameters& h) {
  const T lr = in_dtype<T>(h.learning_rate, "learning_rate", false);
  const T b1p = static_cast<T>(h.beta1_power), b2p = static_cast<T>(h.beta2_power);
  const T alpha = kernels::adam_step_size<T>(lr, b1p, b2p);
  if (!std::isfinite(alpha))
    throw ValueError(std::string(kOp) + ": Adam's step size learning_rate * sqrt(1 - beta2^t) / "
                     "(1 - beta1^t) is not finite in " +
                     dtype_name(std::is_same_v<T, float> ? DType::F32 : DType::F64) +
                     " (beta1^t = " + number(h.beta1_power) + " rounds to 1)");
  return {alpha, static_cast<T>(h.beta1), static_cast<T>(h.beta2),
          in_dtype<T>(h.epsilon, "epsilon", true)};
}

}  // namespace

void sgd_update(const std::vector<VariablePtr>& vars, const std::vector<TensorPtr>& grads,
                double learning_rate, const VariablePtr& iterations,
                const VariablePtr& learning_rate_source) {
  check_positive(learning_rate, "learning_rate");
  check_groups(vars, grads, {});
  check_counter(iterations);
  if (traced_update(grads, [=](const std::vector<TensorPtr>& g) {
        sgd_update(vars, g, learning_rate_now(learning_rate, learning_rate_source), iterations,
                   learning_rate_source);
      }))
    return;
  for (size_t i = 0; i < vars.size(); ++i) vars[i]->axpy(-learning_rate, grads[i], kOp);
  count_step(iterations);
}

void momentum_update(const std::vector<VariablePtr>& vars, const std::vector<TensorPtr>& grads,
                     const std::vector<VariablePtr>& accumulators, const MomentumHyperparameters& h,
                     const VariablePtr& iterations,
                const VariablePtr& learning_rate_source) {
  check_positive(h.learning_rate, "learning_rate");
  check_fraction(h.momentum, "momentum");
  check_groups(vars, grads, {&accumulators});
  check_counter(iterations);
  if (traced_update(grads, [=](const std::vector<TensorPtr>& g) {
        MomentumHyperparameters now = h;
        now.learning_rate = learning_rate_now(h.learning_rate, learning_rate_source);
        momentum_update(vars, g, accumulators, now, iterations, learning_rate_source);
      }))
    return;
  for_each_dtype(vars, [&](auto zero) {
    in_dtype<decltype(zero)>(h.learning_rate, "learning_rate", false);
  });
  for (size_t i = 0; i < vars.size(); ++i) {
    visit_dtype(vars[i]->dtype(), [&](auto zero) {
      using T = decltype(zero);
      T* var = data_for_update<T>(vars[i]);
      T* accum = data_for_update<T>(accumulators[i]);
      const T* grad = grads[i]->data<T>();
      const T lr = static_cast<T>(h.learning_rate), momentum = static_cast<T>(h.momentum);
      parallel_ranges(grads[i]->numel(), [&](int64_t lo, int64_t hi) {
        kernels::momentum_update<T>(hi - lo, var + lo, accum + lo, grad + lo, lr, momentum,
                                    h.use_nesterov);
      });
    });
  }
  count_step(iterations);
}

void adam_update(const std::vector<VariablePtr>& vars, const std::vector<TensorPtr>& grads,
                 const std::vector<VariablePtr>& m, const std::vector<VariablePtr>& v,
                 const AdamHyperparameters& given, const VariablePtr& iterations,
                const VariablePtr& learning_rate_source) {
  check_counter(iterations);
  AdamHyperparameters h = given;
  if (iterations) {
    // t = iterations + 1; beta^t as Python's float power computes it (libm's pow).
    const double t = static_cast<double>(*iterations->peek()->data<int64_t>()) + 1.0;
    h.beta1_power = std::pow(h.beta1, t);
    h.beta2_power = std::pow(h.beta2, t);
  }
  check_positive(h.learning_rate, "learning_rate");
  check_fraction(h.beta1, "beta1");
  check_fraction(h.beta2, "beta2");
  check_positive(h.epsilon, "epsilon");
  check_fraction(h.beta1_power, "beta1^t");
  check_fraction(h.beta2_power, "beta2^t");
  check_groups(vars, grads, {&m, &v});
  for_each_dtype(vars, [&](auto zero) { adam_step<decltype(zero)>(h); });
  if (traced_update(grads, [=](const std::vector<TensorPtr>& g) {
        AdamHyperparameters now = given;
        now.learning_rate = learning_rate_now(given.learning_rate, learning_rate_source);
        adam_update(vars, g, m, v, now, iterations, learning_rate_source);
      }))
    return;
  for (size_t i = 0; i < vars.size(); ++i) {
    visit_dtype(vars[i]->dtype(), [&](auto zero) {
      using T = decltype(zero);
      const AdamStep<T> s = adam_step<T>(h);
      T* var = data_for_update<T>(vars[i]);
      T* mi = data_for_update<T>(m[i]);
      T* vi = data_for_update<T>(v[i]);
      const T* grad = grads[i]->data<T>();
      parallel_ranges(grads[i]->numel(), [&](int64_t lo, int64_t hi) {
        kernels::adam_update<T>(hi - lo, var + lo, mi + lo, vi + lo, grad + lo, s.alpha, s.beta1,
                                s.beta2, s.epsilon);
      });
    });
  }
  count_step(iterations);
}

void rmsprop_update(const std::vector<VariablePtr>& vars, const std::vector<TensorPtr>& grads,
                    const std::vector<VariablePtr>& rms, const std::vector<VariablePtr>& momentum,
                    const std::vector<VariablePtr>& mean_grads, const RMSPropHyperparameters& h,
                    const VariablePtr& iterations,
                const VariablePtr& learning_rate_source) {
  check_counter(iterations);
  check_positive(h.learning_rate, "learning_rate");
  check_fraction(h.decay, "decay");
  check_fraction(h.momentum, "momentum");
  check_positive(h.epsilon, "epsilon");
  const bool centered = !mean_grads.empty();
  if (centered) check_groups(vars, grads, {&rms, &momentum, &mean_grads});
  else check_groups(vars, grads, {&rms, &momentum});
  for_each_dtype(vars, [&](auto zero) {
    using T = decltype(zero);
    in_dtype<T>(h.learning_rate, "learning_rate", false);
    in_dtype<T>(h.epsilon, "epsilon", true);
  });
  if (traced_update(grads, [=](const std::vector<TensorPtr>& g) {
        RMSPropHyperparameters now = h;
        now.learning_rate = learning_rate_now(h.learning_rate, learning_rate_source);
        rmsprop_update(vars, g, rms, momentum, mean_grads, now, iterations, learning_rate_source);
      }))
    return;
  for (size_t i = 0; i < vars.size(); ++i) {
    visit_dtype(vars[i]->dtype(), [&](auto zero) {
      using T = decltype(zero);
      T* var = data_for_update<T>(vars[i]);
      T* ms = data_for_update<T>(rms[i]);
      T* mom = data_for_update<T>(momentum[i]);
      T* mg = centered ? data_for_update<T>(mean_grads[i]) : nullptr;
      const T* grad = grads[i]->data<T>();
      const T lr = static_cast<T>(h.learning_rate), decay = static_cast<T>(h.decay),
              mu = static_cast<T>(h.momentum), eps = static_cast<T>(h.epsilon);
      parallel_ranges(grads[i]->numel(), [&](int64_t lo, int64_t hi) {
        if (centered)
          kernels::centered_rmsprop_update<T>(hi - lo, var + lo, ms + lo, mg + lo, mom + lo,
                                              grad + lo, lr, decay, mu, eps);
        else
          kernels::rmsprop_update<T>(hi - lo, var + lo, ms + lo, mom + lo, grad + lo, lr, decay,
                                     mu, eps);
      });
    });
  }
  count_step(iterations);
}

}  // namespace tapegrad

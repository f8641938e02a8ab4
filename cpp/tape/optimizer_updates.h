// Optimizer updates on Variables, with TensorFlow's tf.train rules. Each function checks every
// group (a variable, its gradient, its slots) and the hyperparameters before it changes anything,
// so a bad group anywhere leaves every variable and slot as it was. Then each variable gets one
// fused kernel pass (kernels/optimizer_updates.h) over itself, its gradient and its slots, in
// place when a storage is exclusively its variable's and after a copy otherwise (copy-on-write,
// as Variable::axpy), so a Tensor read earlier never changes.
//
// `iterations`, when not null, is the optimizer's step counter (an int64 scalar Variable): it
// counts the update once it succeeded, and Adam's step t is its value plus one.
// `learning_rate_source`, when not null, is the float64 scalar Variable the learning rate was read
// from. A tg.function trace records each update as one effect that reads both again when it runs.
//
// Slots come as one list per slot kind, parallel to the variables: slot lists[k][i] belongs to
// variable i and has its shape and dtype. Errors start with "apply_gradients".
#pragma once
#include <vector>

#include "core/tensor.h"
#include "tape/variable.h"

namespace tapegrad {

// var -= learning_rate * grad.
void sgd_update(const std::vector<VariablePtr>& vars, const std::vector<TensorPtr>& grads,
                double learning_rate, const VariablePtr& iterations = nullptr,
                const VariablePtr& learning_rate_source = nullptr);

struct MomentumHyperparameters {
  double learning_rate;  // > 0
  double momentum;       // in [0, 1)
  bool use_nesterov;
};
// TF ApplyMomentum; `accumulators` is the "momentum" slot.
void momentum_update(const std::vector<VariablePtr>& vars, const std::vector<TensorPtr>& grads,
                     const std::vector<VariablePtr>& accumulators, const MomentumHyperparameters& h,
                     const VariablePtr& iterations = nullptr,
                const VariablePtr& learning_rate_source = nullptr);

struct AdamHyperparameters {
  double learning_rate;             // > 0
  double beta1, beta2;              // in [0, 1)
  double epsilon;                   // > 0
  // beta1^t and beta2^t at step t >= 1, in [0, 1); computed from the counter when one is given.
  double beta1_power, beta2_power;
};
// TF ApplyAdam; `m` and `v` are the first and second moment slots.
void adam_update(const std::vector<VariablePtr>& vars, const std::vector<TensorPtr>& grads,
                 const std::vector<VariablePtr>& m, const std::vector<VariablePtr>& v,
                 const AdamHyperparameters& h, const VariablePtr& iterations = nullptr,
                const VariablePtr& learning_rate_source = nullptr);

struct RMSPropHyperparameters {
  double learning_rate;  // > 0
  double decay;          // in [0, 1)
  double momentum;       // in [0, 1)
  double epsilon;        // > 0
};
// TF ApplyRMSProp with the "rms" and "momentum" slots; ApplyCenteredRMSProp when `mean_grads`
// (the "mg" slot) is not empty.
void rmsprop_update(const std::vector<VariablePtr>& vars, const std::vector<TensorPtr>& grads,
                    const std::vector<VariablePtr>& rms, const std::vector<VariablePtr>& momentum,
                    const std::vector<VariablePtr>& mean_grads, const RMSPropHyperparameters& h,
                    const VariablePtr& iterations = nullptr,
                const VariablePtr& learning_rate_source = nullptr);

}  // namespace tapegrad

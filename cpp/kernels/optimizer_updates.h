// Fused optimizer updates: one pass over a variable, its gradient and its slots, in the variable's
// dtype (float or double), with no temporaries. Each formula keeps the order of operations of
// TensorFlow's training kernels (ApplyMomentum, ApplyAdam, ApplyRMSProp, ApplyCenteredRMSProp), so
// a float64 replica written the same way agrees to the last bits.
//
// The loops run in the active kernel set's width (optimizer_loops.h), and every set gives the same
// bits: IEEE-exact operations only, never contracted into FMA. Each element's result depends on
// that element alone, so any split into pieces (thread count) gives the same bits too. Pointers
// never alias: the caller hands each array its own storage. The loops flush subnormal results and
// operands to zero (flush_subnormals.h): a decaying slot reaches zero instead of lingering in the
// slow subnormal range.
#pragma once
#include <cstdint>

namespace tapegrad::kernels {

// accum = accum * momentum + grad;
// var -= accum * lr, or with Nesterov var -= grad * lr + accum * momentum * lr.
template <typename T>
void momentum_update(int64_t n, T* var, T* accum, const T* grad, T lr, T momentum, bool use_nesterov);

// Adam's bias-corrected step size lr * sqrt(1 - beta2^t) / (1 - beta1^t), computed in T.
template <typename T>
T adam_step_size(T lr, T beta1_power, T beta2_power);

// m += (grad - m) * (1 - beta1); v += (grad * grad - v) * (1 - beta2);
// var -= (m * alpha) / (sqrt(v) + epsilon), alpha from adam_step_size.
template <typename T>
void adam_update(int64_t n, T* var, T* m, T* v, const T* grad, T alpha, T beta1, T beta2, T epsilon);

// ms += (grad * grad - ms) * (1 - decay); mom = mom * momentum + (grad * lr) / sqrt(ms + epsilon);
// var -= mom.
template <typename T>
void rmsprop_update(int64_t n, T* var, T* ms, T* mom, const T* grad, T lr, T decay, T momentum,
                    T epsilon);

// As rmsprop_update, with the mean gradient mg += (grad - mg) * (1 - decay) subtracted from the
// mean square: mom = mom * momentum + (grad * lr) / sqrt((ms - mg * mg) + epsilon).
template <typename T>
void centered_rmsprop_update(int64_t n, T* var, T* ms, T* mg, T* mom, const T* grad, T lr, T decay,
                             T momentum, T epsilon);

}  // namespace tapegrad::kernels

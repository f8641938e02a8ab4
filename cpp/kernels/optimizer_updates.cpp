#include "kernels/optimizer_updates.h"

#include <cmath>

namespace tapegrad::kernels {

template <typename T>
void momentum_update(int64_t n, T* __restrict var, T* __restrict accum, const T* __restrict grad,
                     T lr, T momentum, bool use_nesterov) {
  if (use_nesterov) {
    for (int64_t i = 0; i < n; ++i) {
      const T g = grad[i];
      const T a = accum[i] * momentum + g;
      accum[i] = a;
      var[i] = var[i] - (g * lr + a * momentum * lr);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const T a = accum[i] * momentum + grad[i];
      accum[i] = a;
      var[i] = var[i] - a * lr;
    }
  }
}

template <typename T>
T adam_step_size(T lr, T beta1_power, T beta2_power) {
  return lr * std::sqrt(T(1) - beta2_power) / (T(1) - beta1_power);
}

template <typename T>
void adam_update(int64_t n, T* __restrict var, T* __restrict m, T* __restrict v,
                 const T* __restrict grad, T alpha, T beta1, T beta2, T epsilon) {
  const T one_minus_beta1 = T(1) - beta1;
  const T one_minus_beta2 = T(1) - beta2;
  for (int64_t i = 0; i < n; ++i) {
    const T g = grad[i];
    const T mi = m[i] + (g - m[i]) * one_minus_beta1;
    const T vi = v[i] + (g * g - v[i]) * one_minus_beta2;
    m[i] = mi;
    v[i] = vi;
    var[i] = var[i] - (mi * alpha) / (std::sqrt(vi) + epsilon);
  }
}

template <typename T>
void rmsprop_update(int64_t n, T* __restrict var, T* __restrict ms, T* __restrict mom,
                    const T* __restrict grad, T lr, T decay, T momentum, T epsilon) {
  const T one_minus_decay = T(1) - decay;
  for (int64_t i = 0; i < n; ++i) {
    const T g = grad[i];
    const T s = ms[i] + (g * g - ms[i]) * one_minus_decay;
    const T u = mom[i] * momentum + (g * lr) / std::sqrt(s + epsilon);
    ms[i] = s;
    mom[i] = u;
    var[i] = var[i] - u;
  }
}

template <typename T>
void centered_rmsprop_update(int64_t n, T* __restrict var, T* __restrict ms, T* __restrict mg,
                             T* __restrict mom, const T* __restrict grad, T lr, T decay, T momentum,
                             T epsilon) {
  const T one_minus_decay = T(1) - decay;
  for (int64_t i = 0; i < n; ++i) {
    const T g = grad[i];
    const T s = ms[i] + (g * g - ms[i]) * one_minus_decay;
    const T a = mg[i] + (g - mg[i]) * one_minus_decay;
    const T u = mom[i] * momentum + (g * lr) / std::sqrt((s - a * a) + epsilon);
    ms[i] = s;
    mg[i] = a;
    mom[i] = u;
    var[i] = var[i] - u;
  }
}

#define TAPEGRAD_OPTIMIZER_UPDATES(T)                                                              \
  template void momentum_update<T>(int64_t, T*, T*, const T*, T, T, bool);                         \
  template T adam_step_size<T>(T, T, T);                                                           \
  template void adam_update<T>(int64_t, T*, T*, T*, const T*, T, T, T, T);                         \
  template void rmsprop_update<T>(int64_t, T*, T*, T*, const T*, T, T, T, T);                      \
  template void centered_rmsprop_update<T>(int64_t, T*, T*, T*, T*, const T*, T, T, T, T);
TAPEGRAD_OPTIMIZER_UPDATES(float)
TAPEGRAD_OPTIMIZER_UPDATES(double)
#undef TAPEGRAD_OPTIMIZER_UPDATES

}  // namespace tapegrad::kernels

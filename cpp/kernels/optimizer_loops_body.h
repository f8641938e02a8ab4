// The optimizer loops, included once per instruction set by optimizer_loops_<isa>.cpp after it
// defines TG_ISA (the namespace of its copy). Everything lives in that namespace, internal to the
// unit, and calls only compiler builtins, so no unit's copy of a function serves another (ODR).
// Each formula keeps the order of operations of TensorFlow's training kernels; what each computes:
// kernels/optimizer_updates.h.
#ifndef TG_ISA
#error "define TG_ISA, the namespace of this unit's loops, before including this"
#endif
#include <cstdint>

#include "kernels/optimizer_loops.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

inline float root(float x) { return __builtin_sqrtf(x); }
inline double root(double x) { return __builtin_sqrt(x); }

template <typename T>
void momentum(int64_t n, T* __restrict var, T* __restrict accum, const T* __restrict grad, T lr,
              T mu, bool use_nesterov) {
  if (use_nesterov) {
    for (int64_t i = 0; i < n; ++i) {
      const T g = grad[i];
      const T a = accum[i] * mu + g;
      accum[i] = a;
      var[i] = var[i] - (g * lr + a * mu * lr);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const T a = accum[i] * mu + grad[i];
      accum[i] = a;
      var[i] = var[i] - a * lr;
    }
  }
}

template <typename T>
void adam(int64_t n, T* __restrict var, T* __restrict m, T* __restrict v, const T* __restrict grad,
          T alpha, T beta1, T beta2, T epsilon) {
  const T one_minus_beta1 = T(1) - beta1;
  const T one_minus_beta2 = T(1) - beta2;
  for (int64_t i = 0; i < n; ++i) {
    const T g = grad[i];
    const T mi = m[i] + (g - m[i]) * one_minus_beta1;
    const T vi = v[i] + (g * g - v[i]) * one_minus_beta2;
    m[i] = mi;
    v[i] = vi;
    var[i] = var[i] - (mi * alpha) / (root(vi) + epsilon);
  }
}

template <typename T>
void rmsprop(int64_t n, T* __restrict var, T* __restrict ms, T* __restrict mom,
             const T* __restrict grad, T lr, T decay, T mu, T epsilon) {
  const T one_minus_decay = T(1) - decay;
  for (int64_t i = 0; i < n; ++i) {
    const T g = grad[i];
    const T s = ms[i] + (g * g - ms[i]) * one_minus_decay;
    const T u = mom[i] * mu + (g * lr) / root(s + epsilon);
    ms[i] = s;
    mom[i] = u;
    var[i] = var[i] - u;
  }
}

template <typename T>
void centered_rmsprop(int64_t n, T* __restrict var, T* __restrict ms, T* __restrict mg,
                      T* __restrict mom, const T* __restrict grad, T lr, T decay, T mu, T epsilon) {
  const T one_minus_decay = T(1) - decay;
  for (int64_t i = 0; i < n; ++i) {
    const T g = grad[i];
    const T s = ms[i] + (g * g - ms[i]) * one_minus_decay;
    const T a = mg[i] + (g - mg[i]) * one_minus_decay;
    const T u = mom[i] * mu + (g * lr) / root((s - a * a) + epsilon);
    ms[i] = s;
    mg[i] = a;
    mom[i] = u;
    var[i] = var[i] - u;
  }
}

template <typename T>
OptimizerLoops<T> loops() {
  return {&momentum<T>, &adam<T>, &rmsprop<T>, &centered_rmsprop<T>};
}

}  // namespace

const OptimizerLoopTable& table() {
  static const OptimizerLoopTable t = {loops<float>(), loops<double>()};
  return t;
}

}  // namespace tapegrad::kernels::TG_ISA

#include "kernels/optimizer_updates.h"

#include <cmath>
#include <cstring>

#include "kernels/flush_subnormals.h"
#include "kernels/kernels.h"
#include "kernels/optimizer_loops.h"

namespace tapegrad::kernels {
namespace {

// The loops of the kernel set in use (every table gives the same bits: optimizer_loops.h).
template <typename T>
const OptimizerLoops<T>& loops() {
  const char* isa = active().isa;
  if (std::strcmp(isa, "avx512") == 0) return avx512_optimizer_loops().get<T>();
  if (std::strcmp(isa, "avx2") == 0) return avx2_optimizer_loops().get<T>();
  return scalar_optimizer_loops().get<T>();
}

}  // namespace

template <typename T>
void momentum_update(int64_t n, T* var, T* accum, const T* grad, T lr, T momentum, bool use_nesterov) {
  FlushSubnormals flush;
  loops<T>().momentum(n, var, accum, grad, lr, momentum, use_nesterov);
}

template <typename T>
T adam_step_size(T lr, T beta1_power, T beta2_power) {
  return lr * std::sqrt(T(1) - beta2_power) / (T(1) - beta1_power);
}

template <typename T>
void adam_update(int64_t n, T* var, T* m, T* v, const T* grad, T alpha, T beta1, T beta2, T epsilon) {
  FlushSubnormals flush;
  loops<T>().adam(n, var, m, v, grad, alpha, beta1, beta2, epsilon);
}

template <typename T>
void rmsprop_update(int64_t n, T* var, T* ms, T* mom, const T* grad, T lr, T decay, T momentum,
                    T epsilon) {
  FlushSubnormals flush;
  loops<T>().rmsprop(n, var, ms, mom, grad, lr, decay, momentum, epsilon);
}

template <typename T>
void centered_rmsprop_update(int64_t n, T* var, T* ms, T* mg, T* mom, const T* grad, T lr, T decay,
                             T momentum, T epsilon) {
  FlushSubnormals flush;
  loops<T>().centered_rmsprop(n, var, ms, mg, mom, grad, lr, decay, momentum, epsilon);
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

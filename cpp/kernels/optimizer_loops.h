// The loops behind kernels/optimizer_updates.h, one table per instruction set. Every table is the
// same source (optimizer_loops_body.h) compiled with its ISA's flags and with contraction into FMA
// off: the loops use only IEEE-exact operations (+, -, *, /, sqrt), element by element, so every
// table gives the same bits and only the vector width differs. The scalar table is the reference.
#pragma once
#include <cstdint>

namespace tapegrad::kernels {

template <typename T>
struct OptimizerLoops {
  void (*momentum)(int64_t n, T* var, T* accum, const T* grad, T lr, T momentum, bool use_nesterov);
  void (*adam)(int64_t n, T* var, T* m, T* v, const T* grad, T alpha, T beta1, T beta2, T epsilon);
  void (*rmsprop)(int64_t n, T* var, T* ms, T* mom, const T* grad, T lr, T decay, T momentum,
                  T epsilon);
  void (*centered_rmsprop)(int64_t n, T* var, T* ms, T* mg, T* mom, const T* grad, T lr, T decay,
                           T momentum, T epsilon);
};

struct OptimizerLoopTable {
  OptimizerLoops<float> f32;
  OptimizerLoops<double> f64;

  template <typename T> const OptimizerLoops<T>& get() const;
};
template <> inline const OptimizerLoops<float>& OptimizerLoopTable::get<float>() const { return f32; }
template <> inline const OptimizerLoops<double>& OptimizerLoopTable::get<double>() const { return f64; }

const OptimizerLoopTable& scalar_optimizer_loops();
const OptimizerLoopTable& avx2_optimizer_loops();
const OptimizerLoopTable& avx512_optimizer_loops();

}  // namespace tapegrad::kernels

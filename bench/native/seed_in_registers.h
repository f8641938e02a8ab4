// The seed step's fused loop (forward, loss and both gradients) written by hand with every value
// in vector registers: what code generated for this one chain could reach at best, beside the
// per-op interpreter that tg.function runs. It performs the operations of tapegrad's step in its
// order of summation (kernels/reduce.h), so it gives the step's bits, and the benchmark checks
// that it does.
#pragma once
#include <cstdint>

namespace seed_in_registers {

// The three float32 results of one step over x, y (n each) for weight w and bias b:
// mean((x w + b - y)^2) as the sum it divides, sum(g) and sum(x g) for g = scale ((x w + b - y) 2).
struct Sums {
  float loss_sum, grad_bias, grad_weight;
};

// Whether this CPU runs the hand-written loop: with AVX2 and FMA, and with AVX-512.
bool available();
bool has_avx512();

// The step's sums, over chunks of `chunk` elements added in order (tapegrad's chunked sums above
// the parallel threshold), in zmm registers (avx512, which needs has_avx512()) or ymm ones.
Sums step(bool avx512, const float* x, const float* y, int64_t n, int64_t chunk, float w, float b,
          float scale);

}  // namespace seed_in_registers

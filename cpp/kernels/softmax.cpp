#include "kernels/softmax.h"

#include <cmath>

namespace tapegrad::kernels {
namespace {

template <typename T>
void softmax_typed(bool log, const T* x, T* out, int64_t outer, int64_t n, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const T* col = x + o * n * inner + i;
      T* dst = out + o * n * inner + i;
      T peak = col[0];
      for (int64_t k = 1; k < n; ++k) peak = col[k * inner] > peak ? col[k * inner] : peak;
      if (!std::isfinite(peak)) peak = T(0);  // all -inf (or an inf): the sums below decide
      // Accumulated in double, in order: the same bits for any layout of the other axes.
      double total = 0;
      for (int64_t k = 0; k < n; ++k) total += std::exp(static_cast<double>(col[k * inner] - peak));
      if (log) {
        // (x - peak) - log(total): subtracting the peak first keeps the digits of small results.
        const double log_total = std::log(total);
        for (int64_t k = 0; k < n; ++k)
          dst[k * inner] = static_cast<T>(static_cast<double>(col[k * inner] - peak) - log_total);
      } else {
        for (int64_t k = 0; k < n; ++k)
          dst[k * inner] = static_cast<T>(std::exp(static_cast<double>(col[k * inner] - peak)) / total);
      }
    }
  }
}

}  // namespace

void softmax(bool log, DType dtype, const void* x, void* out, int64_t outer, int64_t n, int64_t inner) {
  if (dtype == DType::F32)
    return softmax_typed(log, static_cast<const float*>(x), static_cast<float*>(out), outer, n, inner);
  softmax_typed(log, static_cast<const double*>(x), static_cast<double*>(out), outer, n, inner);
}

}  // namespace tapegrad::kernels

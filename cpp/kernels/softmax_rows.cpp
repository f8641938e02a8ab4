#include "kernels/softmax_rows.h"

#include <cstring>

#include "kernels/kernels.h"

namespace tapegrad::kernels {

const SoftmaxRowTable& active_softmax_rows() {
  const char* isa = active().isa;
  if (std::strcmp(isa, "avx512") == 0) return avx512_softmax_rows();
  if (std::strcmp(isa, "avx2") == 0) return avx2_softmax_rows();
  return scalar_softmax_rows();
}

}  // namespace tapegrad::kernels

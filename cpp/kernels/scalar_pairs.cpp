#include "kernels/scalar_pairs.h"

#include <cstring>

#include "kernels/kernels.h"

namespace tapegrad::kernels {

const ScalarPairTable& active_scalar_pairs() {
  const char* isa = active().isa;
  if (std::strcmp(isa, "avx512") == 0) return avx512_scalar_pairs();
  if (std::strcmp(isa, "avx2") == 0) return avx2_scalar_pairs();
  return scalar_scalar_pairs();
}

}  // namespace tapegrad::kernels

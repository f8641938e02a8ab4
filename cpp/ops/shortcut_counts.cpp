#include "ops/shortcut_counts.h"

namespace tapegrad::ops {

std::atomic<int64_t> g_shortcut_hits[static_cast<int>(Shortcut::Count)] = {};

const char* shortcut_name(Shortcut s) {
  switch (s) {
    case Shortcut::SquareGrad: return "square";
    case Shortcut::ReductionSpread: return "reduction_spread";
    case Shortcut::SparseSoftmaxXent: return "sparse_softmax_cross_entropy_with_logits";
    case Shortcut::SoftmaxXent: return "softmax_cross_entropy_with_logits";
    case Shortcut::SigmoidXent: return "sigmoid_cross_entropy_with_logits";
    case Shortcut::Count: break;
  }
  return "?";
}

}  // namespace tapegrad::ops

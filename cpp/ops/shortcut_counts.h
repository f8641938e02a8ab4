// How often each fused backward shortcut (a rule's one-kernel path under fused_ok()) was taken.
// A shortcut gives the same bits as the ops it replaces, so no result shows whether it runs; the
// counts do, and tests read them (tapegrad._core._shortcut_hits).
#pragma once
#include <atomic>
#include <cstdint>

namespace tapegrad::ops {

enum class Shortcut : int {
  SquareGrad,               // square's rule: 2 x g in one pass
  ReductionSpread,          // a sum/mean rule with a one-element g: a filled tensor
  SparseSoftmaxXent,        // sparse_softmax_cross_entropy_with_logits' rule
  SoftmaxXent,              // softmax_cross_entropy_with_logits' rule
  SigmoidXent,              // sigmoid_cross_entropy_with_logits' rule
  Count
};

extern std::atomic<int64_t> g_shortcut_hits[static_cast<int>(Shortcut::Count)];

inline void count_shortcut(Shortcut s) {
  g_shortcut_hits[static_cast<int>(s)].fetch_add(1, std::memory_order_relaxed);
}

const char* shortcut_name(Shortcut s);

}  // namespace tapegrad::ops

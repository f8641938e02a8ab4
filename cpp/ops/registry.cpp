// The registry: every op family's list, joined once.
#include <cstring>

#include "ops/op_util.h"

namespace tapegrad {

const std::vector<const OpDef*>& registry() {
  static const std::vector<const OpDef*> all = [] {
    std::vector<const OpDef*> v;
    for (const OpList* family : {&ops::kUnaryOps, &ops::kBinaryOps, &ops::kReductionOps,
                                 &ops::kMatmulOps, &ops::kShapeOps, &ops::kCompositeOps,
                                 &ops::kComparisonOps, &ops::kSoftmaxOps, &ops::kSelectionOps,
                                 &ops::kJoinOps, &ops::kScanOps, &ops::kLossOps, &ops::kIndexingOps,
                                 &ops::kLayoutOps, &ops::kDebuggingOps})
      v.insert(v.end(), family->ops, family->ops + family->size);
    return v;
  }();
  return all;
}

const OpDef* find_op(const char* name) {
  for (const OpDef* op : registry())
    if (std::strcmp(op->name, name) == 0) return op;
  return nullptr;
}

}  // namespace tapegrad

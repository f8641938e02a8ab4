#include "ops/op_kind.h"

namespace tapegrad {

const char* op_name(OpKind k) {
  static const char* const names[] = {
#define TG_NAME(name, str) str,
      TAPEGRAD_OPS(TG_NAME)
#undef TG_NAME
  };
  return names[static_cast<int>(k)];
}

}  // namespace tapegrad

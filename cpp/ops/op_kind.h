// The one list of every differentiable op. Each entry names the op; its forward lives in
// ops/*.cpp and its backward rule in ops/backward_rules.cpp, in this order.
#pragma once
#include <cstdint>

#include "core/dtype.h"
#include "core/shape.h"

namespace tapegrad {

#define TAPEGRAD_OPS(X)          \
  X(Add, "add")                  \
  X(Subtract, "subtract")        \
  X(Multiply, "multiply")        \
  X(Divide, "divide")            \
  X(Negative, "negative")        \
  X(Square, "square")            \
  X(MatMul, "matmul")            \
  X(ReduceSum, "reduce_sum")     \
  X(ReduceMean, "reduce_mean")   \
  X(Reshape, "reshape")          \
  X(Transpose, "transpose")      \
  X(Cast, "cast")                \
  X(BroadcastTo, "broadcast_to")

enum class OpKind : uint8_t {
#define TG_ENUM(name, str) name,
  TAPEGRAD_OPS(TG_ENUM)
#undef TG_ENUM
      Count
};

const char* op_name(OpKind k);

// Non-tensor arguments an op's backward needs.
struct OpAttrs {
  bool trans_a = false, trans_b = false;  // matmul
  bool keepdims = false;                  // reductions
  uint32_t axes_mask = 0;                 // reductions: bit d set when axis d is reduced
  int8_t perm[kMaxRank] = {};             // transpose
};

}  // namespace tapegrad

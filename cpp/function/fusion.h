// Fusion of elementwise chains: consecutive float elementwise ops over tensors of one shape (and
// scalars) become one Fused node that runs the whole chain over tiles small enough to stay in L1,
// calling each op's own kernel per tile. Elementwise kernels compute each element on its own, so
// a tile gives the same bits as the whole tensor, and the chain's intermediates never reach
// memory.
#pragma once
#include <vector>

#include "function/graph.h"

namespace tapegrad::function {

class FusedProgram {
 public:
  struct Step {
    int kernel;          // kernels::UnaryOp or BinaryOp
    bool binary;
    int8_t a, b;         // operand registers: >= 0 a tile register, < 0 the external input -1 - k
    bool a_scalar, b_scalar;  // the operand is a one-element tensor, broadcast
    int8_t out;          // tile register written
  };
  DType dtype = DType::F32;
  int64_t numel = 0;
  std::vector<Step> steps;
  int registers = 0;
  // The external inputs (node inputs, in order) and, per node output, the register it comes from.
  std::vector<int8_t> output_registers;

  // Runs the chain: node.inputs are the externals, node outputs are written to their values.
  void run(const Node& node, std::vector<TensorPtr>& values) const;
};

// Replaces fusable chains in g with Fused nodes whose programs are appended to `programs`;
// returns the number of op nodes folded into them.
int fuse_elementwise(Graph& g, std::vector<FusedProgram>& programs);

}  // namespace tapegrad::function

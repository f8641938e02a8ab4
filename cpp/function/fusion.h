// Fusion of elementwise chains for tg.function. A run of consecutive nodes that are float
// elementwise ops over one shape (their other operands of that shape, one-element tensors,
// constants whose elements are all equal, or rows of the shape's last dimension, as a bias), with
// reductions of some of them among the run (no op of the run reading one), becomes one Fused
// node. It computes the chain tile by tile, calling each op's own kernel on a tile that stays in
// L1, and writes to memory only the values used after the chain.
//
// Bits: elementwise kernels compute each element from its own operands, so a tile gives the
// elements the whole tensor would. A reduction sees the very values eager's sees, in the same
// order, through the same kernel call:
// - a sum or mean of all elements: one call over the whole array below the parallel threshold,
//   above it one call per fixed chunk of ops::kSumChunkElements, combined in order, as
//   ops/reductions.cpp;
// - a sum or mean over some axes (taken only below the threshold, as the run then computes all
//   of it at once): one call over the whole array, as eager at any size;
// - a float32 dot product of two columns (or rows) of the run's shape, a matmul into one element:
//   the table's dot kernel on the chunks the GEMM's dot path takes (kernels.h,
//   kDotChunkElements), or on the whole run below the threshold. A float32 full sum of a square
//   that nothing else reads is such a dot product of the square's operand with itself: the dot
//   kernel rounds each product x * x to float as the square kernel does, and sums the products
//   in sum_run's order.
#pragma once
#include <vector>

#include "function/graph.h"

namespace tapegrad::function {

class FusedProgram {
 public:
  // The most ops one program runs (a longer run is split into several programs).
  static constexpr int kMaxSteps = 32;
  static constexpr int kMaxReductions = 4;
  struct Operand {
    // Row: an external input of the shape's last dimension (a bias), broadcast over the rows.
    enum Kind : uint8_t { Step, External, Scalar, Row } kind;
    int index;  // Step: an earlier step; External, Scalar, Row: an external input
  };
  struct Step {
    bool binary = false;
    int kernel = 0;  // kernels::UnaryOp or BinaryOp
    Operand a{Operand::Step, -1}, b{Operand::Step, -1};
    int output = -1;  // index among the materialised outputs, or -1 (lives in a tile)
    // A square that only a sum reads, which reads its operand as a dot product instead: the
    // loop skips it.
    bool elided = false;
    // This step and the next run as one scalar pair (kernels/scalar_pairs.h): each has a
    // one-element operand, the next reads this one's value, and nothing else does.
    bool pairs_with_next = false;
  };

  DType dtype = DType::F32;
  Shape shape;
  std::vector<Step> steps;
  // Per external input (the node's inputs, in order): a one-element tensor to broadcast in place
  // of the input (a constant whose elements are all equal), or null (the input itself).
  std::vector<TensorPtr> uniform;
  std::vector<bool> scalar;  // per external: read as one value broadcast over the shape
  std::vector<bool> row;     // per external: read as a row broadcast over the rows
  // The sum or mean of every element of a step, as its reduction node did it; or a dot product:
  // the sum of a[i] * b[i] by the table's dot kernel, which for float32 is the sum of the multiply
  // kernel's products (kernels/reduce.h), as the GEMM's dot path forms it.
  struct Reduction {
    bool mean = false;
    uint32_t axes_mask = 0;
    Shape shape;
    Operand a{Operand::Step, -1};
    Operand b{Operand::Step, -1};  // a dot product's second operand; index -1 for a sum
  };
  std::vector<Reduction> reductions;
  // Per step: the index of its scratch sink when a reduction reads it and it is not materialised,
  // else -1. A reduction reads at most two steps: at most 2 * kMaxReductions sinks.
  std::vector<int> sink;
  int sink_count = 0;
  // The node's outputs: the materialised steps' values, in order, then the reductions'.
  std::vector<int> materialised;

  void run(const Node& node, std::vector<TensorPtr>& values) const;

 private:
  template <typename T>
  void run_typed(const Node& node, std::vector<TensorPtr>& values) const;
};

// Replaces fusable runs of nodes in g with Fused nodes whose programs are appended to `programs`;
// returns the number of nodes folded into them.
int fuse_elementwise(Graph& g, std::vector<FusedProgram>& programs);

}  // namespace tapegrad::function

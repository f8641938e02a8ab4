// The graph passes of tg.function. Each keeps what a call computes bit for bit: a node that runs
// still runs the same op on the same values, and a removed or merged node computed nothing the
// call returns or an effect reads, or the same bits as the node that replaces it.
#pragma once
#include "function/graph.h"

namespace tapegrad::function {

struct PassCounts {
  int folded = 0;  // nodes whose inputs are all constants, computed once at compile time
  int common = 0;  // nodes merged into an identical earlier one
  int dead = 0;    // nodes nothing returned or updated depends on
  int fused = 0;   // nodes folded into fused elementwise loops
  int scaled = 0;  // matmuls of a column by a 1x1 matrix run as elementwise products
  int paired = 0;  // pairs of steps of fused loops run as one scalar-pair kernel call
};

// Runs the op nodes whose inputs are all constants and makes their results constants.
int fold_constants(Graph& g);
// Merges nodes that run the same op with the same arguments on the same values, and variable
// reads of one variable with no effect between them.
int eliminate_common_subexpressions(Graph& g);
// Removes nodes whose output nothing needs. Effects stay, and so do ops that check their
// inputs' values (labels, indices, integer divisors): their errors are part of the call.
int eliminate_dead_code(Graph& g);

// Rewrites matmul(a, w) of an (m, 1) column a and a 1x1 w as multiply(a, w): the GEMM's skinny
// path computes that shape as c[i] = a[i] * w[0] (kernels/gemm/skinny.h), the elementwise
// multiply's arithmetic, and as an elementwise op it can join a fused loop.
int scale_columns(Graph& g);

// Whether the op raises for some values of inputs of fixed shapes: such a node is never removed.
bool checks_values(const Node& node);

}  // namespace tapegrad::function

// A traced function ready to run: the graph as traced, and the plan the passes made of it.
// call() runs the plan when no tape is active (no Python, no tape bookkeeping; each intermediate
// is released after its last use, so its storage serves later nodes), and otherwise replays the
// traced graph op by op through the ordinary entry points, so active tapes and an outer trace see
// every op as in eager mode.
#pragma once
#include <vector>

#include "function/graph.h"
#include "function/passes.h"

namespace tapegrad::function {

class FusedProgram;

class ConcreteFunction {
 public:
  explicit ConcreteFunction(Graph traced);
  ~ConcreteFunction();

  // `inputs` must match the traced arguments in number, dtype and shape (ValueError otherwise).
  // Safe to call from several threads at once.
  std::vector<TensorPtr> call(const std::vector<TensorPtr>& inputs) const;

  const Graph& traced_graph() const { return traced_; }
  const Graph& plan() const { return plan_; }
  const PassCounts& pass_counts() const { return counts_; }

 private:
  void check_inputs(const std::vector<TensorPtr>& inputs) const;
  std::vector<TensorPtr> run_plan(const std::vector<TensorPtr>& inputs) const;
  std::vector<TensorPtr> replay_traced(const std::vector<TensorPtr>& inputs) const;

  Graph traced_;
  Graph plan_;
  PassCounts counts_;
  // For each plan node, the values no later node reads: released once it has run.
  std::vector<std::vector<int32_t>> release_after_;
  std::vector<FusedProgram> fused_;
};

}  // namespace tapegrad::function

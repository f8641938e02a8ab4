// The graph a tg.function trace produces: values (the tensors of one call) and the nodes that make
// them, in the order the trace ran them. Node order is a valid execution order; effects (variable
// updates) keep their order relative to each other and to the variable reads around them.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ops/op_def.h"
#include "tape/variable.h"

namespace tapegrad::function {

// Runs an op whose C++ arguments do not fit OpArguments (slicing and gathering): the inputs are
// the node's input values, in order.
using OpClosure = std::function<TensorPtr(const TensorPtr* inputs)>;
// Changes variables (an assignment, an optimizer update) from the node's input values.
using EffectClosure = std::function<void(const TensorPtr* inputs)>;

enum class ValueSource : uint8_t {
  Input,     // the k-th tensor argument of the call
  Constant,  // fixed at trace time: a tensor the function captured, or a folded result
  Node,      // the output of a node
};

struct Value {
  ValueSource source = ValueSource::Node;
  DType dtype = DType::F32;
  Shape shape;
  int32_t input_index = -1;  // Input
  TensorPtr constant;        // Constant
};

enum class NodeKind : uint8_t {
  Op,            // op->forward(*op, inputs, args)
  Closure,       // run(inputs); `op` names it
  VariableRead,  // the variable's current value
  Effect,        // effect(inputs); no output
  Fused,         // an elementwise chain run tile by tile (fusion.h); `fused` indexes the program
};

struct Node {
  NodeKind kind = NodeKind::Op;
  const OpDef* op = nullptr;
  OpArguments args;
  OpClosure run;
  EffectClosure effect;
  const char* effect_name = nullptr;
  VariablePtr variable;
  std::vector<int32_t> inputs;
  int32_t output = -1;
  int32_t fused = -1;
  std::vector<int32_t> fused_outputs;  // Fused: the values it writes (output stays -1)
};

struct Graph {
  std::vector<Value> values;
  std::vector<Node> nodes;
  std::vector<int32_t> inputs;   // value ids of the tensor arguments, in call order
  std::vector<int32_t> outputs;  // value ids the call returns, in order (repeats allowed)
  // Constants the trace drew at random (tg.random), with the function that drew them: no live
  // node may read them, since a replay cannot draw again.
  std::vector<std::pair<int32_t, std::string>> drawn;
};

// A readable listing of the graph, one node per line (tests and debugging).
std::string describe(const Graph& g);

}  // namespace tapegrad::function

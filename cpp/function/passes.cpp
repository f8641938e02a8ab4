#include "function/passes.h"

#include <cstring>
#include <map>
#include <tuple>

namespace tapegrad::function {
namespace {

bool same_arguments(const OpArguments& a, const OpArguments& b) {
  return a.n_inputs == b.n_inputs && a.flags[0] == b.flags[0] && a.flags[1] == b.flags[1] &&
         a.has_ints == b.has_ints && a.ints == b.ints && a.dtype == b.dtype &&
         std::memcmp(&a.number, &b.number, sizeof a.number) == 0 && a.text == b.text;
}

// Rewrites every use of a value through `replace` (an id maps to itself when unchanged).
void rename_uses(Graph& g, const std::vector<int32_t>& replace) {
  for (Node& n : g.nodes)
    for (int32_t& v : n.inputs) v = replace[v];
  for (int32_t& v : g.outputs) v = replace[v];
}

}  // namespace

int scale_columns(Graph& g) {
  static const OpDef* const kMatmul = find_op("matmul");
  static const OpDef* const kMultiply = find_op("multiply");
  int scaled = 0;
  for (Node& n : g.nodes) {
    if (n.kind != NodeKind::Op || n.op != kMatmul || n.args.flags[0] || n.args.flags[1]) continue;
    const Shape& a = g.values[n.inputs[0]].shape;
    const Shape& w = g.values[n.inputs[1]].shape;
    if (a.rank != 2 || a.dims[1] != 1 || w.rank != 2 || w.dims[0] != 1 || w.dims[1] != 1) continue;
    n.op = kMultiply;
    n.args = OpArguments{};
    ++scaled;
  }
  return scaled;
}

bool checks_values(const Node& node) {
  if (node.kind == NodeKind::Effect) return true;
  if (!node.op) return false;
  static const char* const kChecking[] = {
      "check_numerics", "gather", "gather_grad", "one_hot", "floordiv", "mod", "pow",
      "sparse_softmax_cross_entropy_with_logits", "sparse_softmax_cross_entropy_with_logits_grad"};
  for (const char* name : kChecking)
    if (std::strcmp(node.op->name, name) == 0) return true;
  return false;
}

int fold_constants(Graph& g) {
  int folded = 0;
  std::vector<Node> kept;
  kept.reserve(g.nodes.size());
  for (Node& n : g.nodes) {
    bool all_constant = n.kind == NodeKind::Op || n.kind == NodeKind::Closure;
    for (int32_t v : n.inputs) all_constant = all_constant && g.values[v].source == ValueSource::Constant;
    if (!all_constant || n.inputs.empty()) {
      kept.push_back(std::move(n));
      continue;
    }
    std::vector<TensorPtr> in;
    for (int32_t v : n.inputs) in.push_back(g.values[v].constant);
    // The trace ran this node on these very values without an error, so this run cannot fail.
    TensorPtr out = n.kind == NodeKind::Op ? n.op->forward(*n.op, in.data(), n.args) : n.run(in.data());
    Value& value = g.values[n.output];
    value.source = ValueSource::Constant;
    value.constant = std::move(out);
    ++folded;
  }
  g.nodes = std::move(kept);
  return folded;
}

int eliminate_common_subexpressions(Graph& g) {
  std::vector<int32_t> replace(g.values.size());
  for (size_t i = 0; i < replace.size(); ++i) replace[i] = static_cast<int32_t>(i);
  int merged = 0;
  std::vector<size_t> ops_seen;  // indices into kept of Op nodes, for lookup
  std::map<const Variable*, int32_t> last_read;  // since the last effect
  std::vector<Node> kept;
  kept.reserve(g.nodes.size());
  for (Node& n : g.nodes) {
    for (int32_t& v : n.inputs) v = replace[v];
    if (n.kind == NodeKind::Effect) {
      last_read.clear();
    } else if (n.kind == NodeKind::VariableRead) {
      const auto it = last_read.find(n.variable.get());
      if (it != last_read.end()) {
        replace[n.output] = it->second;
        ++merged;
        continue;
      }
      last_read[n.variable.get()] = n.output;
    } else if (n.kind == NodeKind::Op) {
      bool found = false;
      for (size_t k : ops_seen) {
        const Node& m = kept[k];
        if (m.op == n.op && m.inputs == n.inputs && same_arguments(m.args, n.args)) {
          replace[n.output] = m.output;
          found = true;
          break;
        }
      }
      if (found) {
        ++merged;
        continue;
      }
      ops_seen.push_back(kept.size());
    }
    kept.push_back(std::move(n));
  }
  g.nodes = std::move(kept);
  for (int32_t& v : g.outputs) v = replace[v];
  return merged;
}

int eliminate_dead_code(Graph& g) {
  std::vector<char> needed(g.values.size(), 0);
  for (int32_t v : g.outputs) needed[v] = 1;
  std::vector<char> keep(g.nodes.size(), 0);
  for (size_t i = g.nodes.size(); i-- > 0;) {
    const Node& n = g.nodes[i];
    keep[i] = checks_values(n) || (n.output >= 0 && needed[n.output]);
    if (keep[i])
      for (int32_t v : n.inputs) needed[v] = 1;
  }
  std::vector<Node> kept;
  int removed = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (keep[i]) kept.push_back(std::move(g.nodes[i]));
    else ++removed;
  }
  g.nodes = std::move(kept);
  return removed;
}

std::string describe(const Graph& g) {
  std::string s;
  auto name = [&](int32_t v) {
    const Value& val = g.values[v];
    const char* kind = val.source == ValueSource::Input ? "in" : val.source == ValueSource::Constant ? "c" : "v";
    return std::string(kind) + std::to_string(v);
  };
  for (const Node& n : g.nodes) {
    std::string line;
    if (n.output >= 0) line += name(n.output) + " " + g.values[n.output].shape.str() + " = ";
    for (size_t i = 0; i < n.fused_outputs.size(); ++i)
      line += name(n.fused_outputs[i]) + (i + 1 < n.fused_outputs.size() ? ", " : " = ");
    switch (n.kind) {
      case NodeKind::Op: line += n.op->name; break;
      case NodeKind::Closure: line += n.op->name; break;
      case NodeKind::VariableRead: line += "read " + n.variable->name(); break;
      case NodeKind::Effect: line += std::string("effect ") + n.effect_name; break;
      case NodeKind::Fused: line += "fused#" + std::to_string(n.fused); break;
    }
    line += "(";
    for (size_t i = 0; i < n.inputs.size(); ++i) line += (i ? ", " : "") + name(n.inputs[i]);
    s += line + ")\n";
  }
  s += "return (";
  for (size_t i = 0; i < g.outputs.size(); ++i) s += (i ? ", " : "") + name(g.outputs[i]);
  return s + ")\n";
}

}  // namespace tapegrad::function

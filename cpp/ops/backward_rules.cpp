// All backward rules, one per op, written with the ops themselves so that a tape recording
// during backward sees them (higher-order gradients for free).
#include "ops/backward_rules.h"

#include "ops/ops.h"

namespace tapegrad {
namespace {
using namespace ops;

using E = TapeEntry;
using G = TensorPtr;

// Shape of a reduction's output with the reduced axes kept as 1.
std::vector<int64_t> keepdims_shape(const E& e) {
  std::vector<int64_t> s;
  const Shape& in = e.in_shape[0];
  for (int d = 0; d < in.rank; ++d) s.push_back(e.attrs.axes_mask >> d & 1u ? 1 : in.dims[d]);
  return s;
}

// Fused shortcuts skip the recordable formula; they are only valid when no tape records the
// backward pass (otherwise higher-order gradients would miss those steps).
bool fused_ok() { return !tape_stack::any_recording(); }

// The gradient of a reduction spread back over the input, times `factor`.
// Scaling g before broadcasting it gives the same bits (each element is one product g_i * factor)
// and keeps the pass over the large gradient a single copy.
G spread(const E& e, const G& g, double factor) {
  if (fused_ok() && g->numel() == 1)
    return TensorImpl::full(g->dtype(), e.in_shape[0], g->item() * factor, "gradient");
  const G scaled = factor == 1.0 ? g : multiply(g, scalar(e.in_dtype[0], factor));
  return broadcast_to(reshape(scaled, keepdims_shape(e)), e.in_shape[0]);
}

void add_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = unbroadcast(g, e.in_shape[0]);
  if (need[1]) out[1] = unbroadcast(g, e.in_shape[1]);
}

void subtract_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = unbroadcast(g, e.in_shape[0]);
  // Negated after the sum, over the smaller tensor: the same bits (negation is exact).
  if (need[1]) out[1] = negative(unbroadcast(g, e.in_shape[1]));
}

void multiply_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = unbroadcast(multiply(g, e.saved[1]), e.in_shape[0]);
  if (need[1]) out[1] = unbroadcast(multiply(g, e.saved[0]), e.in_shape[1]);
}

// d(a/b) = g/b, -g*a/b^2
void divide_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  const G g_over_b = divide(g, e.saved[1]);
  if (need[0]) out[0] = unbroadcast(g_over_b, e.in_shape[0]);
  if (need[1])
    out[1] = unbroadcast(negative(divide(multiply(g_over_b, e.saved[0]), e.saved[1])), e.in_shape[1]);
}

void negative_rule(const E&, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = negative(g);
}

// d(x^2) = 2 x g
void square_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[0]) return;
  const G& x = e.saved[0];
  if (fused_ok() && g->shape() == x->shape() && g->dtype() == x->dtype()) {
    out[0] = square_grad(x, g);
  } else {
    out[0] = multiply(g, multiply(e.saved[0], scalar(e.in_dtype[0], 2.0)));
  }
}

// C = op(A) op(B). With the transpose flags no transpose is ever materialized:
//   A·B:   dA = g·Bᵀ      dB = Aᵀ·g
//   A·Bᵀ:  dA = g·B       dB = gᵀ·A
//   Aᵀ·B:  dA = B·gᵀ      dB = A·g
//   Aᵀ·Bᵀ: dA = Bᵀ·gᵀ     dB = gᵀ·Aᵀ
void matmul_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  const G& a = e.saved[0];
  const G& b = e.saved[1];
  const bool ta = e.attrs.trans_a, tb = e.attrs.trans_b;
  if (need[0]) {
    G da = !ta ? (!tb ? matmul(g, b, false, true) : matmul(g, b, false, false))
               : (!tb ? matmul(b, g, false, true) : matmul(b, g, true, true));
    out[0] = unbroadcast(da, e.in_shape[0]);
  }
  if (need[1]) {
    G db = !tb ? (!ta ? matmul(a, g, true, false) : matmul(a, g, false, false))
               : (!ta ? matmul(g, a, true, false) : matmul(g, a, true, true));
    out[1] = unbroadcast(db, e.in_shape[1]);
  }
}

void reduce_sum_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = spread(e, g, 1.0);
}

void reduce_mean_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[0]) return;
  const int64_t count = e.in_shape[0].numel() / (g->numel() ? g->numel() : 1);
  out[0] = spread(e, g, count ? 1.0 / double(count) : 0.0);
}

void reshape_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0])
    out[0] = reshape(g, std::vector<int64_t>(e.in_shape[0].dims, e.in_shape[0].dims + e.in_shape[0].rank));
}

void transpose_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (!need[0]) return;
  std::vector<int64_t> inverse(e.in_shape[0].rank);
  for (int d = 0; d < e.in_shape[0].rank; ++d) inverse[e.attrs.perm[d]] = d;
  out[0] = transpose(g, &inverse);
}

void cast_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = cast(g, e.in_dtype[0]);
}

void broadcast_to_rule(const E& e, const G& g, const bool need[2], G out[2]) {
  if (need[0]) out[0] = unbroadcast(g, e.in_shape[0]);
}

}  // namespace

BackwardRule backward_rule(OpKind op) {
  // Indexed by OpKind: the order of TAPEGRAD_OPS.
  static const BackwardRule rules[] = {
      add_rule,         subtract_rule,  multiply_rule, divide_rule,  negative_rule,
      square_rule,      matmul_rule,    reduce_sum_rule, reduce_mean_rule, reshape_rule,
      transpose_rule,   cast_rule,      broadcast_to_rule,
  };
  static_assert(sizeof(rules) / sizeof(rules[0]) == static_cast<size_t>(OpKind::Count),
                "every op in TAPEGRAD_OPS needs a backward rule");
  return rules[static_cast<int>(op)];
}

}  // namespace tapegrad

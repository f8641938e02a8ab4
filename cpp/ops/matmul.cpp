// matmul: op(a) @ op(b) over the last two axes, with broadcasting batch axes: forward, rule and
// entry. Every product goes through the kernel table's GEMM, which takes the transpose flags
// itself, so neither the forward nor the rule ever materialises a transpose.
#include "ops/ops.h"
#include "ops/op_util.h"

namespace tapegrad::ops {
namespace {

Shape leading(const Shape& s) {
  Shape out;
  for (int d = 0; d + 2 < s.rank; ++d) out.push_back(s.dims[d]);
  return out;
}

std::string flags(bool ta, bool tb) {
  return std::string(" (transpose_a=") + (ta ? "True" : "False") +
         ", transpose_b=" + (tb ? "True" : "False") + ")";
}

using E = TapeEntry;
using G = TensorPtr;

// C = op(A) op(B):
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

TensorPtr matmul_impl(const TensorPtr& a, const TensorPtr& b, bool ta, bool tb);

TensorPtr matmul_forward(const OpDef&, const TensorPtr* in, const OpArguments& args) {
  return matmul_impl(in[0], in[1], args.flags[0], args.flags[1]);
}

constexpr OpDef kMatmul{
    "matmul",
    "op(a) @ op(b) over the last two axes (ranks >= 2); leading axes broadcast.",
    {"a", "b"},
    {{"transpose_a", AttrKind::Bool}, {"transpose_b", AttrKind::Bool}},
    Saves::Inputs,
    matmul_rule,
    matmul_forward,
    0};

constexpr const OpDef* kList[] = {&kMatmul};

}  // namespace

const OpList kMatmulOps = {kList, sizeof(kList) / sizeof(kList[0])};

TensorPtr matmul(const TensorPtr& a, const TensorPtr& b, bool ta, bool tb) {
  OpArguments args;
  args.flags[0] = ta;
  args.flags[1] = tb;
  const TensorPtr in[2] = {a, b};
  return call_op(kMatmul, in, args);
}

namespace {

TensorPtr matmul_impl(const TensorPtr& a, const TensorPtr& b, bool ta, bool tb) {
  const char* name = "matmul";
  check_same_dtype(a, b, name);
  check_dtype(a, Accepts::Floats, name);
  const Shape& as = a->shape();
  const Shape& bs = b->shape();
  if (as.rank < 2 || bs.rank < 2)
    throw ValueError(std::string(name) + ": both inputs must have rank >= 2, got shapes " +
                     as.str() + " and " + bs.str() +
                     "; reshape a vector to (1, n) or (n, 1) first");
  const int64_t m = ta ? as.dims[as.rank - 1] : as.dims[as.rank - 2];
  const int64_t ka = ta ? as.dims[as.rank - 2] : as.dims[as.rank - 1];
  const int64_t kb = tb ? bs.dims[bs.rank - 1] : bs.dims[bs.rank - 2];
  const int64_t n = tb ? bs.dims[bs.rank - 2] : bs.dims[bs.rank - 1];
  if (ka != kb)
    throw ValueError(std::string(name) + ": inner dimensions must match, got shapes " + as.str() +
                     " and " + bs.str() + flags(ta, tb) + ", contracting " + std::to_string(ka) +
                     " with " + std::to_string(kb));
  const Shape a_batch = leading(as), b_batch = leading(bs);
  Shape batch = a_batch;
  if (a_batch != b_batch) {
    try {
      batch = broadcast_shapes(a_batch, b_batch, name);
    } catch (const ValueError&) {
      throw ValueError(std::string(name) + ": the batch dimensions of shapes " + as.str() + " and " +
                       bs.str() + " cannot be broadcast together (expected equal sizes or 1)");
    }
  }
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  TensorPtr out = TensorImpl::empty(a->dtype(), out_shape, name);

  if (out->numel() > 0) {
    const int64_t k = ka;
    LongRunning unlocked(static_cast<double>(out->numel()) * k >= kLongRunningWork);
    const int64_t lda = as.dims[as.rank - 1], ldb = bs.dims[bs.rank - 1];
    const auto& kern = kernels::active();
    visit_dtype(a->dtype(), [&](auto zero) {
      using T = decltype(zero);
      const auto gemm = kern.get<T>().gemm;
      const T* A = a->data<T>();
      const T* B = b->data<T>();
      T* C = out->data<T>();
      if (bs.rank == 2 && !ta) {
        // A shared 2-D right operand: the batch folds into the rows of one GEMM.
        gemm(false, tb, batch.numel() * m, n, k, T(1), A, lda, B, ldb, T(0), C, n);
        return;
      }
      int64_t sa[kMaxRank], sb[kMaxRank];
      broadcast_strides(a_batch, batch, sa);
      broadcast_strides(b_batch, batch, sb);
      const int64_t mat_a = as.dims[as.rank - 2] * lda, mat_b = bs.dims[bs.rank - 2] * ldb;
      int64_t idx[kMaxRank] = {};
      int64_t off_a = 0, off_b = 0;
      const int64_t count = batch.numel();
      for (int64_t i = 0; i < count; ++i) {
        gemm(ta, tb, m, n, k, T(1), A + off_a * mat_a, lda, B + off_b * mat_b, ldb, T(0),
             C + i * m * n, n);
        for (int d = batch.rank - 1; d >= 0; --d) {
          off_a += sa[d];
          off_b += sb[d];
          if (++idx[d] < batch.dims[d]) break;
          off_a -= sa[d] * batch.dims[d];
          off_b -= sb[d] * batch.dims[d];
          idx[d] = 0;
        }
      }
    });
  }
  OpAttrs attrs;
  attrs.trans_a = ta;
  attrs.trans_b = tb;
  return recorded(kMatmul, {&a, &b}, out, attrs);
}

}  // namespace

}  // namespace tapegrad::ops

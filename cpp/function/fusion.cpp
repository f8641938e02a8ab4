#include "function/fusion.h"

#include <algorithm>
#include <cstring>

#include "core/parallel.h"
#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "kernels/scalar_pairs.h"
#include "ops/op_util.h"

namespace tapegrad::function {
namespace {

// A thread's scratch of at least n elements of T, reused across calls (never zeroed: every
// element read is written first).
template <typename T>
T* scratch(int which, int64_t n) {
  thread_local std::vector<T> buffers[1 + 2 * FusedProgram::kMaxReductions];
  std::vector<T>& b = buffers[which];
  if (b.size() < static_cast<size_t>(n)) b.resize(static_cast<size_t>(n));
  return b.data();
}

// Elements per tile: 8 KiB (float32) per step, so the tiles a step reads and writes stay in L1.
constexpr int64_t kTileElements = 2048;

bool is_float(DType d) { return d == DType::F32 || d == DType::F64; }

// A constant whose elements are all bitwise equal, as a one-element tensor; null otherwise.
TensorPtr uniform_value(const Value& v) {
  if (v.source != ValueSource::Constant || v.constant->numel() < 1) return nullptr;
  const TensorImpl& t = *v.constant;
  const size_t size = dtype_size(t.dtype());
  const char* p = static_cast<const char*>(t.raw());
  for (int64_t i = 1; i < t.numel(); ++i)
    if (std::memcmp(p, p + i * static_cast<int64_t>(size), size) != 0) return nullptr;
  TensorPtr one = TensorImpl::empty(t.dtype(), Shape{}, "tg.function");
  std::memcpy(one->raw(), p, size);
  return one;
}

struct Group {
  DType dtype;
  Shape shape;
};

// Whether a value of shape `in` is a row of `shape`: its last dimension, 2 to kTileElements long,
// with every other dimension 1 (a bias added to each row).
bool is_row(const Shape& in, const Shape& shape) {
  if (shape.rank < 2 || in.rank < 1 || in.rank > shape.rank) return false;
  const int64_t last = shape.dims[shape.rank - 1];
  if (last < 2 || last > kTileElements || in.dims[in.rank - 1] != last) return false;
  return in.numel() == last;
}

// Whether node n is an elementwise op the group can take: its output has the group's shape and
// dtype, and each operand is of that shape, one element, a row (is_row), or a uniform constant
// (of any shape that broadcasts to the output's, which its op checked when the trace ran it).
bool joins(const Graph& g, const Node& n, const Group& group) {
  if (n.kind != NodeKind::Op || !(ops::is_unary_kernel_op(*n.op) || ops::is_binary_kernel_op(*n.op)))
    return false;
  const Value& out = g.values[n.output];
  if (out.dtype != group.dtype || out.shape != group.shape) return false;
  for (int32_t v : n.inputs) {
    const Value& in = g.values[v];
    if (in.dtype != group.dtype) return false;
    // Another shape broadcasts to the output's: one element, or a constant of equal elements.
    if (in.shape != group.shape && in.shape.numel() != 1 && !is_row(in.shape, group.shape) &&
        uniform_value(in) == nullptr)
      return false;
  }
  return true;
}

// Whether node n is a float32 matmul that is the dot product of two operands of the group's shape,
// a column (N, 1) or a row (1, N) with N >= 2: the GEMM's dot path (kernels/gemm/skinny.h) over two
// contiguous runs. Float32 only: a float32 product is rounded before its addition, so the table's
// dot kernel and the GEMM's own copy of it agree bit for bit; float64 products may be contracted
// into the additions differently in each copy. A uniform constant operand is not taken (a fused
// loop reads it as one value).
bool is_dot(const Graph& g, const Node& n, const Group& group) {
  static const OpDef* const kMatmul = find_op("matmul");
  if (n.kind != NodeKind::Op || n.op != kMatmul || n.inputs.size() != 2 || group.dtype != DType::F32)
    return false;
  const Shape& s = group.shape;
  if (s.rank != 2 || s.numel() < 2 || (s.dims[0] != 1 && s.dims[1] != 1)) return false;
  const bool column = s.dims[1] == 1;
  if (n.args.flags[0] != column || n.args.flags[1] == column) return false;  // x^T y or x y^T
  for (int32_t v : n.inputs) {
    const Value& in = g.values[v];
    if (in.dtype != group.dtype || in.shape != s) return false;
    if (in.source == ValueSource::Constant && uniform_value(in) != nullptr) return false;
  }
  const Value& out = g.values[n.output];
  return out.shape.rank == 2 && out.shape.numel() == 1;
}

// The step a float32 sum of all elements reads, when it is a square of an input or of another
// step that no other node reads and nothing stores; null otherwise.
FusedProgram::Step* square_read_only_by(FusedProgram& p, const FusedProgram::Reduction& red,
                                        size_t readers) {
  using Operand = FusedProgram::Operand;
  if (p.dtype != DType::F32 || red.shape.numel() != 1 || red.a.kind != Operand::Step || readers != 1)
    return nullptr;
  FusedProgram::Step& s = p.steps[red.a.index];
  const bool operand_in_memory = s.a.kind == Operand::Step || s.a.kind == Operand::External;
  if (s.binary || s.kernel != static_cast<int>(kernels::UnaryOp::Square) || s.output >= 0 ||
      !operand_in_memory)
    return nullptr;
  return &s;
}

// Marks each step that forms a scalar pair with the next (FusedProgram::Step::pairs_with_next):
// both binary arithmetic ops with one one-element operand, the first's other operand a step or an
// input, the next's other operand the first step, which no other step or reduction reads, and
// which is neither stored nor sunk.
void pair_scalar_steps(FusedProgram& p) {
  using Operand = FusedProgram::Operand;
  const int n = static_cast<int>(p.steps.size());
  std::vector<int> reads(n, 0);
  auto count = [&](const Operand& o) {
    if (o.kind == Operand::Step && o.index >= 0) ++reads[o.index];
  };
  for (const FusedProgram::Step& st : p.steps) {
    if (st.elided) continue;
    count(st.a);
    if (st.binary) count(st.b);
  }
  for (const FusedProgram::Reduction& r : p.reductions) {
    count(r.a);
    if (r.b.index >= 0) count(r.b);
  }
  auto arithmetic = [](const FusedProgram::Step& st) {
    return st.binary && !st.elided && kernels::pairable(static_cast<kernels::BinaryOp>(st.kernel)) &&
           (st.a.kind == Operand::Scalar) != (st.b.kind == Operand::Scalar);
  };
  for (int s = 0; s + 1 < n; ++s) {
    FusedProgram::Step& first = p.steps[s];
    const FusedProgram::Step& next = p.steps[s + 1];
    if (!arithmetic(first) || !arithmetic(next) || first.output >= 0 || p.sink[s] >= 0 || reads[s] != 1)
      continue;
    const Operand& other = first.a.kind == Operand::Scalar ? first.b : first.a;
    if (other.kind != Operand::Step && other.kind != Operand::External) continue;
    const Operand& chained = next.a.kind == Operand::Scalar ? next.b : next.a;
    if (chained.kind != Operand::Step || chained.index != s) continue;
    first.pairs_with_next = true;
    ++s;  // the next step belongs to this pair
  }
}

}  // namespace

int fuse_elementwise(Graph& g, std::vector<FusedProgram>& programs) {
  const size_t count = g.nodes.size();
  // Where each value is read: by which nodes, and whether the call returns it.
  std::vector<std::vector<size_t>> readers(g.values.size());
  for (size_t i = 0; i < count; ++i)
    for (int32_t v : g.nodes[i].inputs) readers[v].push_back(i);
  std::vector<char> returned(g.values.size(), 0);
  for (int32_t v : g.outputs) returned[v] = 1;

  int fused = 0;
  std::vector<Node> kept;
  size_t i = 0;
  while (i < count) {
    const Node& first = g.nodes[i];
    Group group{};
    bool starts = first.kind == NodeKind::Op && first.output >= 0 && is_float(g.values[first.output].dtype) &&
                  g.values[first.output].shape.numel() > 0;
    if (starts) {
      group = {g.values[first.output].dtype, g.values[first.output].shape};
      starts = joins(g, first, group);
    }
    if (!starts) {
      kept.push_back(std::move(g.nodes[i++]));
      continue;
    }
    // The run: members (elementwise ops) and the full sums or means of members among them. A
    // member may not read a sum of the run (that needs every tile first).
    std::vector<char> is_sum(g.values.size(), 0);
    std::vector<char> made_here(g.values.size(), 0);
    size_t last = i;
    int members = 0, sums = 0;
    while (last < count) {
      const Node& n = g.nodes[last];
      bool mean = false;
      if (n.kind == NodeKind::VariableRead) {
        // A read has no inputs and no effect runs inside a run: it moves ahead of the fused node.
        ++last;
        continue;
      }
      if (members < FusedProgram::kMaxSteps && joins(g, n, group)) {
        bool reads_sum = false;
        for (int32_t v : n.inputs) reads_sum |= is_sum[v] != 0;
        if (reads_sum) break;
        ++members;
      } else if (sums < FusedProgram::kMaxReductions && n.kind == NodeKind::Op &&
                 ops::is_sum_or_mean(*n.op, &mean) && n.inputs.size() == 1 &&
                 made_here[n.inputs[0]] && !is_sum[n.inputs[0]] &&
                 (g.values[n.output].shape.numel() == 1 ||
                  group.shape.numel() < threads::parallel_elements())) {
        is_sum[n.output] = 1;
        ++sums;
      } else if (sums < FusedProgram::kMaxReductions && is_dot(g, n, group) &&
                 !is_sum[n.inputs[0]] && !is_sum[n.inputs[1]]) {
        is_sum[n.output] = 1;
        ++sums;
      } else {
        break;
      }
      made_here[n.output] = 1;
      ++last;
    }
    if (members + sums < 2) {
      kept.push_back(std::move(g.nodes[i++]));
      continue;
    }

    FusedProgram p;
    p.dtype = group.dtype;
    p.shape = group.shape;
    Node node;
    node.kind = NodeKind::Fused;
    std::vector<int32_t> step_of(g.values.size(), -1);
    auto operand = [&](int32_t v) {
      if (step_of[v] >= 0) return FusedProgram::Operand{FusedProgram::Operand::Step, step_of[v]};
      int k = 0;
      while (k < static_cast<int>(node.inputs.size()) && node.inputs[k] != v) ++k;
      if (k == static_cast<int>(node.inputs.size())) {
        node.inputs.push_back(v);
        const Value& val = g.values[v];
        TensorPtr uniform = val.shape.numel() == 1 ? nullptr : uniform_value(val);
        p.scalar.push_back(val.shape.numel() == 1 || uniform != nullptr);
        p.row.push_back(!p.scalar.back() && val.shape != group.shape);
        p.uniform.push_back(std::move(uniform));
      }
      using Kind = FusedProgram::Operand::Kind;
      const Kind kind = p.scalar[k] ? Kind::Scalar : p.row[k] ? Kind::Row : Kind::External;
      return FusedProgram::Operand{kind, k};
    };
    std::vector<size_t> reductions;
    for (size_t m = i; m < last; ++m) {
      const Node& n = g.nodes[m];
      if (n.kind == NodeKind::VariableRead) {
        kept.push_back(n);
        continue;
      }
      if (is_sum[n.output]) {
        reductions.push_back(m);
        continue;
      }
      FusedProgram::Step s;
      s.binary = n.inputs.size() == 2;
      s.kernel = n.op->kernel;
      s.a = operand(n.inputs[0]);
      if (s.binary) s.b = operand(n.inputs[1]);
      // Materialised when a node outside the run reads it, or the call returns it.
      bool used_outside = returned[n.output] != 0;
      for (size_t r : readers[n.output]) used_outside |= r < i || r >= last;
      if (used_outside) {
        s.output = static_cast<int>(p.materialised.size());
        p.materialised.push_back(static_cast<int>(p.steps.size()));
        node.fused_outputs.push_back(n.output);
      }
      step_of[n.output] = static_cast<int32_t>(p.steps.size());
      p.steps.push_back(s);
    }
    p.sink.assign(p.steps.size(), -1);
    // A step a reduction reads and nothing stores gets a sink of its own.
    auto read_by_reduction = [&](const FusedProgram::Operand& o) {
      if (o.kind == FusedProgram::Operand::Step && p.steps[o.index].output < 0 && p.sink[o.index] < 0)
        p.sink[o.index] = p.sink_count++;
    };
    for (size_t m : reductions) {
      const Node& r = g.nodes[m];
      FusedProgram::Reduction red;
      red.shape = g.values[r.output].shape;
      red.a = operand(r.inputs[0]);
      if (ops::is_sum_or_mean(*r.op, &red.mean)) {
        red.axes_mask = ops::axes_to_mask(r.args.has_ints ? &r.args.ints : nullptr, group.shape, r.op->name);
        if (FusedProgram::Step* square = square_read_only_by(p, red, readers[r.inputs[0]].size())) {
          square->elided = true;
          red.a = red.b = square->a;
          read_by_reduction(red.b);
        }
      } else {  // a dot product (is_dot): the sum of all the products
        red.axes_mask = (1u << group.shape.rank) - 1;
        red.b = operand(r.inputs[1]);
        read_by_reduction(red.b);
      }
      read_by_reduction(red.a);
      p.reductions.push_back(std::move(red));
      node.fused_outputs.push_back(r.output);
    }
    pair_scalar_steps(p);
    node.fused = static_cast<int32_t>(programs.size());
    programs.push_back(std::move(p));
    kept.push_back(std::move(node));
    fused += members + sums;
    i = last;
  }
  g.nodes = std::move(kept);
  return fused;
}

void FusedProgram::run(const Node& node, std::vector<TensorPtr>& values) const {
  if (dtype == DType::F32) run_typed<float>(node, values);
  else run_typed<double>(node, values);
}

template <typename T>
void FusedProgram::run_typed(const Node& node, std::vector<TensorPtr>& values) const {
  const auto& k = kernels::active().get<T>();
  const auto& pairs = kernels::active_scalar_pairs().get<T>();
  const int64_t n = shape.numel();
  const size_t n_ext = node.inputs.size();
  std::vector<const T*> ext(n_ext);
  for (size_t e = 0; e < n_ext; ++e)
    ext[e] = uniform[e] ? uniform[e]->data<T>() : values[node.inputs[e]]->data<T>();
  std::vector<TensorPtr> outs;
  std::vector<T*> out_data;
  for (size_t o = 0; o < materialised.size(); ++o) {
    outs.push_back(TensorImpl::empty(dtype, shape, "tg.function"));
    out_data.push_back(outs.back()->template data<T>());
  }
  const int n_steps = static_cast<int>(steps.size());
  // Each row operand repeated over a tile and one more row, so that a tile starting at element t0
  // reads its rows from t0 % last on (kept per calling thread, read by the workers of this run).
  const int64_t last = shape.rank > 0 ? shape.dims[shape.rank - 1] : 1;
  const int64_t span = kTileElements + last;
  thread_local std::vector<T> repeated_rows;
  std::vector<const T*> repeated(n_ext, nullptr);
  size_t rows_used = 0;
  for (size_t e = 0; e < n_ext; ++e) rows_used += row[e] ? static_cast<size_t>(span) : 0;
  if (rows_used > repeated_rows.size()) repeated_rows.resize(rows_used);
  T* fill = repeated_rows.data();
  for (size_t e = 0; e < n_ext; ++e) {
    if (!row[e]) continue;
    for (int64_t i = 0; i < span; i += last) std::copy(ext[e], ext[e] + std::min(last, span - i), fill + i);
    repeated[e] = fill;
    fill += span;
  }

  // Computes elements [t0, t0 + m), m <= kTileElements, into result[]: a materialised step
  // writes to its output; a step that a reduction reads and that is not materialised to
  // sinks[sink[s]] + (t0 - sink_lo) when sinks are given; any other step to this thread's tile.
  auto compute_tile = [&](int64_t t0, int64_t m, T* const* sinks, int64_t sink_lo, const T** result) {
    T* tiles = scratch<T>(0, n_steps * kTileElements);
    auto at = [&](const Operand& op, int64_t* stride) -> const T* {
      *stride = 1;
      if (op.kind == Operand::Step) return result[op.index];
      if (op.kind == Operand::Scalar) {
        *stride = 0;
        return ext[op.index];
      }
      if (op.kind == Operand::Row) return repeated[op.index] + t0 % last;
      return ext[op.index] + t0;
    };
    for (int s = 0; s < n_steps; ++s) {
      const Step& st = steps[s];
      if (st.elided) continue;
      auto dst_of = [&](int step) {
        const Step& d = steps[step];
        return d.output >= 0                     ? out_data[d.output] + t0
               : sinks && sink[step] >= 0 ? sinks[sink[step]] + (t0 - sink_lo)
                                                 : tiles + step * kTileElements;
      };
      int64_t sa, sb;
      if (st.pairs_with_next) {
        const Step& next = steps[s + 1];
        const bool s1_first = st.a.kind == Operand::Scalar, s2_first = next.a.kind == Operand::Scalar;
        const T* in = at(s1_first ? st.b : st.a, &sa);
        const T s1 = *at(s1_first ? st.a : st.b, &sb), s2 = *at(s2_first ? next.a : next.b, &sb);
        T* dst = dst_of(s + 1);
        pairs.run(static_cast<kernels::BinaryOp>(st.kernel), s1_first,
                  static_cast<kernels::BinaryOp>(next.kernel), s2_first, in, s1, s2, dst, m);
        result[s + 1] = dst;
        ++s;
        continue;
      }
      T* dst = dst_of(s);
      const T* a = at(st.a, &sa);
      if (!st.binary) {
        // A one-element operand of a unary op: the same value in every element.
        if (sa == 0) {
          T one;
          k.unary(static_cast<kernels::UnaryOp>(st.kernel), a, &one, 1);
          std::fill(dst, dst + m, one);
        } else {
          k.unary(static_cast<kernels::UnaryOp>(st.kernel), a, dst, m);
        }
      } else {
        const T* b = at(st.b, &sb);
        kernels::BinaryPlan plan;
        plan.rank = 1;
        plan.shape[0] = m;
        plan.stride_a[0] = sa;
        plan.stride_b[0] = sb;
        k.binary(static_cast<kernels::BinaryOp>(st.kernel), a, b, dst, plan);
      }
      result[s] = dst;
    }
  };
  // Computes elements [lo, hi) tile by tile (sinks as compute_tile's, from lo).
  auto compute = [&](int64_t lo, int64_t hi, T* const* sinks) {
    const T* result[kMaxSteps];
    for (int64_t t0 = lo; t0 < hi; t0 += kTileElements)
      compute_tile(t0, std::min(kTileElements, hi - t0), sinks, lo, result);
  };
  // Where a reduction's operand has its elements of the tile compute_tile made at t0.
  auto in_tile = [&](const Operand& op, int64_t t0, const T* const* result) -> const T* {
    if (op.kind == Operand::External) return ext[op.index] + t0;
    return result[op.index];
  };
  // The full sums and dot products of elements [lo, hi), in the order of the table's sum and
  // dot (kernels.h, kStreams): a tile of each quarter in turn, the tiles of what the reductions
  // read kept in this thread's sinks, then their terms added to the quarters' lanes side by side
  // while the tiles are in cache; then the rest. Writes reduction r's total to totals[r].
  auto streamed_totals = [&](int64_t lo, int64_t hi, double* totals) {
    constexpr int kQuarters = kernels::kStreams;
    constexpr int64_t kQuarterTile = kTileElements / 2;
    const int64_t len = kernels::streamed_quarter(hi - lo);
    double quarters[kMaxReductions][kQuarters * kernels::kStreamLanes] = {};
    T* sinks[2 * kMaxReductions];
    for (int q = 0; q < sink_count; ++q) sinks[q] = scratch<T>(1 + q, kQuarters * kQuarterTile);
    const T* result[kMaxSteps];
    const T* a[kMaxReductions][kQuarters];
    const T* b[kMaxReductions][kQuarters];
    for (int64_t p = 0; p < len; p += kQuarterTile) {
      const int64_t m = std::min(kQuarterTile, len - p);
      for (int q = 0; q < kQuarters; ++q) {
        const int64_t t0 = lo + q * len + p;
        compute_tile(t0, m, sinks, t0 - q * kQuarterTile, result);
        for (size_t r = 0; r < reductions.size(); ++r) {
          a[r][q] = in_tile(reductions[r].a, t0, result);
          if (reductions[r].b.index >= 0) b[r][q] = in_tile(reductions[r].b, t0, result);
        }
      }
      for (size_t r = 0; r < reductions.size(); ++r) {
        if (reductions[r].b.index >= 0) k.stream_dot(a[r], b[r], m, quarters[r]);
        else k.stream_sum(a[r], m, quarters[r]);
      }
    }
    const int64_t rest = lo + kQuarters * len;
    compute_tile(rest, hi - rest, nullptr, 0, result);
    for (size_t r = 0; r < reductions.size(); ++r) {
      const Reduction& red = reductions[r];
      const T* y = red.b.index >= 0 ? in_tile(red.b, rest, result) : nullptr;
      totals[r] = k.stream_rest(quarters[r], in_tile(red.a, rest, result), y, hi - rest);
    }
  };
  // Where a reduction's operand has its elements from `lo` on; a sink holds those of the range
  // being summed from its start.
  auto source = [&](const Operand& op, int64_t lo, T* const* sinks) -> const T* {
    if (op.kind == Operand::External) return ext[op.index] + lo;
    const int out = steps[op.index].output;
    return out >= 0 ? out_data[out] + lo : sinks[sink[op.index]];
  };
  // The kernel call reduction r's op makes on the range [lo, hi).
  auto range_total = [&](const Reduction& r, int64_t lo, int64_t hi, T* const* sinks) {
    if (r.b.index >= 0) return k.dot(source(r.a, lo, sinks), source(r.b, lo, sinks), hi - lo);
    return k.sum(source(r.a, lo, sinks), hi - lo);
  };
  static_assert(ops::kSumChunkElements == kernels::kDotChunkElements,
                "a fused loop takes its sums and dot products over the same chunks");

  const size_t n_red = reductions.size();
  bool all_full = true;  // every reduction sums all elements into one
  for (const Reduction& r : reductions) all_full = all_full && r.shape.numel() == 1;
  const int64_t chunk = ops::kSumChunkElements;
  const bool chunked = n >= threads::parallel_elements();
  if (n_red == 0) {
    parallel_ranges(n, [&](int64_t lo, int64_t hi) { compute(lo, hi, nullptr); }, kTileElements);
  } else if (all_full) {
    // As ops/reductions.cpp's sums and the GEMM's dot path: above the threshold fixed chunks,
    // each summed as one kernel call sums, the chunks' sums added in order, the chunks computed
    // on several threads; below it the whole run as one chunk.
    const int64_t span = chunked ? chunk : n;
    const int64_t chunks = (n + span - 1) / span;
    std::vector<double> partial(static_cast<size_t>(chunks) * n_red);
    parallel_ranges(chunks, [&](int64_t c_lo, int64_t c_hi) {
      for (int64_t c = c_lo; c < c_hi; ++c) {
        const int64_t lo = c * span, hi = std::min(n, lo + span);
        double* totals = &partial[static_cast<size_t>(c) * n_red];
        if (kernels::streamed_quarter(hi - lo) > 0 || hi - lo <= kTileElements) {
          streamed_totals(lo, hi, totals);
          continue;
        }
        // A short run whose rest spans several tiles: its values in sinks, then the calls.
        T* sinks[2 * kMaxReductions];
        for (int q = 0; q < sink_count; ++q) sinks[q] = scratch<T>(1 + q, hi - lo);
        compute(lo, hi, sinks);
        for (size_t r = 0; r < n_red; ++r) totals[r] = range_total(reductions[r], lo, hi, sinks);
      }
    }, 1, 2);
    for (size_t r = 0; r < n_red; ++r) {
      double total = partial[r];
      if (chunked) {
        total = 0;
        for (int64_t c = 0; c < chunks; ++c) total += partial[static_cast<size_t>(c) * n_red + r];
      }
      TensorPtr t = TensorImpl::empty(dtype, reductions[r].shape, "tg.function");
      *t->template data<T>() = static_cast<T>(total);
      outs.push_back(std::move(t));
    }
  } else {
    // A sum over some axes among the reductions (taken below the threshold only, so nothing is
    // chunked): the whole run at once, then each reduction's one kernel call over all of it, as
    // eager's.
    T* sinks[2 * kMaxReductions];
    for (int q = 0; q < sink_count; ++q) sinks[q] = scratch<T>(1 + q, n);
    compute(0, n, sinks);
    for (size_t r = 0; r < n_red; ++r) {
      const Reduction& red = reductions[r];
      TensorPtr t = TensorImpl::empty(dtype, red.shape, "tg.function");
      T* out = t->template data<T>();
      if (red.b.index >= 0) {
        *out = static_cast<T>(range_total(red, 0, n, sinks));
      } else {
        k.reduce_sum(source(red.a, 0, sinks), out, ops::reduce_plan(shape, red.axes_mask));
      }
      outs.push_back(std::move(t));
    }
  }
  // sum / count for a mean, one rounding per element, as eager's mean.
  for (size_t r = 0; r < n_red; ++r) {
    const int64_t outputs = reductions[r].shape.numel(), count = outputs > 0 ? n / outputs : 0;
    if (!reductions[r].mean || count == 1) continue;
    T* o = outs[materialised.size() + r]->template data<T>();
    for (int64_t i = 0; i < outputs; ++i) o[i] = o[i] / static_cast<T>(count);
  }
  for (size_t o = 0; o < outs.size(); ++o) values[node.fused_outputs[o]] = std::move(outs[o]);
}

}  // namespace tapegrad::function

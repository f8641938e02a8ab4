// Jacobians from one recorded tape: every row's cotangent is pushed through the backward pass at
// once, stacked along a leading batch axis that the backward rules carry along.
#include <string>

#include "core/errors.h"
#include "ops/ops.h"
#include "tape/tape.h"
#include "tape/variable.h"

namespace tapegrad {
namespace {

std::vector<int64_t> dims_of(const Shape& s) { return std::vector<int64_t>(s.dims, s.dims + s.rank); }

Shape shape_of(const std::vector<int64_t>& dims) {
  Shape s;
  for (int64_t d : dims) s.push_back(d);
  return s;
}

// The rank of a result, and the batched gradients' one more axis, must fit the engine's limit.
void check_rank(size_t rank, const char* op, const Shape& target, const Shape& source) {
  if (rank > static_cast<size_t>(kMaxRank) || target.rank + 1 > kMaxRank)
    throw ValueError(std::string(op) + ": a target of shape " + target.str() + " and a source of " +
                     "shape " + source.str() + " give a result of rank " + std::to_string(rank) +
                     " (with one more axis while computing); the maximum is " +
                     std::to_string(kMaxRank));
}

const TensorPtr& value_of(const Source& s) { return s.variable ? s.variable->peek() : s.tensor; }

// n x n ones on the diagonal, reshaped to [n] + shape (n = shape's element count).
TensorPtr one_hot_stack(DType dtype, const Shape& shape) {
  const int64_t n = shape.numel();
  TensorPtr eye = TensorImpl::zeros(dtype, Shape{n, n}, "jacobian");
  visit_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    T* p = eye->data<T>();
    for (int64_t i = 0; i < n; ++i) p[i * n + i] = T(1);
  });
  std::vector<int64_t> stacked{n};
  for (int d = 0; d < shape.rank; ++d) stacked.push_back(shape.dims[d]);
  return TensorImpl::view(eye, shape_of(stacked));
}

}  // namespace

std::vector<TensorPtr> Tape::jacobian(const TensorPtr& target, const std::vector<Source>& sources,
                                      bool unconnected_zero) {
  const char* op = "GradientTape.jacobian";
  for (const Source& s : sources)
    check_rank(target->rank() + value_of(s)->rank(), op, target->shape(), value_of(s)->shape());
  begin_use(op);
  std::vector<TensorPtr> rows;
  {
    ops::BatchedGradients batched;
    rows = backward({target}, sources, {one_hot_stack(target->dtype(), target->shape())});
  }
  std::vector<TensorPtr> result(sources.size());
  for (size_t i = 0; i < sources.size(); ++i) {
    const TensorPtr& source = value_of(sources[i]);
    std::vector<int64_t> shape = dims_of(target->shape());
    for (int d = 0; d < source->rank(); ++d) shape.push_back(source->shape().dims[d]);
    if (rows[i]) {
      result[i] = ops::reshape(rows[i], shape);
    } else if (unconnected_zero) {
      result[i] = TensorImpl::zeros(target->dtype(), shape_of(shape), "jacobian");
    }
  }
  end_use();
  return result;
}

TensorPtr Tape::batch_jacobian(const TensorPtr& target, const Source& source,
                               bool unconnected_zero) {
  const char* op = "GradientTape.batch_jacobian";
  const TensorPtr& x = value_of(source);
  if (target->rank() < 1 || x->rank() < 1 || target->shape().dims[0] != x->shape().dims[0])
    throw ValueError(std::string(op) + ": the first dimension of the target (shape " +
                     target->shape().str() + ") and of the source (shape " + x->shape().str() +
                     ") must be the same batch size");
  check_rank(target->rank() + x->rank() - 1, op, target->shape(), x->shape());
  begin_use(op);
  const int64_t batch = target->shape().dims[0];
  // One cotangent per element of a target row, the same for every row: [m, batch] + row shape.
  Shape row;
  for (int d = 1; d < target->rank(); ++d) row.push_back(target->shape().dims[d]);
  std::vector<int64_t> one_per_row{row.numel(), 1}, every_row{row.numel(), batch};
  for (int d = 0; d < row.rank; ++d) {
    one_per_row.push_back(row.dims[d]);
    every_row.push_back(row.dims[d]);
  }
  const TensorPtr seed = ops::broadcast_to(
      ops::reshape(one_hot_stack(target->dtype(), row), one_per_row),
      shape_of(every_row));
  TensorPtr g;
  {
    ops::BatchedGradients batched;
    g = backward({target}, {source}, {seed})[0];
  }
  // [m, batch] + source row  ->  [batch, m] + source row  ->  [batch] + target row + source row
  std::vector<int64_t> shape = dims_of(target->shape());
  for (int d = 1; d < x->rank(); ++d) shape.push_back(x->shape().dims[d]);
  TensorPtr result;
  if (g) {
    std::vector<int64_t> perm{1, 0};
    for (int d = 2; d < g->rank(); ++d) perm.push_back(d);
    result = ops::reshape(ops::transpose(g, &perm), shape);
  } else if (unconnected_zero) {
    result = TensorImpl::zeros(target->dtype(), shape_of(shape), "batch_jacobian");
  }
  end_use();
  return result;
}

}  // namespace tapegrad

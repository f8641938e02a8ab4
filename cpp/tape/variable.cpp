#include "tape/variable.h"

#include <atomic>
#include <cstring>

#include "core/errors.h"
#include "core/parallel.h"
#include "function/tracer.h"
#include "kernels/integer.h"
#include "kernels/kernels.h"
#include "tape/tape.h"

namespace tapegrad {
namespace {
std::atomic<uint64_t> g_next_id{1};

TensorPtr copy_of(const TensorPtr& t, const char* op) {
  TensorPtr c = TensorImpl::empty(t->dtype(), t->shape(), op);
  std::memcpy(c->raw(), t->raw(), t->nbytes());
  return c;
}
}  // namespace

Variable::Variable(TensorPtr initial, std::string name, bool trainable)
    : value_(std::move(initial)), name_(std::move(name)), trainable_(trainable),
      id_(g_next_id.fetch_add(1)) {
  if (function::Tracer* t = function::t_tracer) {
    // A variable made during a trace starts from its own copy: the tensor that initialised it
    // stays a value of the trace, and the variable's reads are values of their own.
    value_ = copy_of(value_, "Variable");
    t->variable_created(name_);
  }
}

TensorPtr Variable::read() {
  if (tape_stack::any_active()) tape_stack::variable_read(shared_from_this());
  if (function::Tracer* t = function::recorder()) t->variable_read(shared_from_this(), value_);
  return value_;
}

bool Variable::exclusive() const {
  // This variable holds the only reference, and the tensor owns its buffer: nobody can observe
  // an in-place write. Anything else (a Python Tensor, a tape, a reshape view, which keeps its
  // base alive) forces a copy.
  return value_.use_count() == 1 && value_->buffer_owner() == value_.get();
}

void Variable::check_compatible(const TensorPtr& v, const char* op) const {
  if (v->dtype() != value_->dtype())
    throw TypeError(std::string(op) + ": variable '" + name_ + "' has dtype " +
                    dtype_name(value_->dtype()) + " but the value has dtype " +
                    dtype_name(v->dtype()));
  if (v->shape() != value_->shape())
    throw ValueError(std::string(op) + ": variable '" + name_ + "' has shape " +
                     value_->shape().str() + " but the value has shape " + v->shape().str());
}

void Variable::assign(const TensorPtr& v, const char* op) {
  check_compatible(v, op);
  if (function::Tracer* t = function::recorder()) {
    t->run_effect(op, &v, 1, [self = shared_from_this(), op](const TensorPtr* in) {
      self->assign(in[0], op);
    });
    return;
  }
  if (v.get() == value_.get()) return;
  if (exclusive()) {
    std::memcpy(value_->raw(), v->raw(), v->nbytes());
  } else {
    value_ = copy_of(v, op);  // never alias the caller's tensor: its storage is not ours to write
  }
}

const TensorPtr& Variable::value_for_update(const char* op) {
  if (!exclusive()) value_ = copy_of(value_, op);
  return value_;
}

void Variable::axpy(double alpha, const TensorPtr& v, const char* op) {
  check_compatible(v, op);
  if (function::Tracer* t = function::recorder()) {
    t->run_effect(op, &v, 1, [self = shared_from_this(), alpha, op](const TensorPtr* in) {
      self->axpy(alpha, in[0], op);
    });
    return;
  }
  const DType dt = value_->dtype();
  if (dt == DType::Bool || (is_integer(dt) && alpha != 1.0 && alpha != -1.0))
    throw TypeError(std::string(op) + ": variable '" + name_ + "' has dtype " + dtype_name(dt) +
                    (dt == DType::Bool ? "; a bool variable can only be assigned"
                                       : "; an integer variable takes only whole steps (assign_add, assign_sub)"));
  if (!exclusive() || v->buffer_owner() == value_->buffer_owner()) value_ = copy_of(value_, op);
  if (is_integer(dt)) {
    kernels::BinaryPlan plan;  // one contiguous run
    plan.rank = 1;
    plan.shape[0] = value_->numel();
    plan.stride_a[0] = plan.stride_b[0] = 1;
    const auto kop = alpha > 0 ? kernels::BinaryOp::Add : kernels::BinaryOp::Sub;
    if (dt == DType::I32)
      kernels::integer_kernels<int32_t>().binary(kop, value_->data<int32_t>(), v->data<int32_t>(),
                                                 value_->data<int32_t>(), plan);
    else
      kernels::integer_kernels<int64_t>().binary(kop, value_->data<int64_t>(), v->data<int64_t>(),
                                                 value_->data<int64_t>(), plan);
    return;
  }
  const auto& k = kernels::active();
  visit_dtype(value_->dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* x = v->data<T>();
    T* y = value_->data<T>();
    parallel_ranges(value_->numel(), [&](int64_t lo, int64_t hi) {
      k.get<T>().axpy(hi - lo, static_cast<T>(alpha), x + lo, y + lo);
    });
  });
}

}  // namespace tapegrad

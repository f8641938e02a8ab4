#include "kernels/integer.h"

#include "kernels/strided_rows.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

namespace tapegrad::kernels {
namespace {

// Wrapping arithmetic: computed on the unsigned type, whose overflow is defined.
template <typename T>
T wrap_add(T x, T y) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(x) + static_cast<U>(y));
}
template <typename T>
T wrap_sub(T x, T y) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(x) - static_cast<U>(y));
}
template <typename T>
T wrap_mul(T x, T y) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(x) * static_cast<U>(y));
}

// Python's floor division and the remainder with the divisor's sign. The op refuses a zero
// divisor before calling; y == -1 is negation (wrapping), so the lowest value over -1 is defined.
template <typename T>
T floor_div(T x, T y) {
  if (y == T(-1)) return wrap_sub<T>(0, x);
  const T q = x / y;
  return (x % y != 0 && ((x < 0) != (y < 0))) ? q - 1 : q;
}
template <typename T>
T floor_mod(T x, T y) {
  if (y == T(-1)) return 0;
  const T r = x % y;
  return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
}
// x ** y for y >= 0 (the op refuses negative exponents) by repeated squaring, wrapping.
template <typename T>
T int_pow(T x, T y) {
  T result = 1;
  while (y > 0) {
    if (y & 1) result = wrap_mul<T>(result, x);
    y >>= 1;
    if (y) x = wrap_mul<T>(x, x);
  }
  return result;
}

template <typename T>
void binary(BinaryOp op, const T* a, const T* b, T* out, const BinaryPlan& p) {
  switch (op) {
    case BinaryOp::Add: return binary_rows(a, b, out, p, wrap_add<T>);
    case BinaryOp::Sub: return binary_rows(a, b, out, p, wrap_sub<T>);
    case BinaryOp::Mul: return binary_rows(a, b, out, p, wrap_mul<T>);
    case BinaryOp::Max: return binary_rows(a, b, out, p, [](T x, T y) { return x > y ? x : y; });
    case BinaryOp::Min: return binary_rows(a, b, out, p, [](T x, T y) { return x < y ? x : y; });
    case BinaryOp::FloorDiv: return binary_rows(a, b, out, p, floor_div<T>);
    case BinaryOp::Mod: return binary_rows(a, b, out, p, floor_mod<T>);
    case BinaryOp::Pow: return binary_rows(a, b, out, p, int_pow<T>);
    default: return;  // the ops never ask for another
  }
}

template <typename T>
void unary(UnaryOp op, const T* x, T* out, int64_t n) {
  switch (op) {
    case UnaryOp::Neg:
      for (int64_t i = 0; i < n; ++i) out[i] = wrap_sub<T>(0, x[i]);
      return;
    case UnaryOp::Square:
      for (int64_t i = 0; i < n; ++i) out[i] = wrap_mul<T>(x[i], x[i]);
      return;
    default: return;  // the ops never ask for another
  }
}

// Walks the contiguous input in order, adding each element into its output (wrapping).
template <typename T>
void reduce_sum(const T* in, T* out, const ReducePlan& p) {
  fold_in_order(in, out, p, T(0), [](T acc, T x) { return wrap_add(acc, x); });
}

template <typename T>
void fill(int64_t n, T value, T* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = value;
}

template <typename W>
void gather(const W* in, W* out, const GatherPlan& p) {
  const int last = p.rank > 0 ? p.rank - 1 : 0;
  const int64_t s = p.rank ? p.in_stride[last] : 0;
  for_rows(p, p.in_stride, nullptr, [&](int64_t off, int64_t, int64_t oo, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[oo + i] = in[off + i * s];
  });
}

template <typename To, typename From>
To convert_one(From x) {
  if constexpr (std::is_same_v<To, bool>) {
    return x != From(0);
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    if (std::isnan(x)) return To(0);
    // The limits as From: exact for the lower one (a power of two); the upper one may round up to
    // 2^k, which is itself out of range, hence >=.
    constexpr From lo = static_cast<From>(std::numeric_limits<To>::min());
    constexpr From hi = static_cast<From>(std::numeric_limits<To>::max());
    if (x <= lo) return std::numeric_limits<To>::min();
    if (x >= hi) return std::numeric_limits<To>::max();
    return static_cast<To>(x);  // truncates toward zero
  } else {
    return static_cast<To>(x);
  }
}

template <typename From, typename To>
void convert_run(const void* in, void* out, int64_t n) {
  const From* src = static_cast<const From*>(in);
  To* dst = static_cast<To*>(out);
  for (int64_t i = 0; i < n; ++i) dst[i] = convert_one<To>(src[i]);
}

template <typename T>
const IntegerKernels<T> kTable = {binary<T>, unary<T>, reduce_sum<T>, fill<T>};

}  // namespace

template <>
const IntegerKernels<int32_t>& integer_kernels<int32_t>() { return kTable<int32_t>; }
template <>
const IntegerKernels<int64_t>& integer_kernels<int64_t>() { return kTable<int64_t>; }

void gather_bytes(size_t size, const void* in, void* out, const GatherPlan& plan) {
  switch (size) {
    case 1: return gather(static_cast<const uint8_t*>(in), static_cast<uint8_t*>(out), plan);
    case 4: return gather(static_cast<const uint32_t*>(in), static_cast<uint32_t*>(out), plan);
    default: return gather(static_cast<const uint64_t*>(in), static_cast<uint64_t*>(out), plan);
  }
}

void convert(DType from, const void* in, DType to, void* out, int64_t n) {
  visit_any_dtype(from, [&](auto f) {
    visit_any_dtype(to, [&](auto t) { convert_run<decltype(f), decltype(t)>(in, out, n); });
  });
}

}  // namespace tapegrad::kernels

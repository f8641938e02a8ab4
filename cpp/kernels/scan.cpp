#include "kernels/scan.h"

#include <type_traits>

#include "kernels/strided_rows.h"

namespace tapegrad::kernels {
namespace {

// Wrapping for integers (computed on the unsigned type), plain IEEE arithmetic for floats.
template <typename T>
T combine(ScanOp op, T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(op == ScanOp::Sum ? static_cast<U>(a) + static_cast<U>(b)
                                            : static_cast<U>(a) * static_cast<U>(b));
  } else {
    return op == ScanOp::Sum ? a + b : a * b;
  }
}

// One [n, inner] block: rows are visited in scan order and each row of out is the previous row
// combined with one row of x, so the inner loop runs over contiguous columns.
template <typename T>
void scan_block(ScanOp op, bool exclusive, bool reverse, const T* x, T* out, int64_t n,
                int64_t inner) {
  const T identity = op == ScanOp::Sum ? T(0) : T(1);
  for (int64_t step = 0; step < n; ++step) {
    const int64_t k = reverse ? n - 1 - step : step;
    const int64_t prev = reverse ? k + 1 : k - 1;  // the row scanned just before k
    T* dst = out + k * inner;
    if (step == 0) {
      for (int64_t i = 0; i < inner; ++i) dst[i] = exclusive ? identity : x[k * inner + i];
    } else {
      const T* acc = out + prev * inner;
      const T* src = x + (exclusive ? prev : k) * inner;
      for (int64_t i = 0; i < inner; ++i) dst[i] = combine(op, acc[i], src[i]);
    }
  }
}

template <typename T>
void scan_typed(ScanOp op, bool exclusive, bool reverse, const T* x, T* out, int64_t outer,
                int64_t n, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o)
    scan_block(op, exclusive, reverse, x + o * n * inner, out + o * n * inner, n, inner);
}

// Walks the contiguous input in order, multiplying each element into its output.
template <typename T>
void reduce_prod_typed(const T* in, T* out, const ReducePlan& p) {
  fold_in_order(in, out, p, T(1), [](T acc, T x) { return combine(ScanOp::Prod, acc, x); });
}

}  // namespace

void scan(ScanOp op, bool exclusive, bool reverse, DType dtype, const void* x, void* out,
          int64_t outer, int64_t n, int64_t inner) {
  visit_any_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (!std::is_same_v<T, bool>)
      scan_typed(op, exclusive, reverse, static_cast<const T*>(x), static_cast<T*>(out), outer, n,
                 inner);
  });
}

void reduce_prod(DType dtype, const void* in, void* out, const ReducePlan& plan) {
  visit_any_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (!std::is_same_v<T, bool>)
      reduce_prod_typed(static_cast<const T*>(in), static_cast<T*>(out), plan);
  });
}

}  // namespace tapegrad::kernels

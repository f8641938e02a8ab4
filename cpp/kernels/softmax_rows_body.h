// The softmax row loops (softmax_rows.h), included once per instruction set by
// softmax_rows_<isa>.cpp after it defines TG_ISA (the namespace of its copy) and includes its
// vector type. Everything lives in that namespace or in anonymous namespaces, internal to the
// unit, so no unit's copy of a function serves another (ODR).
#ifndef TG_ISA
#error "define TG_ISA, the namespace of this unit's loops, before including this"
#endif
#include <cmath>
#include <cstdint>

#include "kernels/simd/vec_math.h"
#include "kernels/simd/vec_scalar.h"
#include "kernels/softmax_rows.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

constexpr int kLanes = kSoftmaxLanes;

// The lanes combined pairwise, in a fixed tree.
template <typename T>
T tree_of(T (&acc)[kLanes]) {
  for (int width = kLanes / 2; width >= 1; width /= 2)
    for (int l = 0; l < width; ++l) acc[l] += acc[l + width];
  return acc[0];
}

// A maximum is exact, so the order of the comparisons changes nothing but NaN lanes, which are
// skipped unless x[0] is NaN (then every comparison fails and the peak stays NaN, so 0). Four
// running maxima keep the comparisons off one dependency chain.
template <class O>
typename O::T peak(const typename O::T* x, int64_t n) {
  using T = typename O::T;
  using V = typename O::V;
  constexpr int kChains = 4;
  V m[kChains];
  for (int k = 0; k < kChains; ++k) m[k] = O::set1(x[0]);
  int64_t j = 0;
  for (; j + kChains * O::W <= n; j += kChains * O::W) {
    for (int k = 0; k < kChains; ++k) {
      const V v = O::load(x + j + k * O::W);
      m[k] = O::select(O::gt(v, m[k]), v, m[k]);
    }
  }
  for (; j + O::W <= n; j += O::W) {
    const V v = O::load(x + j);
    m[0] = O::select(O::gt(v, m[0]), v, m[0]);
  }
  for (int k = 1; k < kChains; ++k) m[0] = O::select(O::gt(m[k], m[0]), m[k], m[0]);
  T lane[O::W];
  O::store(lane, m[0]);
  for (int width = O::W / 2; width >= 1; width /= 2)
    for (int l = 0; l < width; ++l) lane[l] = lane[l + width] > lane[l] ? lane[l + width] : lane[l];
  T best = lane[0];
  for (; j < n; ++j) best = x[j] > best ? x[j] : best;
  // + 0 turns -0 into +0: which zero a row of zeros keeps must not depend on the lane order.
  return std::isfinite(best) ? best + T(0) : T(0);
}

template <class O>
typename O::T shifted_exp_sum(const typename O::T* x, int64_t n, typename O::T shift,
                              typename O::T* e) {
  using T = typename O::T;
  using V = typename O::V;
  constexpr int kRegs = kLanes / O::W;
  static_assert(kRegs * O::W == kLanes, "a vector's lanes divide the partial sums");
  V acc[kRegs];
  for (int k = 0; k < kRegs; ++k) acc[k] = O::set1(T(0));
  const V s = O::set1(shift);
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int k = 0; k < kRegs; ++k) {
      const V a = O::sub(O::load(x + j + k * O::W), s);
      const V v = vm::exp_normal_range<O>(a) ? vm::exp_normal<O>(a) : vm::exp<O>(a);
      if (e) O::store(e + j + k * O::W, v);
      acc[k] = O::add(acc[k], v);
    }
  }
  T lane[kLanes];
  for (int k = 0; k < kRegs; ++k) O::store(lane + k * O::W, acc[k]);
  if (j < n) {
    // The last n - j < kLanes elements in vectors too (a short row is all tail): padded with
    // `shift`, whose exponential is never used; each lane of vm::exp has the bits of the scalar
    // one, so each element and each lane's sum are a scalar loop's.
    const int tail = static_cast<int>(n - j);
    alignas(64) T v[kLanes];
    for (int l = 0; l < kLanes; ++l) v[l] = l < tail ? x[j + l] : shift;
    for (int k = 0; k < kRegs && k * O::W < tail; ++k)
      O::store(v + k * O::W, vm::exp<O>(O::sub(O::load(v + k * O::W), s)));
    for (int l = 0; l < tail; ++l) {
      if (e) e[j + l] = v[l];
      lane[l] += v[l];
    }
  }
  return tree_of(lane);
}

// Rows of at most kLanes elements, one row per lane: a short row's own loops are mostly tail
// work around one exponential vector, per row. Column c holds element c of every row; the
// maximum, the exponentials and the pairwise tree of shifted_exp_sum then run across columns,
// each lane doing what those loops do to its row (its lanes past n hold +0, as theirs).
template <class O>
void narrow_rows(const typename O::T* x, int64_t rows, int64_t n, typename O::T* peaks,
                 typename O::T* totals, typename O::T* e) {
  using T = typename O::T;
  using V = typename O::V;
  constexpr int W = O::W;
  alignas(64) T column[kLanes][W] = {};
  for (int r = 0; r < W; ++r) {
    const T* row = x + (r < rows ? r : 0) * n;  // lanes past `rows` repeat row 0, unused
    for (int64_t c = 0; c < n; ++c) column[c][r] = row[c];
  }
  V best = O::load(column[0]);
  for (int64_t c = 1; c < n; ++c) {
    const V v = O::load(column[c]);
    best = O::select(O::gt(v, best), v, best);
  }
  alignas(64) T lane[W];
  O::store(lane, best);
  for (int r = 0; r < W; ++r) lane[r] = std::isfinite(lane[r]) ? lane[r] + T(0) : T(0);
  const V shift = O::load(lane);
  V sum[kLanes];
  for (int c = 0; c < kLanes; ++c) sum[c] = O::set1(T(0));
  for (int64_t c = 0; c < n; ++c) {
    sum[c] = vm::exp<O>(O::sub(O::load(column[c]), shift));
    O::store(column[c], sum[c]);
  }
  for (int width = kLanes / 2; width >= 1; width /= 2)
    for (int c = 0; c < width; ++c) sum[c] = O::add(sum[c], sum[c + width]);
  alignas(64) T total[W];
  O::store(total, sum[0]);
  for (int64_t r = 0; r < rows; ++r) {
    peaks[r] = lane[r];
    totals[r] = total[r];
    if (e)
      for (int64_t c = 0; c < n; ++c) e[r * n + c] = column[c][r];
  }
}

template <typename T>
void scale(T* __restrict p, int64_t n, T a) {
  for (int64_t j = 0; j < n; ++j) p[j] = p[j] * a;
}

template <typename T>
void scale_twice(T* __restrict p, int64_t n, T a, T b) {
  for (int64_t j = 0; j < n; ++j) p[j] = (p[j] * a) * b;
}

template <typename T>
void divide(T* __restrict p, int64_t n, T d) {
  for (int64_t j = 0; j < n; ++j) p[j] = p[j] / d;
}

template <typename T>
void shifted_minus(const T* x, T* y, int64_t n, T shift, T c) {
  for (int64_t j = 0; j < n; ++j) y[j] = (x[j] - shift) - c;
}

template <class O>
typename O::V sigmoid_cross_entropy_of(typename O::V z, typename O::V x) {
  using T = typename O::T;
  const typename O::V zero = O::set1(T(0));
  const typename O::V relu = O::select(O::gt(x, zero), x, zero);
  const typename O::V soft = vm::log1p<O>(vm::exp<O>(vm::neg<O>(vm::abs<O>(x))));
  return O::add(O::sub(relu, O::mul(x, z)), soft);
}

template <class O>
void sigmoid_cross_entropy(const typename O::T* z, const typename O::T* x, typename O::T* out,
                           int64_t n) {
  using S = ScalarVec<typename O::T>;
  int64_t j = 0;
  for (; j + O::W <= n; j += O::W)
    O::store(out + j, sigmoid_cross_entropy_of<O>(O::load(z + j), O::load(x + j)));
  for (; j < n; ++j) out[j] = sigmoid_cross_entropy_of<S>(z[j], x[j]);
}

template <template <class> class Vec, typename T>
SoftmaxRowLoops<T> loops() {
  return {&peak<Vec<T>>, &shifted_exp_sum<Vec<T>>, &narrow_rows<Vec<T>>, Vec<T>::W, &scale<T>,
          &scale_twice<T>, &divide<T>, &shifted_minus<T>, &sigmoid_cross_entropy<Vec<T>>};
}

}  // namespace

template <template <class> class Vec>
const SoftmaxRowTable& table() {
  static const SoftmaxRowTable t = {loops<Vec, float>(), loops<Vec, double>()};
  return t;
}

}  // namespace tapegrad::kernels::TG_ISA

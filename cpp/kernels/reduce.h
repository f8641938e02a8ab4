// The sum kernels of one instruction set's table: sums of contiguous runs and reductions over
// dimensions, all accumulated in double. The order of the additions depends on the shape alone,
// so every instruction set and thread count gives the same bits.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "kernels/kernels.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

// Independent accumulator lanes: the compiler maps them onto vector registers in the SIMD
// builds, and since the summation order is fixed by the lanes, every ISA gives the same bits.
constexpr int kLanes = 16;

// Folds the lanes pairwise (fixed order).
template <int Lanes = kLanes>
double fold_lanes(double* acc) {
  for (int w = Lanes / 2; w > 0; w /= 2)
    for (int j = 0; j < w; ++j) acc[j] += acc[j + w];
  return acc[0];
}

// Long runs are summed as four quarters side by side: one core then keeps four sequential
// streams in flight instead of one, and memory delivers them faster. Eight lanes per quarter keep
// the 32 accumulators in eight AVX2 registers.
constexpr int kStreams = 4, kStreamLanes = 8;
constexpr int64_t kMinStreamed = 4096;  // below, one stream: short runs stay in cache anyway

// The order every sum of a run adds in, accumulated in double: four quarters side by side from
// kMinStreamed elements on, then kLanes lanes, then the tail one by one. terms(e, v, count) writes
// terms e .. e + count - 1 of the run, as T, to v; a group of terms formed at once lets the
// compiler vectorise them. The order depends on n alone, so every ISA gives the same bits.
template <typename T, typename Terms>
double ordered_sum(int64_t n, Terms terms) {
  int64_t i = 0;
  double total = 0;
  if (n >= kMinStreamed) {
    const int64_t len = n / (kStreams * kStreamLanes) * kStreamLanes;  // per quarter
    double acc[kStreams][kStreamLanes] = {};
    for (int64_t p = 0; p < len; p += kStreamLanes)
      for (int s = 0; s < kStreams; ++s) {
        T v[kStreamLanes];
        terms(s * len + p, v, kStreamLanes);
        for (int j = 0; j < kStreamLanes; ++j) acc[s][j] += static_cast<double>(v[j]);
      }
    for (int s = 0; s < kStreams; ++s) total += fold_lanes<kStreamLanes>(acc[s]);
    i = kStreams * len;
  }
  double acc[kLanes] = {};
  for (; i + kLanes <= n; i += kLanes) {
    T v[kLanes];
    terms(i, v, kLanes);
    for (int j = 0; j < kLanes; ++j) acc[j] += static_cast<double>(v[j]);
  }
  double tail = 0;
  for (; i < n; ++i) {
    T v[1];
    terms(i, v, 1);
    tail += static_cast<double>(v[0]);
  }
  return total + fold_lanes(acc) + tail;
}

// Sum of a contiguous run, accumulated in double, so long float32 sums keep their digits.
template <typename T>
double sum_run(const T* x, int64_t n) {
  return ordered_sum<T>(n, [x](int64_t e, T* v, int count) {
    for (int j = 0; j < count; ++j) v[j] = x[e + j];
  });
}

// Sum of the products x[i] * y[i] (each rounded to T) in sum_run's order: for float32 exactly
// sum_run of the multiply kernel's output, so a tg.function loop can form it as a multiply
// followed by a sum. (For float64 an ISA may contract the product into the addition.)
template <typename T>
double dot_run(const T* x, const T* y, int64_t n) {
  return ordered_sum<T>(n, [x, y](int64_t e, T* v, int count) {
    for (int j = 0; j < count; ++j) v[j] = x[e + j] * y[e + j];
  });
}

template <typename T>
void reduce_sum(const T* in, T* out, const ReducePlan& p) {
  int64_t total = 1;
  for (int d = 0; d < p.rank; ++d) total *= p.shape[d];
  if (p.out_numel == 1) {
    out[0] = static_cast<T>(sum_run(in, total));
    return;
  }
  // Accumulate in double for every output element, then round once.
  double* acc = static_cast<double*>(std::malloc(sizeof(double) * p.out_numel));
  if (!acc) return;  // caller checks sizes; malloc of a few MB failing means the process is dying
  std::memset(acc, 0, sizeof(double) * p.out_numel);
  const int last = p.rank - 1;
  const int64_t n = p.shape[last];
  const int64_t os_last = p.out_stride[last];
  const int64_t outer = total / (n ? n : 1);
  int64_t idx[kMaxRank] = {};
  int64_t off = 0;
  for (int64_t o = 0; o < outer && n > 0; ++o) {
    const T* src = in + o * n;
    if (os_last == 0) {
      acc[off] += sum_run(src, n);
    } else {
      double* dst = acc + off;
      for (int64_t i = 0; i < n; ++i) dst[i * os_last] += src[i];
    }
    for (int d = last - 1; d >= 0; --d) {
      off += p.out_stride[d];
      if (++idx[d] < p.shape[d]) break;
      off -= p.out_stride[d] * p.shape[d];
      idx[d] = 0;
    }
  }
  for (int64_t i = 0; i < p.out_numel; ++i) out[i] = static_cast<T>(acc[i]);
  std::free(acc);
}

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

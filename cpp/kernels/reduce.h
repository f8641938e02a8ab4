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
// the 32 accumulators in eight AVX2 registers. kStreams, kStreamLanes and streamed_quarter are
// in kernels.h.
static_assert(kStreams == 4 && kStreamLanes == 8, "the lanes above assume four quarters of eight");

// The order every sum of a run adds in, accumulated in double: four quarters side by side from
// kMinStreamed elements on, then kLanes lanes, then the tail one by one. terms(e, v, count) writes
// terms e .. e + count - 1 of the run, as T, to v; a group of terms formed at once lets the
// compiler vectorise them. The order depends on n alone, so every ISA gives the same bits.
//
// The table's stream_* kernels (kernels.h) split it for a tg.function loop that forms the terms
// tile by tile: stream_sum and stream_dot run the quarters' loop over a tile of each quarter at a
// time, so each lane still takes its terms in order; stream_rest runs the end (fold_quarters,
// ordered_rest).

// The quarters' lanes (kStreams rows of kStreamLanes), each folded, added in order.
inline double fold_quarters(const double* quarters) {
  double total = 0;
  for (int s = 0; s < kStreams; ++s) {
    double lanes[kStreamLanes];
    for (int j = 0; j < kStreamLanes; ++j) lanes[j] = quarters[s * kStreamLanes + j];
    total += fold_lanes<kStreamLanes>(lanes);
  }
  return total;
}

// total (the folded quarters), then terms e .. e + n - 1 in kLanes lanes and one by one.
template <typename T, typename Terms>
double ordered_rest(double total, int64_t e, int64_t n, Terms terms) {
  int64_t i = 0;
  double acc[kLanes] = {};
  for (; i + kLanes <= n; i += kLanes) {
    T v[kLanes];
    terms(e + i, v, kLanes);
    for (int j = 0; j < kLanes; ++j) acc[j] += static_cast<double>(v[j]);
  }
  double tail = 0;
  for (; i < n; ++i) {
    T v[1];
    terms(e + i, v, 1);
    tail += static_cast<double>(v[0]);
  }
  return total + fold_lanes(acc) + tail;
}

template <typename T, typename Terms>
double ordered_sum(int64_t n, Terms terms) {
  const int64_t len = streamed_quarter(n);
  double total = 0;
  if (len > 0) {
    double acc[kStreams][kStreamLanes] = {};
    for (int64_t p = 0; p < len; p += kStreamLanes)
      for (int s = 0; s < kStreams; ++s) {
        T v[kStreamLanes];
        terms(s * len + p, v, kStreamLanes);
        for (int j = 0; j < kStreamLanes; ++j) acc[s][j] += static_cast<double>(v[j]);
      }
    total = fold_quarters(&acc[0][0]);
  }
  return ordered_rest<T>(total, kStreams * len, n - kStreams * len, terms);
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

// The table's stream_* kernels: ordered_sum's loop over its quarters, for count terms of each
// (a multiple of kStreamLanes) at a time. Each quarter's lanes are a local array of their own,
// so that the loop keeps them in registers.
template <typename T, typename Terms>
void stream_quarters(int64_t count, double* quarters, Terms terms) {
  static_assert(kStreams == 4, "one local array per quarter");
  double a0[kStreamLanes], a1[kStreamLanes], a2[kStreamLanes], a3[kStreamLanes];
  double* const acc[kStreams] = {a0, a1, a2, a3};
  for (int s = 0; s < kStreams; ++s)
    for (int j = 0; j < kStreamLanes; ++j) acc[s][j] = quarters[s * kStreamLanes + j];
  for (int64_t p = 0; p < count; p += kStreamLanes) {
    T v0[kStreamLanes], v1[kStreamLanes], v2[kStreamLanes], v3[kStreamLanes];
    terms(0, p, v0);
    terms(1, p, v1);
    terms(2, p, v2);
    terms(3, p, v3);
    for (int j = 0; j < kStreamLanes; ++j) a0[j] += static_cast<double>(v0[j]);
    for (int j = 0; j < kStreamLanes; ++j) a1[j] += static_cast<double>(v1[j]);
    for (int j = 0; j < kStreamLanes; ++j) a2[j] += static_cast<double>(v2[j]);
    for (int j = 0; j < kStreamLanes; ++j) a3[j] += static_cast<double>(v3[j]);
  }
  for (int s = 0; s < kStreams; ++s)
    for (int j = 0; j < kStreamLanes; ++j) quarters[s * kStreamLanes + j] = acc[s][j];
}

template <typename T>
void stream_sum(const T* const* x, int64_t count, double* quarters) {
  const T* const xs[kStreams] = {x[0], x[1], x[2], x[3]};
  stream_quarters<T>(count, quarters, [&xs](int s, int64_t p, T* v) {
    for (int j = 0; j < kStreamLanes; ++j) v[j] = xs[s][p + j];
  });
}

template <typename T>
void stream_dot(const T* const* x, const T* const* y, int64_t count, double* quarters) {
  const T* const xs[kStreams] = {x[0], x[1], x[2], x[3]};
  const T* const ys[kStreams] = {y[0], y[1], y[2], y[3]};
  stream_quarters<T>(count, quarters, [&xs, &ys](int s, int64_t p, T* v) {
    for (int j = 0; j < kStreamLanes; ++j) v[j] = xs[s][p + j] * ys[s][p + j];
  });
}

template <typename T>
double stream_rest(const double* quarters, const T* x, const T* y, int64_t n) {
  const double total = fold_quarters(quarters);
  if (y == nullptr)
    return ordered_rest<T>(total, 0, n, [x](int64_t e, T* v, int count) {
      for (int j = 0; j < count; ++j) v[j] = x[e + j];
    });
  return ordered_rest<T>(total, 0, n, [x, y](int64_t e, T* v, int count) {
    for (int j = 0; j < count; ++j) v[j] = x[e + j] * y[e + j];
  });
}

// reduce_sum's accumulators up to this many outputs live on the stack (4 KiB).
constexpr int64_t kStackOutputs = 512;

template <typename T>
void reduce_sum(const T* in, T* out, const ReducePlan& p) {
  int64_t total = 1;
  for (int d = 0; d < p.rank; ++d) total *= p.shape[d];
  if (p.out_numel == 1) {
    out[0] = static_cast<T>(sum_run(in, total));
    return;
  }
  // Accumulate in double for every output element, then round once; a few outputs (a layer's
  // bias gradient) on the stack, the rest on the heap.
  double small[kStackOutputs];
  double* acc = p.out_numel <= kStackOutputs
                    ? small
                    : static_cast<double*>(std::malloc(sizeof(double) * p.out_numel));
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
  if (acc != small) std::free(acc);
}

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

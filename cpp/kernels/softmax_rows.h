// The row loops of the softmax and cross-entropy kernels, one table per instruction set. Every
// table is the same source (softmax_rows_body.h) compiled with its ISA's flags and contraction
// into FMA off, over the vector types of simd/vec_math.h: the exponentials are vm::exp, whose
// lanes have the bits of its scalar reference, and every other step is an IEEE operation element
// by element, so every table gives the same bits and only the vector width differs.
//
// A row sum runs in kSoftmaxLanes partial sums (element j in lane j % kSoftmaxLanes, added in
// order of j) combined by a fixed pairwise tree: the lanes are one AVX-512 float register, two
// AVX2 registers, sixteen scalars, and the order is the same in each.
#pragma once
#include <cstdint>

namespace tapegrad::kernels {

constexpr int kSoftmaxLanes = 16;

template <typename T>
struct SoftmaxRowLoops {
  // The row's maximum (+0 for a maximum of -0), or 0 when it is not finite (a row of -inf, or an
  // inf, or a NaN first: the sums then decide). n >= 1.
  T (*peak)(const T* x, int64_t n);
  // sum_j exp(x[j] - shift) in lanes; e[j] = exp(x[j] - shift) as well when e is not null
  // (e may be x).
  T (*shifted_exp_sum)(const T* x, int64_t n, T shift, T* e);
  // peak and shifted_exp_sum of each of `rows` rows of n elements (rows <= narrow_rows_per_call,
  // 1 <= n < kSoftmaxLanes), the rows side by side in a vector's lanes: peaks[r] = peak(row r),
  // totals[r] = shifted_exp_sum(row r, n, peaks[r], e + r * n), with the same bits. e may be x.
  void (*narrow_rows)(const T* x, int64_t rows, int64_t n, T* peaks, T* totals, T* e);
  int narrow_rows_per_call;  // the table's vector width for T
  // p[j] = p[j] * a.
  void (*scale)(T* p, int64_t n, T a);
  // p[j] = (p[j] * a) * b, each product rounded.
  void (*scale_twice)(T* p, int64_t n, T a, T b);
  // p[j] = p[j] / d.
  void (*divide)(T* p, int64_t n, T d);
  // y[j] = (x[j] - shift) - c (y may be x).
  void (*shifted_minus)(const T* x, T* y, int64_t n, T shift, T c);
  // The elementwise sigmoid cross-entropy of logits x and labels z, which needs the same vector
  // math: out[j] = (max(x[j], 0) - x[j] z[j]) + log1p(exp(-|x[j]|)).
  void (*sigmoid_cross_entropy)(const T* z, const T* x, T* out, int64_t n);
};

struct SoftmaxRowTable {
  SoftmaxRowLoops<float> f32;
  SoftmaxRowLoops<double> f64;

  template <typename T> const SoftmaxRowLoops<T>& get() const;
};
template <> inline const SoftmaxRowLoops<float>& SoftmaxRowTable::get<float>() const { return f32; }
template <> inline const SoftmaxRowLoops<double>& SoftmaxRowTable::get<double>() const { return f64; }

const SoftmaxRowTable& scalar_softmax_rows();
const SoftmaxRowTable& avx2_softmax_rows();
const SoftmaxRowTable& avx512_softmax_rows();

// The table of the kernel set in use (kernels::active()).
const SoftmaxRowTable& active_softmax_rows();

template <typename T>
const SoftmaxRowLoops<T>& softmax_rows() { return active_softmax_rows().get<T>(); }

}  // namespace tapegrad::kernels

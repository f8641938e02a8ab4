#include "kernels/cross_entropy.h"

#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "core/parallel.h"
#include "kernels/softmax_row_sums.h"
#include "kernels/softmax_rows.h"

namespace tapegrad::kernels {
namespace {

constexpr int kLanes = kCrossEntropyLanes;

// kLanes values of T, held as 16-byte GCC vectors (SSE2 registers, which every x86-64 build has):
// lane l of the whole is element l of the kLanes values loaded. Whole-register operations are,
// lane for lane, those of a scalar loop over the lanes, so the bits are a scalar loop's.
template <typename T>
struct RegOf;
template <>
struct RegOf<float> {
  typedef float type __attribute__((vector_size(16)));
};
template <>
struct RegOf<double> {
  typedef double type __attribute__((vector_size(16)));
};

template <typename T>
struct Lanes {
  using Reg = typename RegOf<T>::type;
  static constexpr int kPerReg = 16 / sizeof(T);
  static constexpr int kRegs = kLanes / kPerReg;
  Reg r[kRegs];

  explicit Lanes(T fill) {
    for (int k = 0; k < kRegs; ++k) r[k] = Reg{} + fill;
  }
  // Adds the kLanes values at p, lane by lane.
  void add(const T* p) {
    for (int k = 0; k < kRegs; ++k) {
      Reg v;
      std::memcpy(&v, p + k * kPerReg, sizeof(v));
      r[k] += v;
    }
  }
  void to_array(T (&out)[kLanes]) const { std::memcpy(out, r, sizeof(out)); }
};

// The lanes combined pairwise, in a fixed tree.
template <typename T>
T tree_of(T (&acc)[kLanes]) {
  for (int width = kLanes / 2; width >= 1; width /= 2)
    for (int l = 0; l < width; ++l) acc[l] += acc[l + width];
  return acc[0];
}

template <typename T>
T tree_sum(const Lanes<T>& lanes) {
  T acc[kLanes];
  lanes.to_array(acc);
  return tree_of(acc);
}

// sum_j v[j], element j added to lane j % kLanes, the lanes then combined by tree_sum.
template <typename T>
T lane_sum(const T* v, int64_t n) {
  Lanes<T> lanes(T(0));
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) lanes.add(v + j);
  if (j == n) return tree_sum(lanes);
  T acc[kLanes];
  lanes.to_array(acc);
  for (int l = 0; j < n; ++j, ++l) acc[l] += v[j];
  return tree_of(acc);
}

// sum_j labels[j] * (log_total - (x[j] - peak)), in lanes as above.
template <typename T>
T weighted_neg_log_softmax_sum(const T* labels, const T* x, int64_t n, T peak, T log_total) {
  T acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += labels[j + l] * (log_total - (x[j + l] - peak));
  for (int l = 0; j < n; ++j, ++l) acc[l] += labels[j] * (log_total - (x[j] - peak));
  return tree_of(acc);
}

// Rows run on several threads when the row loop does at least this many exponentials.
constexpr int64_t kParallelElements = int64_t(1) << 15;

template <typename F>
void over_rows(int64_t rows, int64_t classes, F f) {
  const int64_t per_row = classes > 0 ? classes : 1;
  parallel_ranges(rows, std::move(f), 1, kParallelElements / per_row + 2);
}

template <typename L>
int64_t label_at(const void* labels, int64_t r) {
  return static_cast<int64_t>(static_cast<const L*>(labels)[r]);
}

inline int64_t label_of(DType label_dtype, const void* labels, int64_t r) {
  return label_dtype == DType::I32 ? label_at<int32_t>(labels, r) : label_at<int64_t>(labels, r);
}

template <typename T>
void sparse_typed(const T* logits, DType label_dtype, const void* labels, T* loss, T* probs,
                  int64_t rows, int64_t classes) {
  const SoftmaxRowLoops<T>& row = softmax_rows<T>();
  over_rows(rows, classes, [&](int64_t lo, int64_t hi) {
    row_exp_sums(row, logits, probs, lo, hi, classes, [&](int64_t r, T peak, T total) {
      const T* x = logits + r * classes;
      // (peak - x[label]) first: its digits survive when the loss is small.
      loss[r] = (peak - x[label_of(label_dtype, labels, r)]) + std::log(total);
      // e * inverse, as sparse_grad_typed rounds it
      if (probs) row.scale(probs + r * classes, classes, T(1) / total);
    });
  });
}

template <typename T>
void sparse_grad_from_probs_typed(const T* probs, DType label_dtype, const void* labels,
                                  const T* g, T* out, int64_t rows, int64_t classes) {
  over_rows(rows, classes, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const T* p = probs + r * classes;
      T* o = out + r * classes;
      const T scale = g[r];
      for (int64_t j = 0; j < classes; ++j) o[j] = p[j] * scale;
      const int64_t label = label_of(label_dtype, labels, r);
      o[label] = (p[label] - T(1)) * scale;
    }
  });
}

template <typename T>
void sparse_grad_typed(const T* logits, DType label_dtype, const void* labels, const T* g, T* out,
                       int64_t rows, int64_t classes) {
  const SoftmaxRowLoops<T>& row = softmax_rows<T>();
  over_rows(rows, classes, [&](int64_t lo, int64_t hi) {
    row_exp_sums(row, logits, out, lo, hi, classes, [&](int64_t r, T, T total) {
      T* p = out + r * classes;
      const T inverse = T(1) / total;
      const int64_t label = label_of(label_dtype, labels, r);
      // The label's element is (e * inverse - 1) [* g]; every other one e * inverse [* g]: each
      // product rounded as a separate multiply would round it.
      const T at_label = p[label] * inverse - T(1);
      if (g) {
        const T scale = g[r];
        row.scale_twice(p, classes, inverse, scale);
        p[label] = at_label * scale;
      } else {
        row.scale(p, classes, inverse);
        p[label] = at_label;
      }
    });
  });
}

template <typename T>
void dense_typed(const T* labels, const T* logits, T* loss, int64_t outer, int64_t n,
                 int64_t inner) {
  const SoftmaxRowLoops<T>& row = softmax_rows<T>();
  over_rows(outer * inner, n, [&](int64_t lo, int64_t hi) {
    // Rows strided by `inner` are copied into contiguous scratch (x, then z), so every layout
    // runs the same row code and gives the same bits.
    std::vector<T> scratch(static_cast<size_t>(2 * n));
    for (int64_t r = lo; r < hi; ++r) {
      const int64_t o = r / inner, i = r % inner;
      const T* x = logits + o * n * inner + i;
      const T* z = labels + o * n * inner + i;
      if (inner != 1) {
        for (int64_t k = 0; k < n; ++k) {
          scratch[k] = x[k * inner];
          scratch[n + k] = z[k * inner];
        }
        x = scratch.data();
        z = scratch.data() + n;
      }
      if (n == 0) {  // no classes: an empty sum
        loss[r] = T(0);
        continue;
      }
      const T peak = row.peak(x, n);
      const T log_total = std::log(row.shifted_exp_sum(x, n, peak, nullptr));
      loss[r] = weighted_neg_log_softmax_sum(z, x, n, peak, log_total);
    }
  });
}

template <typename T>
void dense_grad_typed(const T* labels, const T* logits, const T* g, T* d_logits, T* d_labels,
                      int64_t outer, int64_t n, int64_t inner) {
  const SoftmaxRowLoops<T>& row = softmax_rows<T>();
  over_rows(outer * inner, n, [&](int64_t lo, int64_t hi) {
    // x and z copies for strided rows (as in the forward), and the row's exponentials.
    std::vector<T> scratch(static_cast<size_t>(3 * n));
    T* e = scratch.data() + 2 * n;
    for (int64_t r = lo; r < hi; ++r) {
      if (n == 0) continue;
      const int64_t base = (r / inner) * n * inner + r % inner;
      const T* x = logits + base;
      const T* z = d_logits ? labels + base : nullptr;
      if (inner != 1) {
        for (int64_t k = 0; k < n; ++k) scratch[k] = x[k * inner];
        x = scratch.data();
        if (z) {
          for (int64_t k = 0; k < n; ++k) scratch[n + k] = z[k * inner];
          z = scratch.data() + n;
        }
      }
      const T peak = row.peak(x, n);
      const T total = row.shifted_exp_sum(x, n, peak, e);
      // Multiplying by 1 is exact: without g the values are those of the factor alone.
      const T scale = g ? g[r] : T(1);
      if (d_logits) {
        const T inverse = T(1) / total;
        const T z_total = lane_sum(z, n);
        T* out = d_logits + base;
        for (int64_t k = 0; k < n; ++k) out[k * inner] = ((e[k] * inverse) * z_total - z[k]) * scale;
      }
      if (d_labels) {
        const T log_total = std::log(total);
        T* out = d_labels + base;
        for (int64_t k = 0; k < n; ++k) out[k * inner] = (log_total - (x[k] - peak)) * scale;
      }
    }
  });
}

template <typename T>
void sigmoid_grad_typed(const T* s, const T* z, const T* x, const T* g, T* d_logits, T* d_labels,
                        int64_t n) {
  parallel_ranges(n, [&](int64_t lo, int64_t hi) {
    for (int64_t j = lo; j < hi; ++j) {
      if (d_labels) d_labels[j] = -(g[j] * x[j]);
      if (d_logits) d_logits[j] = g[j] * (s[j] - z[j]);
    }
  }, 16);
}

template <typename T>
void sigmoid_typed(const T* z, const T* x, T* out, int64_t n) {
  const SoftmaxRowLoops<T>& row = softmax_rows<T>();
  parallel_ranges(n, [&](int64_t lo, int64_t hi) {
    row.sigmoid_cross_entropy(z + lo, x + lo, out + lo, hi - lo);
  }, 16, kParallelElements);
}

}  // namespace

void sparse_softmax_cross_entropy(DType dtype, const void* logits, DType label_dtype,
                                  const void* labels, void* loss, void* probs, int64_t rows,
                                  int64_t classes) {
  if (dtype == DType::F32)
    return sparse_typed(static_cast<const float*>(logits), label_dtype, labels,
                        static_cast<float*>(loss), static_cast<float*>(probs), rows, classes);
  sparse_typed(static_cast<const double*>(logits), label_dtype, labels, static_cast<double*>(loss),
               static_cast<double*>(probs), rows, classes);
}

void sparse_softmax_cross_entropy_grad_from_probs(DType dtype, const void* probs,
                                                  DType label_dtype, const void* labels,
                                                  const void* g, void* out, int64_t rows,
                                                  int64_t classes) {
  if (dtype == DType::F32)
    return sparse_grad_from_probs_typed(static_cast<const float*>(probs), label_dtype, labels,
                                        static_cast<const float*>(g), static_cast<float*>(out),
                                        rows, classes);
  sparse_grad_from_probs_typed(static_cast<const double*>(probs), label_dtype, labels,
                               static_cast<const double*>(g), static_cast<double*>(out), rows,
                               classes);
}

void sparse_softmax_cross_entropy_grad(DType dtype, const void* logits, DType label_dtype,
                                       const void* labels, const void* g, void* out, int64_t rows,
                                       int64_t classes) {
  if (dtype == DType::F32)
    return sparse_grad_typed(static_cast<const float*>(logits), label_dtype, labels,
                             static_cast<const float*>(g), static_cast<float*>(out), rows, classes);
  sparse_grad_typed(static_cast<const double*>(logits), label_dtype, labels,
                    static_cast<const double*>(g), static_cast<double*>(out), rows, classes);
}

void softmax_cross_entropy(DType dtype, const void* labels, const void* logits, void* loss,
                           int64_t outer, int64_t n, int64_t inner) {
  if (dtype == DType::F32)
    return dense_typed(static_cast<const float*>(labels), static_cast<const float*>(logits),
                       static_cast<float*>(loss), outer, n, inner);
  dense_typed(static_cast<const double*>(labels), static_cast<const double*>(logits),
              static_cast<double*>(loss), outer, n, inner);
}

void sigmoid_cross_entropy(DType dtype, const void* labels, const void* logits, void* out,
                           int64_t n) {
  if (dtype == DType::F32)
    return sigmoid_typed(static_cast<const float*>(labels), static_cast<const float*>(logits),
                         static_cast<float*>(out), n);
  sigmoid_typed(static_cast<const double*>(labels), static_cast<const double*>(logits),
                static_cast<double*>(out), n);
}

void softmax_cross_entropy_grad(DType dtype, const void* labels, const void* logits, const void* g,
                                void* d_logits, void* d_labels, int64_t outer, int64_t n,
                                int64_t inner) {
  if (dtype == DType::F32)
    return dense_grad_typed(static_cast<const float*>(labels), static_cast<const float*>(logits),
                            static_cast<const float*>(g), static_cast<float*>(d_logits),
                            static_cast<float*>(d_labels), outer, n, inner);
  dense_grad_typed(static_cast<const double*>(labels), static_cast<const double*>(logits),
                   static_cast<const double*>(g), static_cast<double*>(d_logits),
                   static_cast<double*>(d_labels), outer, n, inner);
}

void sigmoid_cross_entropy_grad(DType dtype, const void* sigmoid, const void* labels,
                                const void* logits, const void* g, void* d_logits, void* d_labels,
                                int64_t n) {
  if (dtype == DType::F32)
    return sigmoid_grad_typed(static_cast<const float*>(sigmoid), static_cast<const float*>(labels),
                              static_cast<const float*>(logits), static_cast<const float*>(g),
                              static_cast<float*>(d_logits), static_cast<float*>(d_labels), n);
  sigmoid_grad_typed(static_cast<const double*>(sigmoid), static_cast<const double*>(labels),
                     static_cast<const double*>(logits), static_cast<const double*>(g),
                     static_cast<double*>(d_logits), static_cast<double*>(d_labels), n);
}

}  // namespace tapegrad::kernels

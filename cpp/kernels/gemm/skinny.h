// The skinny shapes autodiff meets all the time, each on a path of its own: k == 1 (an outer
// product), n == 1 (a matrix-vector product) and, where this ISA has the kernel, 2..15 columns.
#pragma once
#include <cstdint>
#include <cstdlib>

#include "core/thread_pool.h"
#include "kernels/gemm/few_columns.h"
#include "kernels/gemm/gemv.h"
#include "kernels/reduce.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

// Independent accumulator lanes of dot: a fixed order of the additions for a given n.
constexpr int kDotLanes = 16;

// Dot product of x (unit stride) with y (stride sy), in kDotLanes lanes.
template <typename T>
T dot(const T* x, const T* y, int64_t n, int64_t sy) {
  T acc[kDotLanes] = {};
  int64_t p = 0;
  if (sy == 1) {
    for (; p + kDotLanes <= n; p += kDotLanes)
      for (int j = 0; j < kDotLanes; ++j) acc[j] += x[p + j] * y[p + j];
  }
  T tail = 0;
  for (; p < n; ++p) tail += x[p] * y[p * sy];
  for (int w = kDotLanes / 2; w > 0; w /= 2)
    for (int j = 0; j < w; ++j) acc[j] += acc[j + w];
  return acc[0] + tail;
}

template <typename T>
struct DotChunks {
  const T* x;
  const T* y;
  int64_t n;
  double* partial;  // one per chunk
};

template <typename T>
void dot_chunk(void* ctx, int c, int) {
  const DotChunks<T>& d = *static_cast<const DotChunks<T>*>(ctx);
  const int64_t lo = c * kDotChunkElements;
  d.partial[c] = dot_run(d.x + lo, d.y + lo, d.n - lo < kDotChunkElements ? d.n - lo : kDotChunkElements);
}

// Dot product of two contiguous runs, summed as reduce_sum sums (kernels.h): one dot_run below
// the parallel threshold, else dot_run over fixed chunks (on several threads) added in order in
// double; rounded once.
template <typename T>
T chunked_dot(const T* x, const T* y, int64_t n) {
  if (n < threads::parallel_elements()) return static_cast<T>(dot_run(x, y, n));
  const int64_t chunks = (n + kDotChunkElements - 1) / kDotChunkElements;
  const int nt = chunks >= 2 && chunks <= 65535 ? threads::num_threads() : 1;
  // malloc, not std::vector: this unit calls no inline library templates (kernels/table.h).
  double* partial = nt > 1 ? static_cast<double*>(std::malloc(sizeof(double) * static_cast<size_t>(chunks)))
                           : nullptr;
  double total = 0;
  if (partial) {
    DotChunks<T> job{x, y, n, partial};
    threads::parallel_chunks(&dot_chunk<T>, &job, static_cast<int>(chunks), nt);
    for (int64_t c = 0; c < chunks; ++c) total += partial[c];
    std::free(partial);
  } else {  // one thread, or no memory for the partial sums: the same chunks, in order
    for (int64_t lo = 0; lo < n; lo += kDotChunkElements)
      total += dot_run(x + lo, y + lo, n - lo < kDotChunkElements ? n - lo : kDotChunkElements);
  }
  return static_cast<T>(total);
}

// C = beta*C + v, with beta == 0 meaning C is not read.
template <typename T>
T blend(T beta, T c, T v) {
  return beta == T(0) ? v : beta * c + v;
}

// C = alpha * op(A) op(B) + beta * C for a skinny shape (a column of inputs times a 1x1 weight,
// and its backward): k == 1 is an outer product, n == 1 a matrix-vector product. Returns false
// when the shape is not one of these.
template <typename T>
bool gemm_skinny(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                 int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  const int64_t a_row = ta ? 1 : lda, a_col = ta ? lda : 1;  // strides of A(i, p)
  const int64_t b_row = tb ? 1 : ldb, b_col = tb ? ldb : 1;  // strides of B(p, j)
  if (k == 1 && n == 1) {  // a column scaled by one number
    const T bb = alpha * b[0];
    if (beta == T(0) && ldc == 1 && a_row == 1) {
      for (int64_t i = 0; i < m; ++i) c[i] = a[i] * bb;
    } else {
      for (int64_t i = 0; i < m; ++i) c[i * ldc] = blend(beta, c[i * ldc], a[i * a_row] * bb);
    }
    return true;
  }
  if (m == 1 && n == 1 && a_col == 1 && b_row == 1) {  // a dot product of two contiguous runs
    c[0] = blend(beta, c[0], alpha * chunked_dot(a, b, k));
    return true;
  }
  if (k == 1) {
    for (int64_t i = 0; i < m; ++i) {
      const T ai = alpha * a[i * a_row];
      T* crow = c + i * ldc;
      if (b_col == 1) {
        for (int64_t j = 0; j < n; ++j) crow[j] = blend(beta, crow[j], ai * b[j]);
      } else {
        for (int64_t j = 0; j < n; ++j) crow[j] = blend(beta, crow[j], ai * b[j * b_col]);
      }
    }
    return true;
  }
  // Few columns that do not fill a micro-tile row, and dot products long enough to pay their
  // horizontal sums (few_columns_simd.h).
  if constexpr (kHasFewColumns) {
    if (n > 1 && n < 16 && a_col == 1 && k >= 64)
      return gemm_few_columns(m, n, k, alpha, a, a_row, b, b_row, b_col, beta, c, ldc);
  }
  if (n != 1) return false;
  if (a_col == 1 && b_row == 1) {  // rows of A and the vector are contiguous: GEMV kernel
    gemv(m, k, alpha, a, a_row, b, beta, c, ldc);
    return true;
  }
  if (a_col == 1) {  // strided vector: one dot product per output
    for (int64_t i = 0; i < m; ++i)
      c[i * ldc] = blend(beta, c[i * ldc], alpha * dot(a + i * a_row, b, k, b_row));
    return true;
  }
  if (ldc != 1 || a_row != 1) return false;
  // Columns of A are contiguous (A transposed): accumulate alpha * B(p) * A(:, p).
  for (int64_t i = 0; i < m; ++i) c[i] = beta == T(0) ? T(0) : beta * c[i];
  for (int64_t p = 0; p < k; ++p) {
    const T bp = alpha * b[p * b_row];
    const T* acol = a + p * a_col;
    for (int64_t i = 0; i < m; ++i) c[i] += bp * acol[i];
  }
  return true;
}

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

// Portable kernel bodies, compiled once per instruction set: each isa_*.cpp defines TG_ISA and
// includes this file, and the compiler vectorizes the loops for that TU's flags (the scalar TU
// turns vectorization off, so it is the reference every other path is tested against).
// Everything here lives in a per-ISA namespace and uses no inline library templates, so no
// AVX-512 copy of a function can be picked by the linker for another TU (one-definition rule).
#ifndef TG_ISA
#error "define TG_ISA before including kernels_portable.h"
#endif
#include <atomic>
#include <cstring>

#include "kernels/kernels.h"
#include "kernels/gemm_micro_portable.h"
#ifndef TG_MICRO
#define TG_MICRO PortableMicro
#endif
#ifndef TG_GEMV
#define TG_GEMV PortableGemv
#endif
#include "kernels/gemm_blocked.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

template <typename T>
struct AddF { static T f(T x, T y) { return x + y; } };
template <typename T>
struct SubF { static T f(T x, T y) { return x - y; } };
template <typename T>
struct MulF { static T f(T x, T y) { return x * y; } };
template <typename T>
struct DivF { static T f(T x, T y) { return x / y; } };

// Inner loop specialised on the stride pattern so the common cases are unit-stride.
template <typename T, typename F>
void binary_row(const T* a, const T* b, T* out, int64_t n, int64_t sa, int64_t sb) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = F::f(a[i], b[i]);
  } else if (sa == 0 && sb == 1) {
    const T x = a[0];
    for (int64_t i = 0; i < n; ++i) out[i] = F::f(x, b[i]);
  } else if (sa == 1 && sb == 0) {
    const T y = b[0];
    for (int64_t i = 0; i < n; ++i) out[i] = F::f(a[i], y);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = F::f(a[i * sa], b[i * sb]);
  }
}

template <typename T, typename F>
void binary_loop(const T* a, const T* b, T* out, const BinaryPlan& p) {
  if (p.rank == 0) {
    out[0] = F::f(a[0], b[0]);
    return;
  }
  const int last = p.rank - 1;
  const int64_t n = p.shape[last];
  int64_t outer = 1;
  for (int d = 0; d < last; ++d) outer *= p.shape[d];
  int64_t idx[kMaxRank] = {};
  int64_t off_a = 0, off_b = 0;
  for (int64_t o = 0; o < outer; ++o) {
    binary_row<T, F>(a + off_a, b + off_b, out + o * n, n, p.stride_a[last], p.stride_b[last]);
    // Advance the multi-index over the outer dimensions (odometer order).
    for (int d = last - 1; d >= 0; --d) {
      off_a += p.stride_a[d];
      off_b += p.stride_b[d];
      if (++idx[d] < p.shape[d]) break;
      off_a -= p.stride_a[d] * p.shape[d];
      off_b -= p.stride_b[d] * p.shape[d];
      idx[d] = 0;
    }
  }
}

template <typename T>
void binary(BinaryOp op, const T* a, const T* b, T* out, const BinaryPlan& p) {
  switch (op) {
    case BinaryOp::Add: return binary_loop<T, AddF<T>>(a, b, out, p);
    case BinaryOp::Sub: return binary_loop<T, SubF<T>>(a, b, out, p);
    case BinaryOp::Mul: return binary_loop<T, MulF<T>>(a, b, out, p);
    case BinaryOp::Div: return binary_loop<T, DivF<T>>(a, b, out, p);
  }
}

template <typename T>
void unary(UnaryOp op, const T* x, T* out, int64_t n) {
  switch (op) {
    case UnaryOp::Neg:
      for (int64_t i = 0; i < n; ++i) out[i] = -x[i];
      return;
    case UnaryOp::Square:
      for (int64_t i = 0; i < n; ++i) out[i] = x[i] * x[i];
      return;
  }
}

template <typename T>
void axpy(int64_t n, T alpha, const T* x, T* y) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

template <typename T>
void fill(int64_t n, T value, T* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = value;
}

template <typename T>
void scale(int64_t n, T alpha, const T* x, T* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = alpha * x[i];
}

// Square's backward in one pass over x, g and out. (g x) 2 has the bits of the recordable
// formula, multiply(g, multiply(x, 2)): doubling is exact, so both are 2 * round(g x).
template <typename T>
void square_grad(const T* x, const T* g, T* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = (g[i] * x[i]) * T(2);
}

template <typename T>
void gather(const T* in, T* out, const GatherPlan& p) {
  if (p.rank == 0) {
    out[0] = in[0];
    return;
  }
  const int last = p.rank - 1;
  const int64_t n = p.shape[last];
  const int64_t s = p.in_stride[last];
  int64_t outer = 1;
  for (int d = 0; d < last; ++d) outer *= p.shape[d];
  int64_t idx[kMaxRank] = {};
  int64_t off = 0;
  for (int64_t o = 0; o < outer; ++o) {
    T* dst = out + o * n;
    const T* src = in + off;
    if (s == 1) {
      for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
    } else if (s == 0) {
      for (int64_t i = 0; i < n; ++i) dst[i] = src[0];
    } else {
      for (int64_t i = 0; i < n; ++i) dst[i] = src[i * s];
    }
    for (int d = last - 1; d >= 0; --d) {
      off += p.in_stride[d];
      if (++idx[d] < p.shape[d]) break;
      off -= p.in_stride[d] * p.shape[d];
      idx[d] = 0;
    }
  }
}

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
// streams in flight instead of one, and reads memory faster (10^7 floats from DRAM: 17.5-19.6
// GB/s against 12.7-13.9 for one stream, measured here). Eight lanes per quarter keep the 32
// accumulators in eight AVX2 registers.
constexpr int kStreams = 4, kStreamLanes = 8;
constexpr int64_t kMinStreamed = 4096;  // below, one stream: short runs stay in cache anyway

// Sum of a contiguous run, accumulated in double: float32 sums stay accurate well past 10^7
// elements (numpy's pairwise float32 sum loses a few digits there). The order of the additions
// depends on n alone, so every ISA gives the same bits.
template <typename T>
double sum_run(const T* x, int64_t n) {
  int64_t i = 0;
  double total = 0;
  if (n >= kMinStreamed) {
    const int64_t len = n / (kStreams * kStreamLanes) * kStreamLanes;  // per quarter
    double acc[kStreams][kStreamLanes] = {};
    for (int64_t p = 0; p < len; p += kStreamLanes)
      for (int s = 0; s < kStreams; ++s)
        for (int j = 0; j < kStreamLanes; ++j) acc[s][j] += x[s * len + p + j];
    for (int s = 0; s < kStreams; ++s) total += fold_lanes<kStreamLanes>(acc[s]);
    i = kStreams * len;
  }
  double acc[kLanes] = {};
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += x[i + j];
  double tail = 0;
  for (; i < n; ++i) tail += x[i];
  return total + fold_lanes(acc) + tail;
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

// Dot product of x (unit stride) with y (stride sy), in lanes (see kLanes).
template <typename T>
T dot(const T* x, const T* y, int64_t n, int64_t sy) {
  T acc[kLanes] = {};
  int64_t p = 0;
  if (sy == 1) {
    for (; p + kLanes <= n; p += kLanes)
      for (int j = 0; j < kLanes; ++j) acc[j] += x[p + j] * y[p + j];
  }
  T tail = 0;
  for (; p < n; ++p) tail += x[p] * y[p * sy];
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int j = 0; j < w; ++j) acc[j] += acc[j + w];
  return acc[0] + tail;
}

// C = beta*C + v, with beta == 0 meaning C is not read.
template <typename T>
T blend(T beta, T c, T v) {
  return beta == T(0) ? v : beta * c + v;
}

// Threads for a GEMM path of `madds` multiply-adds whose threshold is `from` (kernels.h).
inline int gemm_threads(double madds, double from) { return madds >= from ? threads::num_threads() : 1; }

#ifdef TG_SMALL_N
constexpr int kMaxSmallNThreads = 64;

template <typename T>
struct SmallNJob {
  int64_t m, n, k, lda, ldc;
  T alpha, beta;
  const T* a;
  const T* b;
  int64_t b_row, b_col;
  T* c;
  int nt;
  // B transposed (n x k), one copy per thread, made by that thread at its first chunk: a copy
  // made by the caller crossed to the other core's cache at every call. At 256 x 784 . 784 x 10
  // 2 threads ran 1.4x as fast as 1 with one copy, 1.6-1.8x with these (Sapphire Rapids VM).
  T* bt[kMaxSmallNThreads];
  bool ready[kMaxSmallNThreads];  // slot t is only ever touched by the thread with index t
};

// Piece p of `pieces` (claimed by any thread, threads::parallel_chunks): whole 3-row blocks, and
// each C element's sum is the same whatever the piece and whichever thread's copy of B it reads.
template <typename T>
void small_n_slice(void* ctx, int p, int pieces) {
  SmallNJob<T>& j = *static_cast<SmallNJob<T>*>(ctx);
  int t = threads::thread_index();
  if (t >= j.nt) t = 0;  // a nested call running serially on a worker
  if (!j.ready[t]) {
    TG_SMALL_N<T>::transpose_b(j.k, j.n, j.b, j.b_row, j.b_col, j.bt[t]);
    j.ready[t] = true;
  }
  int64_t lo, hi;
  thread_share(j.m, 3, p, pieces, &lo, &hi);
  if (hi > lo)
    TG_SMALL_N<T>::run(hi - lo, j.n, j.k, j.alpha, j.a + lo * j.lda, j.lda, j.bt[t], j.beta,
                       j.c + lo * j.ldc, j.ldc);
}

// Few columns (2..15) and A rows contiguous along k: B is transposed into a small buffer (n x k)
// per thread and every C element is a k-vectorized dot product. False when the buffers cannot
// be had.
template <typename T>
bool gemm_small_n(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
                  int64_t b_row, int64_t b_col, T beta, T* c, int64_t ldc) {
  const double madds = static_cast<double>(m) * n * k;
  int nt = gemm_threads(madds, parallel_thresholds().few_columns_madds);
  if (nt > kMaxSmallNThreads) nt = kMaxSmallNThreads;
  SmallNJob<T> job{m, n, k, lda, ldc, alpha, beta, a, b, b_row, b_col, c, nt, {}, {}};
  size_t cap[kMaxSmallNThreads] = {};
  bool ok = true;
  for (int t = 0; t < nt && ok; ++t) ok = (job.bt[t] = take_buffer<T>(n * k, &cap[t])) != nullptr;
  if (ok) threads::parallel_chunks(&small_n_slice<T>, &job, threads::chunk_count(nt, (m + 2) / 3), nt);
  // In reverse: the allocator's cache hands out the last buffer returned first, so the next call
  // gives each thread the buffer it used now, still in its own cache (in take order they came
  // back swapped, and writing the other core's lines cost as much as sharing one copy).
  for (int t = nt - 1; t >= 0; --t) allocator::release(job.bt[t], cap[t]);
  return ok;
}
#endif

template <typename T>
struct GemvJob {
  int64_t m, k, lda, incy;
  T alpha, beta;
  const T* a;
  const T* x;
  T* y;
  bool descending;
};

// Piece p of `pieces`: whole 4-row groups, so each y element's sum is the same for any piece.
template <typename T>
void gemv_slice(void* ctx, int p, int pieces) {
  const GemvJob<T>& j = *static_cast<const GemvJob<T>*>(ctx);
  int64_t lo, hi;
  thread_share(j.m, 4, p, pieces, &lo, &hi);
  if (hi > lo)
    TG_GEMV<T>::run(hi - lo, j.k, j.alpha, j.a + lo * j.lda, j.lda, j.x, j.beta, j.y + lo * j.incy,
                    j.incy, j.descending);
}

// y = alpha * A x + beta * y, on both cores when A is large enough (it streams A from memory:
// two cores draw more bandwidth than one).
//
// On one thread, every other call reads A last row to first. Training reads the same A again
// and again (the seed step's inputs, every step); when A is a little larger than L2, reading it
// in one direction every time evicts each row just before it is needed again, and alternating
// starts each call on the rows the previous one left in L2. Not on several threads: there each
// thread's share fits its own L2 best when it reads the same rows every call. The direction
// never changes a result (each y element is one row's sum).
template <typename T>
void gemv(int64_t m, int64_t k, T alpha, const T* a, int64_t lda, const T* x, T beta, T* y,
          int64_t incy) {
  static std::atomic<unsigned> calls{0};
  const double madds = static_cast<double>(m) * k;
  const int nt = gemm_threads(madds, parallel_thresholds().gemv_madds);
  const bool descending = nt == 1 && (calls.fetch_add(1, std::memory_order_relaxed) & 1u);
  GemvJob<T> job{m, k, lda, incy, alpha, beta, a, x, y, descending};
  threads::parallel_chunks(&gemv_slice<T>, &job, threads::chunk_count(nt, (m + 3) / 4), nt);
}

// Skinny shapes that autodiff meets all the time (a column of inputs times a 1x1 weight, and
// its backward): k == 1 is an outer product, n == 1 a matrix-vector product. Returns false when
// the shape is not one of these.
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
#ifdef TG_SMALL_N
  // Few columns that do not fill a micro-tile row, and dot products long enough to pay their
  // horizontal sums: see Avx2SmallN.
  if (n > 1 && n < 16 && a_col == 1 && k >= 64)
    return gemm_small_n(m, n, k, alpha, a, a_row, b, b_row, b_col, beta, c, ldc);
#endif
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

// Portable GEMM: loop orders chosen so the innermost loop is unit-stride where the layout allows.
// The blocked, packed BLIS-style path replaces this for large shapes (see the SIMD issue).
template <typename T>
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
          const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (gemm_skinny(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)) return;
  // Below about 32^3 multiply-adds packing costs more than it saves; below about 64^3 a second
  // thread costs more (hand-off, duplicate packing) than it saves (parallel_thresholds.cpp).
  const double madds = static_cast<double>(m) * n * k;
  const int threads = gemm_threads(madds, parallel_thresholds().gemm_madds);
  if (k > 0 && madds >= 32768.0 &&
      gemm_blocked(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads))
    return;
  for (int64_t i = 0; i < m; ++i) {
    T* crow = c + i * ldc;
    if (beta == T(0)) {
      for (int64_t j = 0; j < n; ++j) crow[j] = T(0);
    } else if (beta != T(1)) {
      for (int64_t j = 0; j < n; ++j) crow[j] *= beta;
    }
  }
  if (!tb) {
    // C[i,:] += alpha * A(i,p) * B[p,:]  (B rows contiguous)
    for (int64_t i = 0; i < m; ++i) {
      T* crow = c + i * ldc;
      for (int64_t p = 0; p < k; ++p) {
        const T av = alpha * (ta ? a[p * lda + i] : a[i * lda + p]);
        const T* brow = b + p * ldb;
        for (int64_t j = 0; j < n; ++j) crow[j] += av * brow[j];
      }
    }
    return;
  }
  // B transposed: C[i,j] += alpha * dot(A(i,:), B[j,:]) with B rows contiguous.
  for (int64_t i = 0; i < m; ++i) {
    T* crow = c + i * ldc;
    for (int64_t j = 0; j < n; ++j) {
      const T* brow = b + j * ldb;
      T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      int64_t p = 0;
      if (!ta) {
        const T* arow = a + i * lda;
        for (; p + 4 <= k; p += 4) {
          s0 += arow[p] * brow[p];
          s1 += arow[p + 1] * brow[p + 1];
          s2 += arow[p + 2] * brow[p + 2];
          s3 += arow[p + 3] * brow[p + 3];
        }
        for (; p < k; ++p) s0 += arow[p] * brow[p];
      } else {
        for (; p < k; ++p) s0 += a[p * lda + i] * brow[p];
      }
      crow[j] += alpha * ((s0 + s1) + (s2 + s3));
    }
  }
}

void cast_f32_to_f64(const float* in, double* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<double>(in[i]);
}
void cast_f64_to_f32(const double* in, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(in[i]);
}

template <typename T>
TypedKernels<T> typed() {
  TypedKernels<T> k;
  k.binary = &binary<T>;
  k.unary = &unary<T>;
  k.axpy = &axpy<T>;
  k.scale = &scale<T>;
  k.square_grad = &square_grad<T>;
  k.fill = &fill<T>;
  k.gather = &gather<T>;
  k.reduce_sum = &reduce_sum<T>;
  k.sum = &sum_run<T>;
  k.gemm = &gemm<T>;
  return k;
}

}  // namespace

const KernelTable& table() {
  static const KernelTable t = {TG_ISA_NAME, typed<float>(), typed<double>(), &cast_f32_to_f64,
                                &cast_f64_to_f32};
  return t;
}

}  // namespace tapegrad::kernels::TG_ISA

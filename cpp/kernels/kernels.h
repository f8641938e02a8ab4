// The kernel table: every hot loop the ops call goes through one of these function pointers.
// One table exists per instruction set (scalar reference, AVX2+FMA, AVX-512), each built in its own
// translation unit with its own compiler flags; dispatch.cpp picks one at import.
// Kernels see only raw pointers and plans: they never touch Python or tensors.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/shape.h"
#include "kernels/elementwise_ops.h"

namespace tapegrad::kernels {

// out[i] = a[...] op b[...] over `shape`, out contiguous; strides in elements, 0 where broadcast.
// Adjacent dimensions are merged by the caller, so the innermost loop is as long as possible.
struct BinaryPlan {
  int rank = 0;
  int64_t shape[kMaxRank];
  int64_t stride_a[kMaxRank];
  int64_t stride_b[kMaxRank];
};

// Contiguous out[...] = in[sum(index_d * in_stride_d)]: transpose and broadcast_to.
struct GatherPlan {
  int rank = 0;
  int64_t shape[kMaxRank];
  int64_t in_stride[kMaxRank];
};

// Sum of a contiguous input into out; out_stride is 0 along reduced dimensions.
struct ReducePlan {
  int rank = 0;
  int64_t shape[kMaxRank];
  int64_t out_stride[kMaxRank];
  int64_t out_numel = 1;
};

template <typename T>
struct TypedKernels {
  void (*binary)(BinaryOp op, const T* a, const T* b, T* out, const BinaryPlan& plan);
  void (*unary)(UnaryOp op, const T* x, T* out, int64_t n);
  void (*axpy)(int64_t n, T alpha, const T* x, T* y);  // y += alpha * x
  void (*scale)(int64_t n, T alpha, const T* x, T* out);  // out = alpha * x
  void (*square_grad)(const T* x, const T* g, T* out, int64_t n);  // out = 2 x g, one pass
  void (*fill)(int64_t n, T value, T* out);
  void (*gather)(const T* in, T* out, const GatherPlan& plan);
  void (*reduce_sum)(const T* in, T* out, const ReducePlan& plan);
  double (*sum)(const T* x, int64_t n);  // sum of a contiguous run, accumulated in double
  double (*dot)(const T* x, const T* y, int64_t n);  // sum of x[i] * y[i], accumulated in double
  // sum and dot in parts, for a loop that forms the terms tile by tile (see kStreams below):
  // stream_sum and stream_dot add count terms (a multiple of kStreamLanes) of each quarter,
  // x[q] (and y[q]) on, to that quarter's lanes quarters[q * kStreamLanes ..], term j to lane
  // j % kStreamLanes; stream_rest folds the quarters' lanes, adds them, and then the n terms
  // after the quarters (y null: of a sum).
  void (*stream_sum)(const T* const* x, int64_t count, double* quarters);
  void (*stream_dot)(const T* const* x, const T* const* y, int64_t count, double* quarters);
  double (*stream_rest)(const double* quarters, const T* x, const T* y, int64_t n);
  // C = alpha * op(A) * op(B) + beta * C, row-major, op(X) = X or X^T by the flags.
  // beta == 0 means C is not read (it may hold garbage).
  void (*gemm)(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
               int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);
};

// A dot product of two contiguous runs (a GEMM with m == n == 1) is summed as reduce_sum sums:
// one `dot` call below threads::parallel_elements() elements, else `dot` over fixed chunks of
// this many elements added in order in double. The split depends on the length alone, so any
// thread count gives the same bits, and a tg.function loop sums the same chunks.
constexpr int64_t kDotChunkElements = int64_t(1) << 16;

// sum and dot over n terms: from kMinStreamed terms on, the first kStreams * streamed_quarter(n)
// form kStreams quarters of streamed_quarter(n) terms each, summed side by side in kStreamLanes
// lanes apiece; then the quarters' lanes are folded and added, then the remaining terms (fewer
// than kStreams * kStreamLanes) in lanes of their own.
constexpr int kStreams = 4, kStreamLanes = 8;
constexpr int64_t kMinStreamed = 4096;
static constexpr int64_t streamed_quarter(int64_t n) {
  return n >= kMinStreamed ? n / (kStreams * kStreamLanes) * kStreamLanes : 0;
}

struct KernelTable {
  const char* isa;
  TypedKernels<float> f32;
  TypedKernels<double> f64;
  void (*cast_f32_to_f64)(const float* in, double* out, int64_t n);
  void (*cast_f64_to_f32)(const double* in, float* out, int64_t n);

  template <typename T> const TypedKernels<T>& get() const;
};
template <> inline const TypedKernels<float>& KernelTable::get<float>() const { return f32; }
template <> inline const TypedKernels<double>& KernelTable::get<double>() const { return f64; }

// The table in use. Chosen on first use from TAPEGRAD_ISA or CPUID.
const KernelTable& active();
// Forces an instruction set ("scalar", "avx2", "avx512"); throws RuntimeError naming what this
// CPU supports when it lacks the one asked for, ValueError for an unknown name.
void select(const std::string& isa);
// Instruction sets this build has and this CPU can run, best last.
std::vector<std::string> available();

// Sizes, in multiply-adds, from which the GEMM paths split their work between threads (below
// them a second thread's wake-up costs more than it saves). Measured with
// bench/thread_thresholds.py, which lowers them to time both sides of the defaults.
struct ParallelThresholds {
  double gemm_madds;         // blocked GEMM
  double few_columns_madds;  // the k-vectorized kernel for 2..15 columns
  double gemv_madds;         // matrix-vector (n == 1)
};
ParallelThresholds parallel_thresholds();
void set_parallel_thresholds(const ParallelThresholds& t);

// The tables of each instruction set, defined in isa_*.cpp.
const KernelTable& scalar_table();
const KernelTable& avx2_table();
const KernelTable& avx512_table();

}  // namespace tapegrad::kernels

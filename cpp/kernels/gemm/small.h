// The small-product path: a product that is one K block with operands that stay in cache (a
// training step's layers at batch sizes of tens) multiplies tile by tile with A, and B where its
// rows allow, read in place. Packing copies each operand once more, a sizeable part of the work
// at these sizes, and buys nothing while the operands sit in L1 and L2.
#pragma once
#include <cstdint>

#include "core/allocator.h"
#include "core/thread_pool.h"
#include "kernels/gemm/buffers.h"
#include "kernels/gemm/pack.h"
#include "kernels/gemm/partition.h"
#include "kernels/gemm/tiles.h"
#include "kernels/kernels.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

// Operands up to this many bytes each take the small path: they stay in L2 while every tile
// passes over them.
constexpr int64_t kSmallOperandBytes = int64_t(128) << 10;
// C up to this many rows: each row tile reads all of B again.
constexpr int64_t kSmallMaxRows = 256;

template <typename T>
struct SmallJob {
  bool ta;
  int64_t m, k, lda;
  T alpha, beta;
  const T* a;
  const T* b;        // B's first column (in place) or the packed panels
  int64_t b_step;    // in place: ldb; packed: unused (panel jr starts at b + jr * k)
  bool packed_b;
  T* c;
  int64_t ldc, n;
};

// A C at most one vector wide (B packed, as it then always is): tiles of the micro-kernel's
// narrow kind, one vector per row, twice as many rows.
template <typename T>
void small_narrow(const SmallJob<T>& j) {
  using Tile = Micro<T>;
  constexpr int ROWS = Tile::NARROW_ROWS;
  const int64_t si = j.ta ? 1 : j.lda, sp = j.ta ? j.lda : 1;  // strides of A(i, p)
  for (int64_t ir = 0; ir < j.m; ir += ROWS) {
    const int mr = static_cast<int>(min64(ROWS, j.m - ir));
    const T* rows[ROWS];
    for (int i = 0; i < ROWS; ++i) rows[i] = j.a + (ir + (i < mr ? i : mr - 1)) * si;
    Tile::run_narrow(j.k, rows, sp, j.b, j.c + ir * j.ldc, j.ldc, j.alpha, j.beta, mr,
                     static_cast<int>(j.n));
  }
}

// Column panel `panel` of C (NR columns), every row tile of it.
template <typename T>
void small_panel(const SmallJob<T>& j, int64_t panel) {
  using Tile = Micro<T>;
  constexpr int MR = Tile::MR, NR = Tile::NR;
  if (j.n <= Tile::W && j.packed_b) return small_narrow(j);
  const int64_t jr = panel * NR;
  const int nr = static_cast<int>(min64(NR, j.n - jr));
  const int64_t si = j.ta ? 1 : j.lda, sp = j.ta ? j.lda : 1;  // strides of A(i, p)
  for (int64_t ir = 0; ir < j.m; ir += MR) {
    const int mr = static_cast<int>(min64(MR, j.m - ir));
    const T* rows[MR];
    for (int i = 0; i < MR; ++i) rows[i] = j.a + (ir + (i < mr ? i : mr - 1)) * si;
    T* c = j.c + ir * j.ldc + jr;
    if (j.packed_b)
      Tile::template run_in_place<true>(j.k, rows, sp, j.b + jr * j.k, NR, c, j.ldc, j.alpha,
                                        j.beta, mr, nr);
    else
      Tile::template run_in_place<false>(j.k, rows, sp, j.b + jr, j.b_step, c, j.ldc, j.alpha,
                                         j.beta, mr, nr);
  }
}

template <typename T>
void small_chunk(void* ctx, int chunk, int chunks) {
  const SmallJob<T>& j = *static_cast<const SmallJob<T>*>(ctx);
  const int64_t panels = (j.n + Tiles<T>::NR - 1) / Tiles<T>::NR;
  for (int64_t p = panels * chunk / chunks; p < panels * (chunk + 1) / chunks; ++p)
    small_panel(j, p);
}

// C = alpha * op(A) op(B) + beta * C for a product the blocked path would take (the caller
// checks the size) when it is one K block (k <= KC) with small operands; returns false, having
// touched nothing, otherwise. B is read in place when it is row-major and its rows are whole
// micro-panels wide; else it is packed once, as the blocked path packs it. Each C element is
// the blocked path's chain of FMAs over its single K block (kc = k), so the bits are the blocked
// path's on every thread count; chunks of column panels are shared among `threads` threads.
// Not inlined into gemm(): the skinny shapes' calls, some of a microsecond, keep gemm()'s lean
// prologue.
template <typename T>
__attribute__((noinline)) bool gemm_small(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc, int threads) {
  constexpr int NR = Tiles<T>::NR;
  constexpr int64_t bytes = static_cast<int64_t>(sizeof(T));
  if (k < 1 || k > Tiles<T>::KC || m > kSmallMaxRows || m * k * bytes > kSmallOperandBytes ||
      k * n * bytes > kSmallOperandBytes)
    return false;
  SmallJob<T> job{ta, m, k, lda, alpha, beta, a, b, ldb, false, c, ldc, n};
  T* packed = nullptr;
  size_t capacity = 0;
  if (tb || n % NR != 0) {
    packed = take_buffer<T>(round_up(n, NR) * k, &capacity);
    if (!packed) return false;
    pack_b<T, NR>(tb, b, ldb, 0, 0, k, n, packed);
    job.b = packed;
    job.packed_b = true;
  }
  // Chunks of whole panels, a few per thread: a thread the OS does not run leaves its part to
  // the others (thread_pool.h).
  const int chunks = threads > 1 ? threads::chunk_count(threads, (n + NR - 1) / NR) : 1;
  if (chunks > 1)
    threads::parallel_chunks(&small_chunk<T>, &job, chunks, threads);
  else
    small_chunk<T>(&job, 0, 1);
  if (packed) allocator::release(packed, capacity);
  return true;
}

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

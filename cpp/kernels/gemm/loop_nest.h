// The loop nests over all of C on one thread (or over one thread's fixed part of it): K blocks,
// packing, and the macro-kernel, in the usual BLIS order or in the wide order for a C whose
// usual B panel would spill L2. Each C element sums its K blocks in order with the same FMA
// chains whichever order runs, so both give the same bits.
#pragma once
#include <cstdint>

#include "kernels/gemm/macro_kernel.h"
#include "kernels/gemm/pack.h"
#include "kernels/gemm/partition.h"
#include "kernels/gemm/tiles.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

// Whether the serial nest over an m x n x k product takes the wide order (gemm_nest_wide):
// BlockSizes' WIDE_NC is nonzero, C is wider than it, A spans more than one block (else
// the B panel serves one A block and where it lives matters little), and the usual order's
// packed B panel (a K block by up to NC columns) exceeds WIDE_PANEL_BYTES.
template <typename T, int64_t KC>
bool wide_nest(int64_t m, int64_t n, int64_t k) {
  using B = BlockSizes<T>;
  if (B::WIDE_NC == 0 || n <= B::WIDE_NC || m <= Tiles<T>::MC) return false;
  const int64_t kc = min64(equal_block_step(k, KC, 8), k);
  return kc * min64(n, Tiles<T>::NC) * static_cast<int64_t>(sizeof(T)) > B::WIDE_PANEL_BYTES;
}

// The rows of A the wide order packs at once, for an m-row C (a multiple of MR).
template <typename T>
int64_t wide_rows(int64_t m) {
  constexpr int MR = Tiles<T>::MR;
  return min64(BlockSizes<T>::WIDE_ROWS / MR * MR, round_up(m, MR));
}

// The serial nest for a wide C: K block outermost, A packed once per K block for up to
// WIDE_ROWS rows, then B in panels of WIDE_NC columns, each small enough to stay in L2 while
// every A block passes over it. The usual order (gemm_nest) packs a panel of up to NC columns,
// which spills L2 when it passes WIDE_PANEL_BYTES; panels of WIDE_NC columns in the usual order
// would pack all of A once per panel instead. Each C element still sums its K blocks in order
// with the same FMA chains: the same bits.
template <typename T, int64_t KC>
void gemm_nest_wide(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                    int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc, T* ap,
                    T* bp, bool stream_c) {
  constexpr int MR = Tiles<T>::MR, NR = Tiles<T>::NR;
  constexpr int64_t MC = Tiles<T>::MC, NC = BlockSizes<T>::WIDE_NC / NR * NR;
  const int64_t rows = wide_rows<T>(m);
  const int64_t kstep = equal_block_step(k, KC, 8);
  for (int64_t i0 = 0; i0 < m; i0 += rows) {
    const int64_t mb = min64(rows, m - i0);
    const int64_t mstep = equal_block_step(mb, MC, MR);
    for (int64_t pc = 0; pc < k; pc += kstep) {
      const int64_t kc = min64(kstep, k - pc);
      const T beta_here = pc == 0 ? beta : T(1);  // later K blocks accumulate
      for (int64_t ic = 0; ic < mb; ic += mstep)  // block ic at ap + ic * kc, as pack_a lays it
        pack_a<T, MR>(ta, a, lda, i0 + ic, pc, min64(mstep, mb - ic), kc, ap + ic * kc);
      for (int64_t jc = 0; jc < n; jc += NC) {
        const int64_t nc = min64(NC, n - jc);
        pack_b<T, NR>(tb, b, ldb, pc, jc, kc, nc, bp);
        for (int64_t ic = 0; ic < mb; ic += mstep)
          multiply_block(kc, min64(mstep, mb - ic), nc, ap + ic * kc, bp,
                         c + (i0 + ic) * ldc + jc, ldc, alpha, beta_here, stream_c);
      }
    }
  }
}

// The serial loop nest over all of C, with caller-provided packing buffers, K blocks of KC.
template <typename T, int64_t KC>
void gemm_nest(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
               int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc, T* ap, T* bp,
               bool stream_c) {
  using Tile = Micro<T>;
  constexpr int MR = Tiles<T>::MR, NR = Tiles<T>::NR;
  constexpr int64_t MC = Tiles<T>::MC, NC = Tiles<T>::NC;
  if (wide_nest<T, KC>(m, n, k))
    return gemm_nest_wide<T, KC>(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ap, bp,
                                 stream_c);
  for (int64_t jc = 0; jc < n; jc += NC) {
    const int64_t nc = min64(NC, n - jc);
    const int64_t kstep = equal_block_step(k, KC, 8);
    for (int64_t pc = 0; pc < k; pc += kstep) {
      const int64_t kc = min64(kstep, k - pc);
      const T beta_here = pc == 0 ? beta : T(1);  // later K blocks accumulate
      pack_b<T, NR>(tb, b, ldb, pc, jc, kc, nc, bp);
      if (nc <= NR) {
        // C is one micro-tile wide: each A element is used once, so packing A would only add a
        // pass over it. The micro-kernel reads A in place (rows past the edge repeat the last).
        const int64_t si = ta ? 1 : lda, sp = ta ? lda : 1;
        for (int64_t ir = 0; ir < m; ir += MR) {
          const int mr = static_cast<int>(min64(MR, m - ir));
          const T* rows[MR];
          for (int i = 0; i < MR; ++i) rows[i] = a + (ir + (i < mr ? i : mr - 1)) * si + pc * sp;
          Tile::template run<false>(kc, nullptr, rows, sp, bp, c + ir * ldc + jc, ldc, alpha,
                                     beta_here, mr, static_cast<int>(nc));
        }
        continue;
      }
      const int64_t mstep = equal_block_step(m, MC, MR);
      for (int64_t ic = 0; ic < m; ic += mstep) {
        const int64_t mc = min64(mstep, m - ic);
        pack_a<T, MR>(ta, a, lda, ic, pc, mc, kc, ap);
        multiply_block(kc, mc, nc, ap, bp, c + ic * ldc + jc, ldc, alpha, beta_here, stream_c);
      }
    }
  }
}

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

// The macro-kernel: one packed A block times one packed B panel, tile by tile, with the rule for
// bringing the next B micro-panel into L2 ahead of its tiles.
#pragma once
#include <cstdint>

#include "kernels/gemm/partition.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

// From this size the packed B panel does not stay in L2 while the A blocks pass over it, and
// each B micro-panel's first use would wait on L3. Smaller panels stay in L2 and are not
// prefetched: there the prefetches only cost.
constexpr int64_t kPrefetchPanelBytes = int64_t(1) << 20;

// C block (mc x nc) = alpha * packed A block . packed B panel + beta * C block: the two inner
// loops, B micro-panel outermost so it stays in L1 while the A micro-panels stream from L2.
// With a B panel past kPrefetchPanelBytes, the tiles on micro-panel jr bring micro-panel jr + 1
// (or the first, for the next A block) into L2, each tile a slice of it, one line every 4 k
// steps inside its loop, so the prefetches spread over the tiles' FMAs. Prefetches change no
// value.
template <typename T>
void multiply_block(int64_t kc, int64_t mc, int64_t nc, const T* ap, const T* bp, T* c,
                    int64_t ldc, T alpha, T beta, bool stream_c) {
  using Tile = Micro<T>;
  constexpr int MR = Tile::MR, NR = Tile::NR;
  constexpr int64_t kSliceElems = 16 / int64_t(sizeof(T));  // per k step of a tile
  constexpr int64_t kSlices = NR * int64_t(sizeof(T)) / 16;   // tiles to cover a micro-panel
  const bool ahead = kc * nc * static_cast<int64_t>(sizeof(T)) > kPrefetchPanelBytes;
  for (int64_t jr = 0; jr < nc; jr += NR) {
    const int nr = static_cast<int>(min64(NR, nc - jr));
    const T* next = bp + (jr + NR < nc ? jr + NR : 0) * kc;
    for (int64_t ir = 0; ir < mc; ir += MR) {
      const int mr = static_cast<int>(min64(MR, mc - ir));
      const int64_t slice = ir / MR;
      const T* b_ahead = ahead && slice < kSlices ? next + slice * kc * kSliceElems : nullptr;
      Tile::template run<true>(kc, ap + ir * kc, nullptr, 0, bp + jr * kc, c + ir * ldc + jr, ldc,
                                alpha, beta, mr, nr, stream_c, b_ahead);
    }
  }
}

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

// The block sizes the GEMM loops use. Each instruction set's kernel set (isa_*.h) names a
// micro-kernel, Micro<T> (an MR x NR register tile of C), and a block-size table, BlockSizes<T>
// (gemm/block_sizes_*.h), whose fields are:
//   MR                the micro-tile's rows (its columns, NR, are the micro-kernel's own);
//   KC                the K block: packed micro-panels of A and B are KC deep;
//   MC                rows of A packed at once (the packed A block, kept in L2);
//   NC                columns of B packed at once (the packed B panel, kept in L3);
//   ONE_BLOCK_K       k up to this is one K block when C has ONE_BLOCK_ROWS rows or more
//                     (ONE_BLOCK_K == KC: never);
//   WIDE_NC, WIDE_ROWS, WIDE_PANEL_BYTES   the wide loop order (loop_nest.h; WIDE_NC == 0:
//                     never): B panels of WIDE_NC columns, A packed WIDE_ROWS rows at a time,
//                     taken when the usual order's B panel would pass WIDE_PANEL_BYTES.
#pragma once
#include <cstdint>

namespace tapegrad::kernels::TG_ISA {
namespace {

// This ISA's micro-tile, and MC and NC rounded down to whole tiles, so only the matrix edges make
// partial tiles.
template <typename T>
struct Tiles {
  static constexpr int MR = Micro<T>::MR, NR = Micro<T>::NR;
  static constexpr int64_t KC = BlockSizes<T>::KC, MC = BlockSizes<T>::MC / MR * MR,
                           NC = BlockSizes<T>::NC / NR * NR;
};

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

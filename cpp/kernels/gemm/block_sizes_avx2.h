// Block sizes of the avx2 GEMM: the 6 x 16 float and 6 x 8 double ymm tile. The fields are
// described in tiles.h; docs/kernels.md has the measurements behind them.
#pragma once
#include <cstdint>

namespace tapegrad::kernels::TG_ISA {
namespace {

template <typename T> struct Avx2BlockSizes;

template <> struct Avx2BlockSizes<float> {
  static constexpr int MR = 6;           // 12 of 16 ymm accumulate; 2 hold B's row, 1 A's broadcast
  static constexpr int64_t KC = 256;     // a B and an A micro-panel (16 + 6 KiB) stay in L1
  static constexpr int64_t MC = 120;     // the packed A block (120 KiB) leaves most of L2 to streams
  static constexpr int64_t NC = 3072;    // the packed B panel (3 MiB) lives in L3
  static constexpr int64_t ONE_BLOCK_K = KC, ONE_BLOCK_ROWS = 0;  // no deeper single K block
  static constexpr int64_t WIDE_NC = 0, WIDE_ROWS = 0, WIDE_PANEL_BYTES = 0;  // no wide order
};

template <> struct Avx2BlockSizes<double> {
  static constexpr int MR = 6;           // 12 of 16 ymm accumulate; 2 hold B's row, 1 A's broadcast
  static constexpr int64_t KC = 256;     // a B and an A micro-panel (16 + 12 KiB) stay in L1
  static constexpr int64_t MC = 96;      // the packed A block (192 KiB) stays in L2
  static constexpr int64_t NC = 1536;    // the packed B panel (3 MiB) lives in L3
  static constexpr int64_t ONE_BLOCK_K = KC, ONE_BLOCK_ROWS = 0;  // no deeper single K block
  static constexpr int64_t WIDE_NC = 0, WIDE_ROWS = 0, WIDE_PANEL_BYTES = 0;  // no wide order
};

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

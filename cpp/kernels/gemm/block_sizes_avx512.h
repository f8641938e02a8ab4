// Block sizes of the avx512 GEMM: the 12 x 32 float and 12 x 16 double zmm tile. The fields are
// described in tiles.h; docs/kernels.md has the measurements behind them.
#pragma once
#include <cstdint>

namespace tapegrad::kernels::TG_ISA {
namespace {

template <typename T> struct Avx512BlockSizes;

template <> struct Avx512BlockSizes<float> {
  static constexpr int MR = 12;          // 24 of 32 zmm accumulate; 2 hold B's row, 1 A's broadcast
  static constexpr int64_t KC = 384;     // fewer passes over C; B's micro-panel (48 KiB) fills L1
  static constexpr int64_t MC = 120;     // the packed A block (180 KiB) is a small part of L2
  static constexpr int64_t NC = 3072;    // the packed B panel (4.5 MiB) lives in L3
  static constexpr int64_t ONE_BLOCK_K = 512;     // k in (KC, 512] is one K block: one pass over C
  static constexpr int64_t ONE_BLOCK_ROWS = 512;  // fewer rows need their B panel to stay in L2
  static constexpr int64_t WIDE_NC = 1024;        // the wide order's B panels (1.5 MiB) stay in L2
  static constexpr int64_t WIDE_ROWS = 4096;      // A rows the wide order packs once per K block
  static constexpr int64_t WIDE_PANEL_BYTES = int64_t(4) << 20;  // a usual panel this large spills L2
};

template <> struct Avx512BlockSizes<double> {
  static constexpr int MR = 12;          // 24 of 32 zmm accumulate; 2 hold B's row, 1 A's broadcast
  static constexpr int64_t KC = Avx512BlockSizes<float>::KC;      // B's micro-panel: float's bytes
  static constexpr int64_t MC = Avx512BlockSizes<float>::MC / 2;  // the packed A block: float's bytes
  static constexpr int64_t NC = Avx512BlockSizes<float>::NC / 2;  // the packed B panel: float's bytes
  static constexpr int64_t ONE_BLOCK_K = KC, ONE_BLOCK_ROWS = 0;  // not measured for double
  static constexpr int64_t WIDE_NC = 0, WIDE_ROWS = 0, WIDE_PANEL_BYTES = 0;  // not measured either
};

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

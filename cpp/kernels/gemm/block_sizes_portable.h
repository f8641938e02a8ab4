// Block sizes of the portable GEMM (the scalar reference): the avx2 table's values, for a tile of
// the same shape (6 rows of 64 bytes). The fields are described in tiles.h.
#pragma once
#include <cstdint>

namespace tapegrad::kernels::TG_ISA {
namespace {

template <typename T> struct PortableBlockSizes;

template <> struct PortableBlockSizes<float> {
  static constexpr int MR = 6;           // the avx2 tile's rows
  static constexpr int64_t KC = 256;     // a B and an A micro-panel (16 + 6 KiB) stay in L1
  static constexpr int64_t MC = 120;     // the packed A block (120 KiB) stays in L2
  static constexpr int64_t NC = 3072;    // the packed B panel (3 MiB) lives in L3
  static constexpr int64_t ONE_BLOCK_K = KC, ONE_BLOCK_ROWS = 0;  // no deeper single K block
  static constexpr int64_t WIDE_NC = 0, WIDE_ROWS = 0, WIDE_PANEL_BYTES = 0;  // no wide order
};

template <> struct PortableBlockSizes<double> {
  static constexpr int MR = 6;           // the avx2 tile's rows
  static constexpr int64_t KC = 256;     // a B and an A micro-panel (16 + 12 KiB) stay in L1
  static constexpr int64_t MC = 96;      // the packed A block (192 KiB) stays in L2
  static constexpr int64_t NC = 1536;    // the packed B panel (3 MiB) lives in L3
  static constexpr int64_t ONE_BLOCK_K = KC, ONE_BLOCK_ROWS = 0;  // no deeper single K block
  static constexpr int64_t WIDE_NC = 0, WIDE_ROWS = 0, WIDE_PANEL_BYTES = 0;  // no wide order
};

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

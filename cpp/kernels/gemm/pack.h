// Packing: copies a block of op(A) or op(B) into the micro-kernel's order, contiguous and
// zero-padded to whole micro-panels, so the micro-kernel reads both operands with unit stride.
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/gemm/partition.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

// Packing that needs a transpose (row-major A into MR-row panels, transposed B into NR-column
// panels) is done in registers by the micro-kernel's own packers when it has them; otherwise,
// and for partial panels, by the portable loops below.
template <typename M, typename = void> struct HasPackers : std::false_type {};
template <typename M>
struct HasPackers<M, std::void_t<decltype(&M::pack_rows), decltype(&M::pack_cols)>>
    : std::true_type {};

template <typename T>
bool pack_rows_simd(const T* a, int64_t lda, int64_t kc, T* out) {
  if constexpr (HasPackers<Micro<T>>::value) {
    Micro<T>::pack_rows(a, lda, kc, out);
    return true;
  } else {
    return false;
  }
}

template <typename T>
bool pack_cols_simd(const T* b, int64_t ldb, int64_t kc, T* out) {
  if constexpr (HasPackers<Micro<T>>::value) {
    Micro<T>::pack_cols(b, ldb, kc, out);
    return true;
  } else {
    return false;
  }
}

// Packs rows [ic, ic+mc) x columns [pc, pc+kc) of op(A) into MR-row micro-panels, each stored
// column by column (MR values per k step), zero-padded to a whole MR.
template <typename T, int MR>
void pack_a(bool ta, const T* a, int64_t lda, int64_t ic, int64_t pc, int64_t mc, int64_t kc,
            T* out) {
  const int64_t si = ta ? 1 : lda, sp = ta ? lda : 1;  // strides of A(i, p)
  if (ta) {
    // Transposed A (dW = X^T dY): each k step of the block is a contiguous run of mc values.
    // Read it run by run, dealing MR values to each panel, not panel by panel: a panel's runs
    // are lda apart, and with lda a multiple of 1 KiB they all fall in one L1 set.
    const int64_t full = mc / MR * MR;
    for (int64_t p = 0; p < kc; ++p) {
      const T* src = a + (pc + p) * lda + ic;
      T* dst = out + p * MR;
      for (int64_t ir = 0; ir < full; ir += MR, dst += MR * kc)
        std::memcpy(dst, src + ir, sizeof(T) * MR);
    }
    if (full == mc) return;
    out += full * kc;
    const int64_t mr = mc - full;
    for (int64_t p = 0; p < kc; ++p) {
      const T* src = a + (pc + p) * lda + ic + full;
      T* dst = out + p * MR;
      int64_t i = 0;
      for (; i < mr; ++i) dst[i] = src[i];
      for (; i < MR; ++i) dst[i] = T(0);
    }
    return;
  }
  for (int64_t ir = 0; ir < mc; ir += MR) {
    const int64_t mr = min64(MR, mc - ir);
    const T* base = a + (ic + ir) * si + pc * sp;
    if (sp == 1 && mr == MR && pack_rows_simd(base, si, kc, out)) {
      // done by the micro-kernel's own packer
    } else if (sp == 1) {
      // Rows of A are contiguous along k: read each row in order (the panel being written is
      // small and stays in L1), instead of hopping between MR rows at every k.
      for (int64_t i = 0; i < MR; ++i) {
        const T* src = base + i * si;
        T* dst = out + i;
        if (i < mr) {
          for (int64_t p = 0; p < kc; ++p) dst[p * MR] = src[p];
        } else {
          for (int64_t p = 0; p < kc; ++p) dst[p * MR] = T(0);
        }
      }
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        T* dst = out + p * MR;
        int64_t i = 0;
        for (; i < mr; ++i) dst[i] = base[i * si + p * sp];
        for (; i < MR; ++i) dst[i] = T(0);
      }
    }
    out += MR * kc;
  }
}

// Packs rows [pc, pc+kc) x columns [jc, jc+nc) of op(B) into NR-column micro-panels, each stored
// row by row (NR values per k step), zero-padded to a whole NR.
template <typename T, int NR>
void pack_b(bool tb, const T* b, int64_t ldb, int64_t pc, int64_t jc, int64_t kc, int64_t nc,
            T* out) {
  if (!tb) {
    // Row-major B: copy a few rows at a time across every panel, so B is read row by row. One
    // panel at a time would read one 64-byte piece per row, ldb apart, which the hardware
    // prefetchers do not follow.
    constexpr int64_t kRows = 8;
    for (int64_t p0 = 0; p0 < kc; p0 += kRows) {
      const int64_t rows = min64(kRows, kc - p0);
      for (int64_t jr = 0; jr < nc; jr += NR) {
        const int64_t nr = min64(NR, nc - jr);
        T* dst = out + jr * kc + p0 * NR;  // panel jr / NR starts at jr * kc
        const T* src = b + (pc + p0) * ldb + jc + jr;
        for (int64_t p = 0; p < rows; ++p, dst += NR, src += ldb) {
          if (nr == NR) {
            // A fixed-size copy, which GCC expands into vector moves (an element loop here
            // compiles to scalar copies).
            std::memcpy(dst, src, sizeof(T) * NR);
          } else {
            int64_t j = 0;
            for (; j < nr; ++j) dst[j] = src[j];
            for (; j < NR; ++j) dst[j] = T(0);
          }
        }
      }
    }
    return;
  }
  // Transposed B: each column of op(B) is a contiguous row of B.
  for (int64_t jr = 0; jr < nc; jr += NR) {
    const int64_t nr = min64(NR, nc - jr);
    const T* base = b + pc + (jc + jr) * ldb;
    if (nr == NR && pack_cols_simd(base, ldb, kc, out)) {
      out += NR * kc;
      continue;
    }
    for (int64_t p = 0; p < kc; ++p) {
      T* dst = out + p * NR;
      int64_t j = 0;
      for (; j < nr; ++j) dst[j] = base[p + j * ldb];
      for (; j < NR; ++j) dst[j] = T(0);
    }
    out += NR * kc;
  }
}

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

// BLIS-style blocked GEMM: the five loops and the packing, written once. Each ISA translation
// unit supplies a micro-kernel (TG_MICRO<T>, an MR x NR register tile) before including this.
//
// Block sizes (these are the avx2 tile's; gemm_micro_avx512.h sets its own through TG_BLOCKING)
// for AMD Zen 3/4 (per core: L1d 32 KiB, L2 512 KiB on this Zen 3 VM, 1 MiB on
// Zen 4; L3 32 MiB shared):
//   KC: one packed B micro-panel (KC x NR) plus one A micro-panel (MR x KC) must stay in L1 while
//       the micro-kernel streams them: float 256 x 16 x 4 B = 16 KiB + 6 KiB; double 256 x 8 x 8 B.
//   MC: the packed A block (MC x KC) lives in L2 beside the B panels and C tiles streaming
//       through it: float 120 x 256 x 4 B = 120 KiB, under a quarter of a 512 KiB L2; double
//       96 x 256 x 8 B = 192 KiB. For float, 120 rows ran as fast as 192 at 512^3-2048^3 and
//       2-3% faster at 256x1024x1024 (the deep step's shape) in a same-process A/B of two
//       builds with equal flags, and leaves more of a smaller L2 to the streams.
//   NC: the packed B panel (KC x NC) lives in L3: float 256 x 3072 x 4 B = 3 MiB.
// MC is a multiple of MR and NC of NR, so only the matrix edges make partial tiles.
#pragma once
#include <xmmintrin.h>  // _mm_sfence, baseline x86-64

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

#include "core/allocator.h"
#include "core/spin_wait.h"
#include "core/thread_pool.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

template <typename T> struct Blocking;
template <> struct Blocking<float> {
  static constexpr int64_t KC = 256, MC = 120, NC = 3072, ONE_BLOCK_K = KC, ONE_BLOCK_ROWS = 0;
  static constexpr int64_t WIDE_NC = 0, WIDE_ROWS = 0, WIDE_PANEL_BYTES = 0;  // no wide order
};
template <> struct Blocking<double> {
  static constexpr int64_t KC = 256, MC = 96, NC = 1536, ONE_BLOCK_K = KC, ONE_BLOCK_ROWS = 0;
  static constexpr int64_t WIDE_NC = 0, WIDE_ROWS = 0, WIDE_PANEL_BYTES = 0;
};
#ifndef TG_BLOCKING
#define TG_BLOCKING Blocking
#endif

// The sizes the loops use: this ISA's micro-tile, and MC and NC rounded down to whole tiles.
template <typename T>
struct Tiles {
  static constexpr int MR = TG_MICRO<T>::MR, NR = TG_MICRO<T>::NR;
  static constexpr int64_t KC = TG_BLOCKING<T>::KC, MC = TG_BLOCKING<T>::MC / MR * MR,
                           NC = TG_BLOCKING<T>::NC / NR * NR;
};

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// Packing that needs a transpose (row-major A into MR-row panels, transposed B into NR-column
// panels) is done in registers by the micro-kernel's own packers when it has them; otherwise,
// and for partial panels, by the portable loops below.
template <typename M, typename = void> struct HasPackers : std::false_type {};
template <typename M>
struct HasPackers<M, std::void_t<decltype(&M::pack_rows), decltype(&M::pack_cols)>>
    : std::true_type {};

template <typename T>
bool pack_rows_simd(const T* a, int64_t lda, int64_t kc, T* out) {
  if constexpr (HasPackers<TG_MICRO<T>>::value) {
    TG_MICRO<T>::pack_rows(a, lda, kc, out);
    return true;
  } else {
    return false;
  }
}

template <typename T>
bool pack_cols_simd(const T* b, int64_t ldb, int64_t kc, T* out) {
  if constexpr (HasPackers<TG_MICRO<T>>::value) {
    TG_MICRO<T>::pack_cols(b, ldb, kc, out);
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
    // Read it run by run, dealing MR values to each panel, instead of panel by panel: a panel's
    // runs are lda apart, and with lda a multiple of 1 KiB they all fall in one L1 set, so
    // walking down a panel missed L1 at every k step (1024^3 with A transposed ran at 80% of
    // the untransposed speed on Sapphire Rapids).
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
    // Row-major B: copy a few rows at a time across every panel, so B is read row by row. Filling
    // one panel down all kc rows instead reads one 64-byte piece per row, ldb apart, which the
    // hardware prefetchers do not follow: 3-4x slower when B is not in cache (1.2-1.4 ms against
    // 0.3-0.4 ms per 1024x1024 float B), a quarter of a 256x1024x1024 GEMM.
    constexpr int64_t kRows = 8;
    for (int64_t p0 = 0; p0 < kc; p0 += kRows) {
      const int64_t rows = min64(kRows, kc - p0);
      for (int64_t jr = 0; jr < nc; jr += NR) {
        const int64_t nr = min64(NR, nc - jr);
        T* dst = out + jr * kc + p0 * NR;  // panel jr / NR starts at jr * kc
        const T* src = b + (pc + p0) * ldb + jc + jr;
        for (int64_t p = 0; p < rows; ++p, dst += NR, src += ldb) {
          if (nr == NR) {
            // GCC expands this into vector moves; the element loop it replaces became 16
            // scalar copies: packing B took 5.6% of a 256^3 float GEMM, now 2% (fair A/B of
            // the GEMM: 0.94-0.985x the time at 256^3-1024^3, same bits).
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

// Packing buffers come from the tensor allocator's cache, so a training loop that repeats its
// shapes does not map and fault in fresh pages on every call. Null when memory is exhausted.
template <typename T>
T* take_buffer(int64_t count, size_t* capacity) {
  try {
    return static_cast<T*>(allocator::allocate(static_cast<size_t>(count) * sizeof(T), capacity));
  } catch (...) {
    return nullptr;
  }
}

inline int64_t round_up(int64_t x, int64_t unit) { return (x + unit - 1) / unit * unit; }

// Thread t's share [*lo, *hi) of [0, extent) in whole units: fixed by (t, nt) alone, so each
// element is computed the same way whatever the thread count.
inline void thread_share(int64_t extent, int64_t unit, int t, int nt, int64_t* lo, int64_t* hi) {
  const int64_t units = (extent + unit - 1) / unit;
  *lo = units * t / nt * unit;
  *hi = min64(extent, units * (t + 1) / nt * unit);
}

// From this size the packed B panel does not stay in L2 while the A blocks pass over it, and
// each B micro-panel's first use waits on L3 (at 2048^3, 344 x 2048 floats: 2.75 MiB).
constexpr int64_t kPrefetchPanelBytes = int64_t(1) << 20;

// C block (mc x nc) = alpha * packed A block . packed B panel + beta * C block: the two inner
// loops, B micro-panel outermost so it stays in L1 while the A micro-panels stream from L2.
// With a B panel past kPrefetchPanelBytes, the tiles on micro-panel jr bring micro-panel jr + 1
// (or the first, for the next A block) into L2, each tile a slice of it, one line every 4 k
// steps inside its loop. kernel_ab, avx512 float, 1 thread: 0.935-0.98x the time at 2048^3,
// 0.96-0.98x at 3000^3 (wide order), 0.98-0.99x at 1024^3; same bits. With the panel in L2
// (k = 256 products: 1 MiB) it cost 1.006-1.025x, hence the size rule. The same prefetches
// issued in a burst between the tiles made every shape slower (1.03-1.07x).
template <typename T>
void multiply_block(int64_t kc, int64_t mc, int64_t nc, const T* ap, const T* bp, T* c,
                    int64_t ldc, T alpha, T beta, bool stream_c) {
  using Micro = TG_MICRO<T>;
  constexpr int MR = Micro::MR, NR = Micro::NR;
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
      Micro::template run<true>(kc, ap + ir * kc, nullptr, 0, bp + jr * kc, c + ir * ldc + jr, ldc,
                                alpha, beta, mr, nr, stream_c, b_ahead);
    }
  }
}

// The step that cuts `extent` into equal blocks of at most `max_block`, each a whole number of
// `unit`s (the last may be shorter), instead of full blocks and a short rest. For M (unit: the
// micro-tile's rows) a short last block streams the whole B panel for a few rows: 256 rows go in
// 96 + 96 + 64, not 120 + 120 + 16, 0.991-0.993x the time at 256x1024x1024 (kernel_ab, avx512
// float), same bits. For K (unit 8: the packers take 8 k steps at a time) a short last block's
// pass over C costs as much as a full block's: 0.974x at 256x784x800 (k in 272 + 272 + 256, not
// 384 + 384 + 32), 0.980x at 256x1024x512 (256 + 256, not 384 + 128), 0.991-0.992x at
// 256x1024x1024 (344 + 344 + 336). Depends on the extent alone, never on the thread count.
inline int64_t equal_block_step(int64_t extent, int64_t max_block, int64_t unit) {
  const int64_t blocks = (extent + max_block - 1) / max_block;
  return blocks <= 1 ? max_block : round_up((extent + blocks - 1) / blocks, unit);
}

// Whether the serial nest over an m x n x k product takes the wide order (gemm_nest_wide):
// TG_BLOCKING's WIDE_NC is nonzero, C is wider than it, A spans more than one block (else
// the B panel serves one A block and where it lives matters little), and the usual order's
// packed B panel (a K block by up to NC columns) exceeds WIDE_PANEL_BYTES.
template <typename T, int64_t KC>
bool wide_nest(int64_t m, int64_t n, int64_t k) {
  using B = TG_BLOCKING<T>;
  if (B::WIDE_NC == 0 || n <= B::WIDE_NC || m <= Tiles<T>::MC) return false;
  const int64_t kc = min64(equal_block_step(k, KC, 8), k);
  return kc * min64(n, Tiles<T>::NC) * static_cast<int64_t>(sizeof(T)) > B::WIDE_PANEL_BYTES;
}

// The rows of A the wide order packs at once, for an m-row C (a multiple of MR).
template <typename T>
int64_t wide_rows(int64_t m) {
  constexpr int MR = Tiles<T>::MR;
  return min64(TG_BLOCKING<T>::WIDE_ROWS / MR * MR, round_up(m, MR));
}

// The serial nest for a wide C: K block outermost, A packed once per K block for up to
// WIDE_ROWS rows, then B in panels of WIDE_NC columns, each small enough to stay in L2 while
// every A block passes over it. The usual order (gemm_nest) packs a panel of up to NC columns,
// which spills L2 from about 1500 columns; from WIDE_PANEL_BYTES on, this order measured
// faster (see gemm_micro_avx512.h). Panels of WIDE_NC columns in the usual order would pack
// all of A once per panel instead. Each C element still sums its K blocks in order with the
// same FMA chains: the same bits.
template <typename T, int64_t KC>
void gemm_nest_wide(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                    int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc, T* ap,
                    T* bp, bool stream_c) {
  constexpr int MR = Tiles<T>::MR, NR = Tiles<T>::NR;
  constexpr int64_t MC = Tiles<T>::MC, NC = TG_BLOCKING<T>::WIDE_NC / NR * NR;
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
  using Micro = TG_MICRO<T>;
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
          Micro::template run<false>(kc, nullptr, rows, sp, bp, c + ir * ldc + jc, ldc, alpha,
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

constexpr int kMaxGemmThreads = 64;

// Non-temporal stores for C (stream_c) when it is written once and is larger than L2: one K
// block (k <= KC), beta == 0. Such a C leaves L2 anyway, and a normal store first reads each
// line it writes (write-allocate) and pushes other data out of the caches on the way. Measured
// on the deep step, whose weight gradients (1024 x 1024 float, k = 256) are such products: the
// whole step ran 0.970-0.985x the time on 1 thread, 0.970-1.00x on 2 (interleaved in one
// process; identical sides 0.998-1.002). The product alone, repeated into one C, gains nothing
// (kernel_ab 1.00-1.07x): the gain is in what the rest of the step finds still in cache. The
// tiles need C's rows 64-byte aligned, as the allocator's buffers with whole-64-byte rows are.
constexpr int64_t kStreamCBytes = int64_t(2) << 20;

template <typename T>
bool stream_c_pays(int64_t m, int64_t n, int64_t k, int64_t kc, T beta, const T* c, int64_t ldc) {
  return beta == T(0) && k <= kc &&
         m * n * static_cast<int64_t>(sizeof(T)) >= kStreamCBytes &&
         reinterpret_cast<uintptr_t>(c) % 64 == 0 &&
         (ldc * static_cast<int64_t>(sizeof(T))) % 64 == 0;
}

// A C one micro-tile wide with this many rows per thread or more is cut into fixed halves that
// each read their A in place (gemm_nest), as on one thread; packing A, which the dynamic
// schedule does, would only add a pass over it. Fewer rows take the dynamic schedule.
constexpr int64_t kInPlaceRowsFrom = 512;

// The dynamic schedule of a product on several threads (gemm_dynamic below). Steps follow the
// serial nest: B panels of `nstep` columns, K blocks of `kstep` within each. A step has `packs`
// shares of the operand every thread needs, packed into one of two shared buffers, and `blocks`
// blocks that each pack their own part of the other operand and multiply it:
// - along M (C at least as tall as wide): B panels shared; a block is a range of A's rows;
// - along N (C wider than tall): all of A's rows shared, one panel per K block (nstep = 0); a
//   block is a range of B's columns, multiplied by every A block of `mstep` rows.
// Blocks are cut in whole micro-tiles as thread_share cuts (extent, unit) into `blocks`, and each
// thread has a home range of them, the same in every step (`homes` ranges).
struct DynamicSchedule {
  bool along_n;
  int64_t nstep, kstep, mstep, extent, unit;
  int64_t kblocks, blocks, packs, steps;
  int homes;
  std::unique_ptr<std::atomic<int64_t>[]> counters;
  std::atomic<int64_t>* pack_next = nullptr;    // [step]: next share to claim
  std::atomic<int64_t>* packed = nullptr;       // [step]: shares done
  std::atomic<int64_t>* multiplied = nullptr;   // [step]: blocks done
  std::atomic<int64_t>* block_steps = nullptr;  // [block]: steps it has been multiplied in
  std::atomic<int64_t>* ranges = nullptr;       // [step * homes + home]: unclaimed (front, back)
};

template <typename T>
struct GemmJob {
  bool ta, tb, stream_c;
  int64_t m, n, k;
  T alpha, beta;
  const T* a;
  const T* b;
  T* c;
  int64_t lda, ldb, ldc;
  // Packing buffers, one pair per thread; in the dynamic schedule the operand every thread needs
  // (B along M, A along N) is packed into slots 0 and 1 of its array.
  T* ap[kMaxGemmThreads];
  T* bp[kMaxGemmThreads];
  DynamicSchedule* dynamic;  // set for the dynamic schedule (gemm_dynamic), else null
};

// Several threads: a dynamic schedule instead of fixed shares. Each thread goes through the
// steps in order. In each it claims shares of the shared operand from a counter, then the blocks
// of its home range from the front, then blocks left in the other threads' ranges from the back.
// An item waits only on items already claimed: a share on the blocks of step s - 2, which used
// its buffer last; a block on its step's shares and on the same block's previous step (C
// accumulates the K blocks in order). A thread leaves a step only when all its items are
// claimed, so every wait ends. On a quiet machine each thread multiplies the same rows or
// columns of C in every step, as with fixed shares, and C stays in its cache; when the OS
// deschedules a thread, the others take what is left of its range, and the product waits at
// most for the item it holds. Each C element is computed by the same tiles and K blocks as on
// one thread: the same bits.
namespace dynamic_claim {
// A range word holds the first unclaimed block in its high half and the end in its low half.
inline int64_t word(int64_t front, int64_t back) { return front << 32 | back; }
// Takes a block from the front (owner) or the back (another thread); -1 when the range is empty.
inline int64_t take(std::atomic<int64_t>& range, bool front) {
  int64_t w = range.load(std::memory_order_relaxed);
  for (;;) {
    const int64_t f = w >> 32, b = w & 0xffffffff;
    if (f >= b) return -1;
    const int64_t next = front ? word(f + 1, b) : word(f, b - 1);
    if (range.compare_exchange_weak(w, next, std::memory_order_relaxed)) return front ? f : b - 1;
  }
}
}  // namespace dynamic_claim

template <typename T>
void dynamic_pack_share(const GemmJob<T>& j, const DynamicSchedule& d, int64_t s, int64_t r) {
  constexpr int MR = Tiles<T>::MR, NR = Tiles<T>::NR;
  const int64_t pc = s % d.kblocks * d.kstep, kc = min64(d.kstep, j.k - pc);
  int64_t lo, hi;
  if (d.along_n) {  // A's rows, block ic at ap + ic * kc as pack_a lays it
    thread_share(j.m, MR, static_cast<int>(r), static_cast<int>(d.packs), &lo, &hi);
    if (hi > lo) pack_a<T, MR>(j.ta, j.a, j.lda, lo, pc, hi - lo, kc, j.ap[s & 1] + lo * kc);
  } else {
    const int64_t jc = s / d.kblocks * d.nstep, nc = min64(d.nstep, j.n - jc);
    thread_share(nc, NR, static_cast<int>(r), static_cast<int>(d.packs), &lo, &hi);
    if (hi > lo) pack_b<T, NR>(j.tb, j.b, j.ldb, pc, jc + lo, kc, hi - lo, j.bp[s & 1] + lo * kc);
  }
}

template <typename T>
void dynamic_block(const GemmJob<T>& j, const DynamicSchedule& d, int64_t s, int64_t block, int t) {
  constexpr int MR = Tiles<T>::MR, NR = Tiles<T>::NR;
  const int64_t pc = s % d.kblocks * d.kstep, kc = min64(d.kstep, j.k - pc);
  const T beta_here = pc == 0 ? j.beta : T(1);  // later K blocks accumulate
  int64_t lo, hi;
  thread_share(d.extent, d.unit, static_cast<int>(block), static_cast<int>(d.blocks), &lo, &hi);
  if (hi <= lo) return;
  if (d.along_n) {
    const T* ap = j.ap[s & 1];
    pack_b<T, NR>(j.tb, j.b, j.ldb, pc, lo, kc, hi - lo, j.bp[t]);
    for (int64_t ic = 0; ic < j.m; ic += d.mstep)
      multiply_block(kc, min64(d.mstep, j.m - ic), hi - lo, ap + ic * kc, j.bp[t],
                     j.c + ic * j.ldc + lo, j.ldc, j.alpha, beta_here, j.stream_c);
  } else {
    const int64_t jc = s / d.kblocks * d.nstep, nc = min64(d.nstep, j.n - jc);
    pack_a<T, MR>(j.ta, j.a, j.lda, lo, pc, hi - lo, kc, j.ap[t]);
    multiply_block(kc, hi - lo, nc, j.ap[t], j.bp[s & 1], j.c + lo * j.ldc + jc, j.ldc, j.alpha,
                   beta_here, j.stream_c);
  }
}

// Home `t`'s part of the schedule (a chunk of parallel_chunks; its buffers are slot t's).
template <typename T>
void gemm_dynamic(const GemmJob<T>& j, int t) {
  DynamicSchedule& d = *j.dynamic;
  for (int64_t s = 0; s < d.steps; ++s) {
    for (int64_t r; (r = d.pack_next[s].fetch_add(1, std::memory_order_relaxed)) < d.packs;) {
      if (s >= 2) threads::wait_at_least(d.multiplied[s - 2], d.blocks);
      dynamic_pack_share(j, d, s, r);
      d.packed[s].fetch_add(1, std::memory_order_release);
    }
    for (int i = 0; i < d.homes; ++i) {
      const int home = (t + i) % d.homes;
      for (int64_t block; (block = dynamic_claim::take(d.ranges[s * d.homes + home], i == 0)) >= 0;) {
        threads::wait_at_least(d.packed[s], d.packs);
        threads::wait_at_least(d.block_steps[block], s);
        dynamic_block(j, d, s, block, t);
        d.block_steps[block].fetch_add(1, std::memory_order_release);
        d.multiplied[s].fetch_add(1, std::memory_order_release);
      }
    }
  }
}

// Blocks per thread and step the dynamic schedule aims for: enough that a thread the OS runs
// alone can take over the rest at a fine grain. Blocks are also at most MC rows (along M) or NC
// columns (along N), and a multiple of the thread count, so the home ranges are equal.
constexpr int64_t kDynamicBlocksPerThread = 4;

// Fills `d` (all but its counters) for an m x n x k product on `threads` threads, or returns
// false when the product takes the fixed shares (gemm_part) instead: C one micro-tile wide with
// rows enough for independent halves, each reading its A in place (gemm_nest), which packing
// would only slow. The largest block is what each thread's own buffer must hold.
template <typename T, int64_t KC>
bool plan_dynamic(int64_t m, int64_t n, int64_t k, int threads, DynamicSchedule* d) {
  constexpr int MR = Tiles<T>::MR, NR = Tiles<T>::NR;
  constexpr int64_t MC = Tiles<T>::MC, NC = Tiles<T>::NC;
  if (threads < 2 || (n <= NR && m / threads >= kInPlaceRowsFrom)) return false;
  d->homes = threads;
  d->kstep = equal_block_step(k, KC, 8);
  d->kblocks = (k + d->kstep - 1) / d->kstep;
  d->mstep = equal_block_step(m, MC, MR);
  const int64_t want = kDynamicBlocksPerThread * threads;
  d->along_n = m < n && (m + d->mstep - 1) / d->mstep < want;
  int64_t panels = 1, most_per_block;
  if (d->along_n) {
    d->nstep = 0;
    d->extent = n;
    d->unit = NR;
    most_per_block = NC / NR;
    d->packs = min64(2 * threads, (m + MR - 1) / MR);
  } else {
    d->nstep = NC;
    d->extent = m;
    d->unit = MR;
    most_per_block = MC / MR;
    d->packs = min64(2 * threads, (min64(n, NC) + NR - 1) / NR);
    panels = (n + NC - 1) / NC;
  }
  const int64_t units = (d->extent + d->unit - 1) / d->unit;
  d->blocks = round_up(std::max(want, (units + most_per_block - 1) / most_per_block), threads);
  d->steps = panels * d->kblocks;
  return true;
}

// The largest block's rows (along M) or columns (along N).
inline int64_t dynamic_block_extent(const DynamicSchedule& d) {
  const int64_t units = (d.extent + d.unit - 1) / d.unit;
  return (units + d.blocks - 1) / d.blocks * d.unit;
}

// The schedule's counters, set to their start; false when there is no memory for them.
inline bool allocate_counters(DynamicSchedule* d) {
  const int64_t per_step = 3 + d->homes;
  d->counters.reset(new (std::nothrow) std::atomic<int64_t>[per_step * d->steps + d->blocks]());
  if (!d->counters) return false;
  d->pack_next = d->counters.get();
  d->packed = d->pack_next + d->steps;
  d->multiplied = d->packed + d->steps;
  d->block_steps = d->multiplied + d->steps;
  d->ranges = d->block_steps + d->blocks;
  for (int64_t s = 0; s < d->steps; ++s)
    for (int h = 0; h < d->homes; ++h)
      d->ranges[s * d->homes + h].store(
          dynamic_claim::word(d->blocks * h / d->homes, d->blocks * (h + 1) / d->homes),
          std::memory_order_relaxed);
  return true;
}

// Thread t's fixed part of C: all of it on one thread; else whole micro-tiles of rows, each an
// independent product with its own buffers (a C one micro-tile wide, whose A each part reads in
// place).
template <typename T, int64_t KC>
void gemm_part(const GemmJob<T>& j, int t, int nt) {
  if (nt == 1) {
    gemm_nest<T, KC>(j.ta, j.tb, j.m, j.n, j.k, j.alpha, j.a, j.lda, j.b, j.ldb, j.beta, j.c,
                     j.ldc, j.ap[0], j.bp[0], j.stream_c);
    return;
  }
  int64_t lo, hi;
  thread_share(j.m, Tiles<T>::MR, t, nt, &lo, &hi);
  if (hi > lo)
    gemm_nest<T, KC>(j.ta, j.tb, hi - lo, j.n, j.k, j.alpha, j.a + (j.ta ? lo : lo * j.lda),
                     j.lda, j.b, j.ldb, j.beta, j.c + lo * j.ldc, j.ldc, j.ap[t], j.bp[t],
                     j.stream_c);
}

template <typename T, int64_t KC>
void gemm_slice(void* ctx, int t, int nt) {
  const GemmJob<T>& j = *static_cast<const GemmJob<T>*>(ctx);
  if (j.dynamic) {
    gemm_dynamic<T>(j, t);  // t: a chunk of parallel_chunks, one per thread
  } else {
    gemm_part<T, KC>(j, t, nt);
  }
  // Non-temporal stores are weakly ordered: the release that ends this thread's part of the job
  // does not order them. The fence makes them visible before whoever reads C next.
  if (j.stream_c) _mm_sfence();
}

// C = alpha * op(A) op(B) + beta * C over all of C, on `threads` threads, K blocks of KC.
// Returns false, having touched nothing, when the packing buffers cannot be allocated.
template <typename T, int64_t KC>
bool gemm_blocked_kc(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                     int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc, int threads) {
  using Micro = TG_MICRO<T>;
  constexpr int64_t MC = Tiles<T>::MC, NC = Tiles<T>::NC;
  if (threads > kMaxGemmThreads) threads = kMaxGemmThreads;
  if (threads < 1) threads = 1;
  DynamicSchedule schedule;
  const bool dynamic = plan_dynamic<T, KC>(m, n, k, threads, &schedule);
  const bool stream_c = stream_c_pays(m, n, k, KC, beta, c, ldc);
  GemmJob<T> job{ta, tb, stream_c, m, n, k, alpha, beta, a, b, c, lda, ldb, ldc, {}, {},
                 dynamic ? &schedule : nullptr};
  // Sized for the whole problem, clipped to the blocks: every share fits.
  const int64_t kc = min64(KC, k);
  // A thread's share of C is no larger than C, so if it takes the wide order, C would too.
  int64_t a_count =
      (wide_nest<T, KC>(m, n, k) ? wide_rows<T>(m) : min64(MC, round_up(m, Micro::MR))) * kc;
  int64_t b_count = min64(NC, round_up(n, Micro::NR)) * kc;
  int a_buffers = threads, b_buffers = threads;
  if (dynamic && schedule.along_n) {
    a_count = round_up(m, Micro::MR) * kc;  // all of A's rows, double-buffered
    a_buffers = 2;
    b_count = dynamic_block_extent(schedule) * kc;
  } else if (dynamic) {
    a_count = dynamic_block_extent(schedule) * kc;
    b_buffers = 2;  // one B panel shared by every thread, double-buffered
  }
  size_t a_cap[kMaxGemmThreads] = {}, b_cap[kMaxGemmThreads] = {};
  bool ok = !dynamic || allocate_counters(&schedule);
  for (int t = 0; t < threads && ok; ++t) {
    if (t < a_buffers) ok = (job.ap[t] = take_buffer<T>(a_count, &a_cap[t])) != nullptr;
    if (ok && t < b_buffers) ok = (job.bp[t] = take_buffer<T>(b_count, &b_cap[t])) != nullptr;
  }
  if (ok && dynamic) threads::parallel_chunks(&gemm_slice<T, KC>, &job, threads, threads);
  else if (ok) threads::parallel_run(&gemm_slice<T, KC>, &job, threads);
  for (int t = 0; t < threads; ++t) {
    allocator::release(job.ap[t], a_cap[t]);
    allocator::release(job.bp[t], b_cap[t]);
  }
  return ok;
}

// The K block: TG_BLOCKING's KC, except that a k a little past it (up to ONE_BLOCK_K) is one
// block when C has ONE_BLOCK_ROWS rows or more: one pass over C instead of two. With few rows
// the packed B panel (k x n) serves few A blocks and must stay in L2, which the deeper block
// breaks. The choice depends on the shape alone, never on the thread count, so results stay
// bitwise equal for any count. Each K block size is a compile-time constant of its own copy of
// the loops.
template <typename T>
bool gemm_blocked(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                  int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc, int threads) {
  constexpr int64_t KC = Tiles<T>::KC, ONE_BLOCK_K = TG_BLOCKING<T>::ONE_BLOCK_K;
  if constexpr (ONE_BLOCK_K > KC) {
    if (k > KC && k <= ONE_BLOCK_K && m >= TG_BLOCKING<T>::ONE_BLOCK_ROWS)
      return gemm_blocked_kc<T, ONE_BLOCK_K>(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                                             threads);
  }
  return gemm_blocked_kc<T, KC>(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads);
}

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

// The SIMD tiles' packers: full panels transposed in registers (AVX2 instructions, so both the
// avx2 and the avx512 tile use them). Partial panels go through the portable loops (pack.h).
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace tapegrad::kernels::TG_ISA {
namespace {

// Packs a full 6-row panel of row-major float A (rows `lda` apart, contiguous along k) into
// the micro-kernel's order, 6 values per k step: four k steps at a time, a 4x4 transpose in
// registers for rows 0-3 and an interleave for rows 4-5, instead of 24 scalar stores.
inline void pack_rows6(const float* a, int64_t lda, int64_t kc, float* out) {
  const float* r[6] = {a, a + lda, a + 2 * lda, a + 3 * lda, a + 4 * lda, a + 5 * lda};
  int64_t p = 0;
  for (; p + 4 <= kc; p += 4) {
    __m128 x0 = _mm_loadu_ps(r[0] + p), x1 = _mm_loadu_ps(r[1] + p);
    __m128 x2 = _mm_loadu_ps(r[2] + p), x3 = _mm_loadu_ps(r[3] + p);
    const __m128 x4 = _mm_loadu_ps(r[4] + p), x5 = _mm_loadu_ps(r[5] + p);
    _MM_TRANSPOSE4_PS(x0, x1, x2, x3);  // x_q = rows 0-3 at k step p + q
    const __m128 lo = _mm_unpacklo_ps(x4, x5), hi = _mm_unpackhi_ps(x4, x5);
    float* d = out + p * 6;
    _mm_storeu_ps(d, x0);
    _mm_storel_pi(reinterpret_cast<__m64*>(d + 4), lo);
    _mm_storeu_ps(d + 6, x1);
    _mm_storeh_pi(reinterpret_cast<__m64*>(d + 10), lo);
    _mm_storeu_ps(d + 12, x2);
    _mm_storel_pi(reinterpret_cast<__m64*>(d + 16), hi);
    _mm_storeu_ps(d + 18, x3);
    _mm_storeh_pi(reinterpret_cast<__m64*>(d + 22), hi);
  }
  for (; p < kc; ++p)
    for (int i = 0; i < 6; ++i) out[p * 6 + i] = r[i][p];
}

// The same for double: 4x4 transposes of 256-bit rows.
inline void pack_rows6(const double* a, int64_t lda, int64_t kc, double* out) {
  const double* r[6] = {a, a + lda, a + 2 * lda, a + 3 * lda, a + 4 * lda, a + 5 * lda};
  int64_t p = 0;
  for (; p + 4 <= kc; p += 4) {
    const __m256d x0 = _mm256_loadu_pd(r[0] + p), x1 = _mm256_loadu_pd(r[1] + p);
    const __m256d x2 = _mm256_loadu_pd(r[2] + p), x3 = _mm256_loadu_pd(r[3] + p);
    const __m256d x4 = _mm256_loadu_pd(r[4] + p), x5 = _mm256_loadu_pd(r[5] + p);
    const __m256d t0 = _mm256_unpacklo_pd(x0, x1), t1 = _mm256_unpackhi_pd(x0, x1);
    const __m256d t2 = _mm256_unpacklo_pd(x2, x3), t3 = _mm256_unpackhi_pd(x2, x3);
    const __m256d u0 = _mm256_unpacklo_pd(x4, x5), u1 = _mm256_unpackhi_pd(x4, x5);
    double* d = out + p * 6;
    _mm256_storeu_pd(d, _mm256_permute2f128_pd(t0, t2, 0x20));
    _mm_storeu_pd(d + 4, _mm256_castpd256_pd128(u0));
    _mm256_storeu_pd(d + 6, _mm256_permute2f128_pd(t1, t3, 0x20));
    _mm_storeu_pd(d + 10, _mm256_castpd256_pd128(u1));
    _mm256_storeu_pd(d + 12, _mm256_permute2f128_pd(t0, t2, 0x31));
    _mm_storeu_pd(d + 16, _mm256_extractf128_pd(u0, 1));
    _mm256_storeu_pd(d + 18, _mm256_permute2f128_pd(t1, t3, 0x31));
    _mm_storeu_pd(d + 22, _mm256_extractf128_pd(u1, 1));
  }
  for (; p < kc; ++p)
    for (int i = 0; i < 6; ++i) out[p * 6 + i] = r[i][p];
}

// out[q * stride + i] = src[i][p + q] for i, q < 8: one 8x8 transpose in registers.
inline void transpose8x8_store(const float* const* src, int64_t p, float* out, int stride) {
  const __m256 r0 = _mm256_loadu_ps(src[0] + p), r1 = _mm256_loadu_ps(src[1] + p);
  const __m256 r2 = _mm256_loadu_ps(src[2] + p), r3 = _mm256_loadu_ps(src[3] + p);
  const __m256 r4 = _mm256_loadu_ps(src[4] + p), r5 = _mm256_loadu_ps(src[5] + p);
  const __m256 r6 = _mm256_loadu_ps(src[6] + p), r7 = _mm256_loadu_ps(src[7] + p);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  // s_q holds k steps q and q+4 of columns 0-3 (low half) or 4-7 (high half) of this block.
  _mm256_storeu_ps(out + 0 * stride, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(out + 1 * stride, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(out + 2 * stride, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(out + 3 * stride, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(out + 4 * stride, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(out + 5 * stride, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(out + 6 * stride, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_storeu_ps(out + 7 * stride, _mm256_permute2f128_ps(s3, s7, 0x31));
}

// S k steps (p to p + S - 1) of R rows r[i], interleaved into out (R values per k step): an 8x8
// register transpose per 8 rows and 8 steps, a 4x4 one per last 4 rows and 4 steps, element
// copies for any last 1-3 rows.
template <int R, int S>
inline void interleave_steps(const float* const* r, int64_t p, float* out) {
  int g = 0;
  for (; g + 8 <= R; g += 8)
    for (int h = 0; h < S; h += 8) transpose8x8_store(r + g, p + h, out + (p + h) * R + g, R);
  if (g + 4 <= R) {
    for (int h = 0; h < S; h += 4) {
      __m128 x0 = _mm_loadu_ps(r[g] + p + h), x1 = _mm_loadu_ps(r[g + 1] + p + h);
      __m128 x2 = _mm_loadu_ps(r[g + 2] + p + h), x3 = _mm_loadu_ps(r[g + 3] + p + h);
      _MM_TRANSPOSE4_PS(x0, x1, x2, x3);
      float* d = out + (p + h) * R + g;
      _mm_storeu_ps(d, x0);
      _mm_storeu_ps(d + R, x1);
      _mm_storeu_ps(d + 2 * R, x2);
      _mm_storeu_ps(d + 3 * R, x3);
    }
    g += 4;
  }
  for (; g < R; ++g)
    for (int q = 0; q < S; ++q) out[(p + q) * R + g] = r[g][p + q];
}

// The same for double: S k steps of R rows, a 4x4 transpose of 256-bit rows per 4 rows and 4
// steps, element copies for any last 1-3 rows.
template <int R, int S>
inline void interleave_steps(const double* const* r, int64_t p, double* out) {
  int g = 0;
  for (; g + 4 <= R; g += 4) {
    for (int h = 0; h < S; h += 4) {
      const int64_t q = p + h;
      const __m256d x0 = _mm256_loadu_pd(r[g] + q), x1 = _mm256_loadu_pd(r[g + 1] + q);
      const __m256d x2 = _mm256_loadu_pd(r[g + 2] + q), x3 = _mm256_loadu_pd(r[g + 3] + q);
      const __m256d t0 = _mm256_unpacklo_pd(x0, x1), t1 = _mm256_unpackhi_pd(x0, x1);
      const __m256d t2 = _mm256_unpacklo_pd(x2, x3), t3 = _mm256_unpackhi_pd(x2, x3);
      double* d = out + q * R + g;
      _mm256_storeu_pd(d, _mm256_permute2f128_pd(t0, t2, 0x20));
      _mm256_storeu_pd(d + R, _mm256_permute2f128_pd(t1, t3, 0x20));
      _mm256_storeu_pd(d + 2 * R, _mm256_permute2f128_pd(t0, t2, 0x31));
      _mm256_storeu_pd(d + 3 * R, _mm256_permute2f128_pd(t1, t3, 0x31));
    }
  }
  for (; g < R; ++g)
    for (int q = 0; q < S; ++q) out[(p + q) * R + g] = r[g][p + q];
}

// out[p * R + i] = src_i[p] for the R rows src_i = src + i * ld (p < kc): R rows interleaved,
// R values per k step. It packs a full panel of either operand whose packed order runs across
// its stored rows: an NR-column panel of transposed B (column j of op(B) is row j of B) or, for
// the avx512 tile, an MR-row panel of row-major A.
// A whole 64-byte line of each row at a time (16 float or 8 double k steps), then half a line,
// then single steps, so each line is read whole while it is in L1: rows ld apart share L1 sets
// when ld is a multiple of 1 KiB, and a line read in two halves is often evicted in between.
template <int R, typename T>
void pack_interleaved(const T* src, int64_t ld, int64_t kc, T* out) {
  constexpr int kLine = 64 / static_cast<int>(sizeof(T)), kHalf = kLine / 2;
  const T* r[R];
  for (int i = 0; i < R; ++i) r[i] = src + i * ld;
  int64_t p = 0;
  for (; p + kLine <= kc; p += kLine) interleave_steps<R, kLine>(r, p, out);
  for (; p + kHalf <= kc; p += kHalf) interleave_steps<R, kHalf>(r, p, out);
  for (; p < kc; ++p)
    for (int i = 0; i < R; ++i) out[p * R + i] = r[i][p];
}

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

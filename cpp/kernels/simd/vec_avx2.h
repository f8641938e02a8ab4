// The AVX2 vector types: 256-bit registers (ymm) for float (8 lanes) and double (4 lanes), with
// the members the generic SIMD kernels use (SimdMicro, SimdGemv, SimdFewColumns).
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace tapegrad::kernels::TG_ISA {
namespace {

template <typename T> struct Avx2Vec;

template <>
struct Avx2Vec<float> {
  using V = __m256;
  static constexpr int W = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static V load_aligned(const float* p) { return _mm256_load_ps(p); }
  static V bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static void store_aligned(float* p, V v) { _mm256_store_ps(p, v); }
  static void stream(float* p, V v) { _mm256_stream_ps(p, v); }  // p 32-byte aligned

  // vec_math.h's members: arithmetic, compares to lane masks, selects, the lanes' bit patterns.
  using T = float;
  using I = __m256i;
  using M = __m256;  // all-ones lanes where true
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static M lt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static M gt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static M ge(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
  static M eq(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
  static M isnan(V a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
  static M mor(M a, M b) { return _mm256_or_ps(a, b); }
  static bool any(M m) { return _mm256_movemask_ps(m) != 0; }
  static bool all(M m) { return _mm256_movemask_ps(m) == 0xff; }
  static V select(M m, V a, V b) { return _mm256_blendv_ps(b, a, m); }
  static I bits(V v) { return _mm256_castps_si256(v); }
  static V from_bits(I i) { return _mm256_castsi256_ps(i); }
  static I iset1(uint32_t u) { return _mm256_set1_epi32(static_cast<int>(u)); }
  static I iadd(I a, I b) { return _mm256_add_epi32(a, b); }
  static I isub(I a, I b) { return _mm256_sub_epi32(a, b); }
  static I iand(I a, I b) { return _mm256_and_si256(a, b); }
  static I ior(I a, I b) { return _mm256_or_si256(a, b); }
  static I ixor(I a, I b) { return _mm256_xor_si256(a, b); }
  template <int k> static I shl(I a) { return _mm256_slli_epi32(a, k); }
  template <int k> static I shr(I a) { return _mm256_srli_epi32(a, k); }
  static M ieq(I a, I b) { return _mm256_castsi256_ps(_mm256_cmpeq_epi32(a, b)); }
  static float hsum(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
  }
  // The four sums of a, b, c, d at once (horizontal adds share their shuffles).
  static void hsum4(V a, V b, V c, V d, float* out) {
    const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
  }
  // dst[j * ldd + i] = src[i * lds + j] for i < 8, j < cols <= 8, in registers (columns past
  // `cols` are neither read nor written).
  static void transpose_tile(const float* src, int64_t lds, float* dst, int64_t ldd, int cols) {
    __m256 r[8], t[8];
    if (cols == 8) {
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * lds);
    } else {
      const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
      const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols), lane);
      for (int i = 0; i < 8; ++i) r[i] = _mm256_maskload_ps(src + i * lds, mask);
    }
    for (int i = 0; i < 8; i += 2) {  // pairs of rows interleaved: (r0[0], r1[0], r0[1], r1[1]) ...
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int h = 0; h < 8; h += 4) {  // four rows' worth of each column in each 128-bit half
      r[h] = _mm256_shuffle_ps(t[h], t[h + 2], 0x44);
      r[h + 1] = _mm256_shuffle_ps(t[h], t[h + 2], 0xEE);
      r[h + 2] = _mm256_shuffle_ps(t[h + 1], t[h + 3], 0x44);
      r[h + 3] = _mm256_shuffle_ps(t[h + 1], t[h + 3], 0xEE);
    }
    for (int j = 0; j < 4; ++j) {  // rows 0-3 from the low halves, rows 4-7 from the high ones
      t[j] = _mm256_permute2f128_ps(r[j], r[j + 4], 0x20);
      t[j + 4] = _mm256_permute2f128_ps(r[j], r[j + 4], 0x31);
    }
    for (int j = 0; j < cols; ++j) _mm256_storeu_ps(dst + j * ldd, t[j]);
  }
};

template <>
struct Avx2Vec<double> {
  using V = __m256d;
  static constexpr int W = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V set1(double x) { return _mm256_set1_pd(x); }
  static V load(const double* p) { return _mm256_loadu_pd(p); }
  static V load_aligned(const double* p) { return _mm256_load_pd(p); }
  static V bcast(const double* p) { return _mm256_broadcast_sd(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  static void store_aligned(double* p, V v) { _mm256_store_pd(p, v); }
  static void stream(double* p, V v) { _mm256_stream_pd(p, v); }  // p 32-byte aligned

  // vec_math.h's members (see Avx2Vec<float>), and float32 loads and stores widened to double.
  using T = double;
  using I = __m256i;
  using M = __m256d;
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static V sub(V a, V b) { return _mm256_sub_pd(a, b); }
  static V div(V a, V b) { return _mm256_div_pd(a, b); }
  static M lt(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_LT_OQ); }
  static M gt(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_GT_OQ); }
  static M ge(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_GE_OQ); }
  static M eq(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_EQ_OQ); }
  static M isnan(V a) { return _mm256_cmp_pd(a, a, _CMP_UNORD_Q); }
  static M mor(M a, M b) { return _mm256_or_pd(a, b); }
  static bool any(M m) { return _mm256_movemask_pd(m) != 0; }
  static bool all(M m) { return _mm256_movemask_pd(m) == 0xf; }
  static V select(M m, V a, V b) { return _mm256_blendv_pd(b, a, m); }
  static I bits(V v) { return _mm256_castpd_si256(v); }
  static V from_bits(I i) { return _mm256_castsi256_pd(i); }
  static I iset1(uint64_t u) { return _mm256_set1_epi64x(static_cast<long long>(u)); }
  static I iadd(I a, I b) { return _mm256_add_epi64(a, b); }
  static I isub(I a, I b) { return _mm256_sub_epi64(a, b); }
  static I iand(I a, I b) { return _mm256_and_si256(a, b); }
  static I ior(I a, I b) { return _mm256_or_si256(a, b); }
  static I ixor(I a, I b) { return _mm256_xor_si256(a, b); }
  template <int k> static I shl(I a) { return _mm256_slli_epi64(a, k); }
  template <int k> static I shr(I a) { return _mm256_srli_epi64(a, k); }
  static M ieq(I a, I b) { return _mm256_castsi256_pd(_mm256_cmpeq_epi64(a, b)); }
  static V load_f32(const float* p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }
  static void store_f32(float* p, V v) { _mm_storeu_ps(p, _mm256_cvtpd_ps(v)); }
  static double hsum(V v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  }
  static void hsum4(V a, V b, V c, V d, double* out) {
    const __m256d ab = _mm256_hadd_pd(a, b), cd = _mm256_hadd_pd(c, d);
    _mm_storeu_pd(out, _mm_add_pd(_mm256_castpd256_pd128(ab), _mm256_extractf128_pd(ab, 1)));
    _mm_storeu_pd(out + 2, _mm_add_pd(_mm256_castpd256_pd128(cd), _mm256_extractf128_pd(cd, 1)));
  }
  // dst[j * ldd + i] = src[i * lds + j] for i < 4, j < cols <= 4, in registers.
  static void transpose_tile(const double* src, int64_t lds, double* dst, int64_t ldd, int cols) {
    __m256d r[4];
    if (cols == 4) {
      for (int i = 0; i < 4; ++i) r[i] = _mm256_loadu_pd(src + i * lds);
    } else {
      const __m256i mask = _mm256_cmpgt_epi64(_mm256_set1_epi64x(cols), _mm256_setr_epi64x(0, 1, 2, 3));
      for (int i = 0; i < 4; ++i) r[i] = _mm256_maskload_pd(src + i * lds, mask);
    }
    const __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
    const __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    const __m256d out[4] = {_mm256_permute2f128_pd(t0, t2, 0x20), _mm256_permute2f128_pd(t1, t3, 0x20),
                            _mm256_permute2f128_pd(t0, t2, 0x31), _mm256_permute2f128_pd(t1, t3, 0x31)};
    for (int j = 0; j < cols; ++j) _mm256_storeu_pd(dst + j * ldd, out[j]);
  }
};

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

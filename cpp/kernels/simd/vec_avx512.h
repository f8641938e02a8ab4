// The AVX-512 vector types: 512-bit registers (zmm) for float (16 lanes) and double (8 lanes),
// with the members of Avx2Vec that the generic SIMD kernels use.
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "kernels/simd/vec_avx2.h"

namespace tapegrad::kernels::TG_ISA {
namespace {

template <typename T> struct Avx512Vec;

template <>
struct Avx512Vec<float> {
  using V = __m512;
  static constexpr int W = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static V load_aligned(const float* p) { return _mm512_load_ps(p); }
  static V bcast(const float* p) { return _mm512_set1_ps(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static void store_aligned(float* p, V v) { _mm512_store_ps(p, v); }
  static void stream(float* p, V v) { _mm512_stream_ps(p, v); }  // p 64-byte aligned

  // vec_math.h's members (see Avx2Vec<float>); masks are k-registers.
  using T = float;
  using I = __m512i;
  using M = __mmask16;
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static M lt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static M gt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static M ge(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static M eq(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
  static M isnan(V a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
  static M mor(M a, M b) { return static_cast<M>(a | b); }
  static bool any(M m) { return m != 0; }
  static bool all(M m) { return m == static_cast<M>(~0u); }
  static V select(M m, V a, V b) { return _mm512_mask_blend_ps(m, b, a); }
  static I bits(V v) { return _mm512_castps_si512(v); }
  static V from_bits(I i) { return _mm512_castsi512_ps(i); }
  static I iset1(uint32_t u) { return _mm512_set1_epi32(static_cast<int>(u)); }
  static I iadd(I a, I b) { return _mm512_add_epi32(a, b); }
  static I isub(I a, I b) { return _mm512_sub_epi32(a, b); }
  static I iand(I a, I b) { return _mm512_and_si512(a, b); }
  static I ior(I a, I b) { return _mm512_or_si512(a, b); }
  static I ixor(I a, I b) { return _mm512_xor_si512(a, b); }
  template <int k> static I shl(I a) { return _mm512_slli_epi32(a, k); }
  template <int k> static I shr(I a) { return _mm512_srli_epi32(a, k); }
  static M ieq(I a, I b) { return _mm512_cmpeq_epi32_mask(a, b); }
  // out[0..3] = the sums of a, b, c, d: each folded to 8 lanes, then Avx2Vec's sum.
  static void hsum4(V a, V b, V c, V d, float* out) {
    Avx2Vec<float>::hsum4(fold(a), fold(b), fold(c), fold(d), out);
  }
  static __m256 fold(V a) {
    return _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
  }
};

template <>
struct Avx512Vec<double> {
  using V = __m512d;
  static constexpr int W = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V set1(double x) { return _mm512_set1_pd(x); }
  static V load(const double* p) { return _mm512_loadu_pd(p); }
  static V load_aligned(const double* p) { return _mm512_load_pd(p); }
  static V bcast(const double* p) { return _mm512_set1_pd(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static void store(double* p, V v) { _mm512_storeu_pd(p, v); }
  static void store_aligned(double* p, V v) { _mm512_store_pd(p, v); }
  static void stream(double* p, V v) { _mm512_stream_pd(p, v); }  // p 64-byte aligned

  // vec_math.h's members (see Avx2Vec<double>).
  using T = double;
  using I = __m512i;
  using M = __mmask8;
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static V sub(V a, V b) { return _mm512_sub_pd(a, b); }
  static V div(V a, V b) { return _mm512_div_pd(a, b); }
  static M lt(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
  static M gt(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
  static M ge(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_GE_OQ); }
  static M eq(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ); }
  static M isnan(V a) { return _mm512_cmp_pd_mask(a, a, _CMP_UNORD_Q); }
  static M mor(M a, M b) { return static_cast<M>(a | b); }
  static bool any(M m) { return m != 0; }
  static bool all(M m) { return m == static_cast<M>(~0u); }
  static V select(M m, V a, V b) { return _mm512_mask_blend_pd(m, b, a); }
  static I bits(V v) { return _mm512_castpd_si512(v); }
  static V from_bits(I i) { return _mm512_castsi512_pd(i); }
  static I iset1(uint64_t u) { return _mm512_set1_epi64(static_cast<long long>(u)); }
  static I iadd(I a, I b) { return _mm512_add_epi64(a, b); }
  static I isub(I a, I b) { return _mm512_sub_epi64(a, b); }
  static I iand(I a, I b) { return _mm512_and_si512(a, b); }
  static I ior(I a, I b) { return _mm512_or_si512(a, b); }
  static I ixor(I a, I b) { return _mm512_xor_si512(a, b); }
  template <int k> static I shl(I a) { return _mm512_slli_epi64(a, k); }
  template <int k> static I shr(I a) { return _mm512_srli_epi64(a, k); }
  static M ieq(I a, I b) { return _mm512_cmpeq_epi64_mask(a, b); }
  static V load_f32(const float* p) { return _mm512_cvtps_pd(_mm256_loadu_ps(p)); }
  static void store_f32(float* p, V v) { _mm256_storeu_ps(p, _mm512_cvtpd_ps(v)); }
  static void hsum4(V a, V b, V c, V d, double* out) {
    Avx2Vec<double>::hsum4(fold(a), fold(b), fold(c), fold(d), out);
  }
  static __m256d fold(V a) {
    return _mm256_add_pd(_mm512_castpd512_pd256(a), _mm512_extractf64x4_pd(a, 1));
  }
};

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

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
  static void hsum4(V a, V b, V c, V d, double* out) {
    Avx2Vec<double>::hsum4(fold(a), fold(b), fold(c), fold(d), out);
  }
  static __m256d fold(V a) {
    return _mm256_add_pd(_mm512_castpd512_pd256(a), _mm512_extractf64x4_pd(a, 1));
  }
};

}  // namespace
}  // namespace tapegrad::kernels::TG_ISA

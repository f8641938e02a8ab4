// The one-lane "vector" type: the members of Avx2Vec / Avx512Vec that vec_math.h uses, on plain
// float or double. vec_math.h's functions instantiated on it are the scalar references, the same
// IEEE operations in the same order as the SIMD lanes (every product feeding a sum is an explicit
// std::fma), so every instruction set gives the same bits.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace tapegrad::kernels {
namespace {

template <typename Float, typename Bits>
struct ScalarVecBase {
  using T = Float;
  using V = Float;
  using I = Bits;  // the lane's bit pattern, unsigned so shifts and wrap-around are defined
  using M = bool;
  static constexpr int W = 1;

  static V set1(T x) { return x; }
  static V load(const T* p) { return *p; }
  static void store(T* p, V v) { *p = v; }
  static V add(V a, V b) { return a + b; }
  static V sub(V a, V b) { return a - b; }
  static V mul(V a, V b) { return a * b; }
  static V div(V a, V b) { return a / b; }
  static V fma(V a, V b, V c) { return std::fma(a, b, c); }

  static M lt(V a, V b) { return a < b; }
  static M gt(V a, V b) { return a > b; }
  static M ge(V a, V b) { return a >= b; }
  static M eq(V a, V b) { return a == b; }
  static M isnan(V a) { return a != a; }
  static M mor(M a, M b) { return a || b; }
  static bool any(M m) { return m; }
  static bool all(M m) { return m; }
  static V select(M m, V a, V b) { return m ? a : b; }

  static I bits(V v) {
    I i;
    std::memcpy(&i, &v, sizeof i);
    return i;
  }
  static V from_bits(I i) {
    V v;
    std::memcpy(&v, &i, sizeof v);
    return v;
  }
  static I iset1(I u) { return u; }
  static I iadd(I a, I b) { return I(a + b); }
  static I isub(I a, I b) { return I(a - b); }
  static I iand(I a, I b) { return I(a & b); }
  static I ior(I a, I b) { return I(a | b); }
  static I ixor(I a, I b) { return I(a ^ b); }
  template <int k> static I shl(I a) { return I(a << k); }
  template <int k> static I shr(I a) { return I(a >> k); }
  static M ieq(I a, I b) { return a == b; }
};

template <typename T> struct ScalarVec;
template <> struct ScalarVec<float> : ScalarVecBase<float, uint32_t> {};
template <> struct ScalarVec<double> : ScalarVecBase<double, uint64_t> {
  // float32 kernels computed in double lanes (sin, cos) load and store float.
  static V load_f32(const float* p) { return static_cast<double>(*p); }
  static void store_f32(float* p, V v) { *p = static_cast<float>(v); }
};

}  // namespace
}  // namespace tapegrad::kernels

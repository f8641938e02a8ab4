// Polynomial vector math, written once over a vector type O (ScalarVec, Avx2Vec, Avx512Vec):
// float32 exp, expm1, log, log1p, tanh, sigmoid, sin, cos; float64 exp and log.
//
// Invariant: every function is a fixed sequence of IEEE operations (add, sub, mul, div, fma,
// compares, selects, integer bit operations), with every product that feeds a sum written as an
// explicit fma, so O = ScalarVec (the scalar reference) and every SIMD lane give identical bits.
// Translation units compiling this code either cannot contract (no FMA in their flags) or turn
// contraction off (-ffp-contract=off, CMakeLists.txt).
//
// Methods:
//   exp:   n = round(x / ln2) by the shifter trick, r = x - n ln2 (Cody-Waite, ln2 in two parts;
//          the first fma is exact), e^r - 1 = r + r^2 Q(r) with Q the Taylor series, 2^n applied
//          as two factors so subnormal results round once.
//   log:   x = 2^k m with m in [sqrt(1/2), sqrt 2) from the bits (subnormals scaled first),
//          f = m - 1 exact, s = f / (2 + f), log(1 + f) = f - (f^2/2 - s (f^2/2 + R(s^2))) with R
//          the atanh series, k ln2 added in two parts.
//   expm1: exp's reduction, 2^n (e^r - 1) + (2^n - 1) in one fma.
//   log1p: log of u = 1 + x plus the rounding error of u, (x - (u - 1)) / u.
//   tanh:  t / (t + 2) with t = expm1(2|x|), below kTanhSeriesMax its Taylor series; sign
//          restored. sigmoid: q = e^-|x| / (1 + e^-|x|), then q or 1 - q by the sign of x.
//   sin, cos (float32): in double lanes; n = round(x 2/pi), r = x - n pi/2 with pi/2 in three
//          doubles, Taylor polynomials on r, quadrant from n. Lanes with |x| > kTrigMax (and
//          inf, NaN) take the C library's value (the row loop and the scalar functor both do).
#pragma once
#include <cstdint>
#include <limits>

namespace tapegrad::kernels {
namespace {
namespace vm {

template <typename T> struct Consts;

template <>
struct Consts<float> {
  using U = uint32_t;
  static constexpr int kMant = 23;                 // explicit mantissa bits
  static constexpr U kExpBias = 127;
  static constexpr U kSignBit = 0x80000000u;
  static constexpr U kAbsMask = 0x7fffffffu;
  static constexpr float kShifter = 0x1.8p23f;     // adding it rounds to an integer in the low bits
  static constexpr U kShifterBits = 0x4b400000u;
  static constexpr U kHalfBias = 256;              // floor(n / 2) = ((n + 2 kHalfBias) >> 1) - kHalfBias
  static constexpr float kLog2e = 0x1.715476p+0f;
  static constexpr float kLn2Hi = 0x1.62e43p-1f;
  static constexpr float kLn2Lo = -0x1.05c61p-29f;
  static constexpr float kExpHi = 89.0f;           // e^89 overflows: the clamp keeps 2^n finite-sized
  static constexpr float kExpLo = -104.0f;         // e^-104 rounds to 0
  static constexpr float kExpm1Big = 88.0f;        // above it expm1 takes exp's scaling (2^n may be 2^128)
  // On [kExpNormalLo, kExpNormalHi] n lies in [-124, 127] and e^x is a normal number.
  static constexpr float kExpNormalLo = -86.0f;
  static constexpr float kExpNormalHi = 88.0f;
  // Q(r) = (e^r - 1 - r) / r^2 = sum r^j / (j + 2)!, lowest degree first.
  static constexpr float kExpQ[] = {1.0f / 2, 1.0f / 6, 1.0f / 24, 1.0f / 120, 1.0f / 720, 1.0f / 5040};
  static constexpr float kMinNormal = 0x1p-126f;
  static constexpr float kMantScale = 0x1p23f;
  static constexpr U kSqrtHalfBits = 0x3f3504f3u;  // float(sqrt(1/2))
  static constexpr U kLogBias = kSignBit >> kMant;
  // R(z) / z = sum 2 z^(j-1) / (2j + 1), z = s^2, lowest degree first.
  static constexpr float kLogR[] = {2.0f / 3, 2.0f / 5, 2.0f / 7, 2.0f / 9};
  static constexpr float kTanhClamp = 10.0f;       // tanh(10) rounds to 1
  // Below it tanh x = x + x^3 T(x^2), T the Taylor series (lowest degree first), which rounds
  // once where t / (t + 2) would round three times.
  static constexpr float kTanhSeriesMax = 0.3125f;
  static constexpr float kTanhT[] = {-1.0f / 3, 2.0f / 15, -17.0f / 315, 62.0f / 2835, -1382.0f / 155925,
                                     21844.0f / 6081075};
  static constexpr float kTrigMax = 0x1p20f;       // beyond it sin/cos take the C library's value
};

template <>
struct Consts<double> {
  using U = uint64_t;
  static constexpr int kMant = 52;
  static constexpr U kExpBias = 1023;
  static constexpr U kSignBit = 0x8000000000000000ull;
  static constexpr U kAbsMask = 0x7fffffffffffffffull;
  static constexpr double kShifter = 0x1.8p52;
  static constexpr U kShifterBits = 0x4338000000000000ull;
  static constexpr U kHalfBias = 2048;
  static constexpr double kLog2e = 0x1.71547652b82fep+0;
  static constexpr double kLn2Hi = 0x1.62e42fefa39efp-1;
  static constexpr double kLn2Lo = 0x1.abc9e3b39803fp-56;
  static constexpr double kExpHi = 710.0;
  static constexpr double kExpLo = -746.0;
  static constexpr double kExpNormalLo = -707.0;   // n in [-1020, 1023]
  static constexpr double kExpNormalHi = 709.0;
  static constexpr double kExpQ[] = {1.0 / 2,        1.0 / 6,         1.0 / 24,         1.0 / 120,
                                     1.0 / 720,      1.0 / 5040,      1.0 / 40320,      1.0 / 362880,
                                     1.0 / 3628800,  1.0 / 39916800,  1.0 / 479001600,  1.0 / 6227020800};
  static constexpr double kMinNormal = 0x1p-1022;
  static constexpr double kMantScale = 0x1p52;
  static constexpr U kSqrtHalfBits = 0x3fe6a09e667f3bcdull;
  static constexpr U kLogBias = kSignBit >> kMant;
  static constexpr double kLogR[] = {2.0 / 3,  2.0 / 5,  2.0 / 7,  2.0 / 9,  2.0 / 11,
                                     2.0 / 13, 2.0 / 15, 2.0 / 17, 2.0 / 19, 2.0 / 21};
  // sin and cos of float32 arguments, computed in double.
  static constexpr double kTwoOverPi = 0x1.45f306dc9c883p-1;
  static constexpr double kPio2[] = {0x1.921fb54442d18p+0, 0x1.1a62633145c07p-54, -0x1.f1976b7ed8fbcp-110};
  // sin r = r + r^3 S(r^2), cos r = 1 + r^2 C(r^2), Taylor, lowest degree first.
  static constexpr double kSinS[] = {-1.0 / 6, 1.0 / 120, -1.0 / 5040, 1.0 / 362880, -1.0 / 39916800,
                                     1.0 / 6227020800};
  static constexpr double kCosC[] = {-1.0 / 2, 1.0 / 24, -1.0 / 720, 1.0 / 40320, -1.0 / 3628800,
                                     1.0 / 479001600, -1.0 / 87178291200};
};

// c[0] + x (c[1] + x (c[2] + ...)), by fma.
template <class O, typename T, int N>
typename O::V horner(typename O::V x, const T (&c)[N]) {
  typename O::V p = O::set1(c[N - 1]);
  for (int i = N - 2; i >= 0; --i) p = O::fma(p, x, O::set1(c[i]));
  return p;
}

template <class O>
typename O::V neg(typename O::V x) {
  using C = Consts<typename O::T>;
  return O::from_bits(O::ixor(O::bits(x), O::iset1(C::kSignBit)));
}

template <class O>
typename O::V abs(typename O::V x) {
  using C = Consts<typename O::T>;
  return O::from_bits(O::iand(O::bits(x), O::iset1(C::kAbsMask)));
}

// NaN in, the same NaN quieted out (x + x), the same bits on every path.
template <class O>
typename O::V nan_through(typename O::V x, typename O::V y) {
  return O::select(O::isnan(x), O::add(x, x), y);
}

// 2^n as a float, for n in the normal exponent range.
template <class O>
typename O::V pow2(typename O::I n) {
  using C = Consts<typename O::T>;
  return O::from_bits(O::template shl<C::kMant>(O::iadd(n, O::iset1(C::kExpBias))));
}

// e^x = (1 + em1r) * s1 * s2 with em1r = e^r - 1, |r| <= ln2 / 2 (x clamped to [kExpLo, kExpHi]).
template <class O>
struct ExpParts {
  typename O::V em1r, s1, s2;
};

// e^x = (1 + em1r) 2^n with em1r = e^r - 1, |r| <= ln2 / 2, for x in [kExpLo, kExpHi].
template <class O>
struct ExpReduced {
  typename O::V em1r;
  typename O::I n;
};

template <class O>
ExpReduced<O> exp_reduce(typename O::V x) {
  using C = Consts<typename O::T>;
  using V = typename O::V;
  const V z = O::fma(x, O::set1(C::kLog2e), O::set1(C::kShifter));
  const V nf = O::sub(z, O::set1(C::kShifter));
  V r = O::fma(nf, O::set1(-C::kLn2Hi), x);
  r = O::fma(nf, O::set1(-C::kLn2Lo), r);
  return {O::fma(O::mul(r, r), horner<O>(r, C::kExpQ), r), O::isub(O::bits(z), O::iset1(C::kShifterBits))};
}

template <class O>
ExpParts<O> exp_parts(typename O::V x) {
  using C = Consts<typename O::T>;
  using I = typename O::I;
  x = O::select(O::gt(x, O::set1(C::kExpHi)), O::set1(C::kExpHi), x);
  x = O::select(O::lt(x, O::set1(C::kExpLo)), O::set1(C::kExpLo), x);
  const ExpReduced<O> red = exp_reduce<O>(x);
  ExpParts<O> p;
  p.em1r = red.em1r;
  const I n = red.n;
  const I n1 = O::isub(O::template shr<1>(O::iadd(n, O::iset1(2 * C::kHalfBias))), O::iset1(C::kHalfBias));
  p.s1 = pow2<O>(n1);
  p.s2 = pow2<O>(O::isub(n, n1));
  return p;
}

template <class O>
typename O::V exp_finite(typename O::V x) {  // NaN in gives some NaN
  const ExpParts<O> p = exp_parts<O>(x);
  return O::mul(O::mul(O::add(O::set1(1), p.em1r), p.s1), p.s2);
}

template <class O>
typename O::V exp(typename O::V x) {
  return nan_through<O>(x, exp_finite<O>(x));
}

// True when every lane of x lies in [kExpNormalLo, kExpNormalHi] (so none is NaN).
template <class O>
bool exp_normal_range(typename O::V x) {
  using C = Consts<typename O::T>;
  return O::all(O::ge(x, O::set1(C::kExpNormalLo))) && O::all(O::lt(x, O::set1(C::kExpNormalHi)));
}

// exp(x) for x in [kExpNormalLo, kExpNormalHi], with exp's bits: there (1 + em1r) 2^n is normal,
// so scaling by 2^n at once is exact, like exp's two exact scalings, and exp's clamps and NaN
// test change nothing.
template <class O>
typename O::V exp_normal(typename O::V x) {
  const ExpReduced<O> red = exp_reduce<O>(x);
  return O::mul(O::add(O::set1(1), red.em1r), pow2<O>(red.n));
}

// expm1 for x <= kExpm1Big (NaN in gives some NaN).
template <class O>
typename O::V expm1_moderate(typename O::V x) {
  const ExpParts<O> p = exp_parts<O>(x);
  const typename O::V t = O::mul(p.s1, p.s2);
  return O::fma(t, p.em1r, O::sub(t, O::set1(1)));
}

template <class O>
typename O::V expm1(typename O::V x) {
  using C = Consts<typename O::T>;
  using V = typename O::V;
  const ExpParts<O> p = exp_parts<O>(x);
  const V t = O::mul(p.s1, p.s2);
  const V moderate = O::fma(t, p.em1r, O::sub(t, O::set1(1)));
  const V big = O::mul(O::mul(O::add(O::set1(1), p.em1r), p.s1), p.s2);
  V y = O::select(O::gt(x, O::set1(C::kExpm1Big)), big, moderate);
  y = O::select(O::eq(x, O::set1(0)), x, y);  // keeps -0
  return nan_through<O>(x, y);
}

// u = 2^k m, m in [sqrt(1/2), sqrt 2), for positive normal u: k as a float and f = m - 1.
template <class O>
void split_log(typename O::V u, typename O::V& kf, typename O::V& f) {
  using C = Consts<typename O::T>;
  using I = typename O::I;
  const I b = O::bits(u);
  const I k = O::isub(
      O::template shr<C::kMant>(O::iadd(O::isub(b, O::iset1(C::kSqrtHalfBits)), O::iset1(C::kSignBit))),
      O::iset1(C::kLogBias));
  const typename O::V m = O::from_bits(O::isub(b, O::template shl<C::kMant>(k)));
  kf = O::sub(O::from_bits(O::iadd(O::iset1(C::kShifterBits), k)), O::set1(C::kShifter));
  f = O::sub(m, O::set1(1));
}

// k ln2 + log(1 + f) + c, with c a small correction (the rounding error of 1 + x in log1p).
template <class O>
typename O::V log_combine(typename O::V kf, typename O::V f, typename O::V c) {
  using C = Consts<typename O::T>;
  using V = typename O::V;
  const V s = O::div(f, O::add(O::set1(2), f));
  const V z = O::mul(s, s);
  const V R = O::mul(z, horner<O>(z, C::kLogR));
  const V hfsq = O::mul(O::mul(O::set1(0.5), f), f);
  const V a = O::fma(s, O::add(hfsq, R), O::fma(kf, O::set1(C::kLn2Lo), c));
  const V b = O::sub(O::sub(hfsq, a), f);
  return O::fma(kf, O::set1(C::kLn2Hi), neg<O>(b));
}

template <class O>
typename O::V log(typename O::V x) {
  using C = Consts<typename O::T>;
  using V = typename O::V;
  const auto small = O::lt(x, O::set1(C::kMinNormal));
  const V xs = O::select(small, O::mul(x, O::set1(C::kMantScale)), x);
  V kf, f;
  split_log<O>(xs, kf, f);
  kf = O::select(small, O::sub(kf, O::set1(C::kMant)), kf);
  V y = log_combine<O>(kf, f, O::set1(0));
  const V pinf = O::set1(std::numeric_limits<typename O::T>::infinity());
  y = O::select(O::eq(x, pinf), pinf, y);
  y = O::select(O::eq(x, O::set1(0)), neg<O>(pinf), y);
  y = O::select(O::lt(x, O::set1(0)), O::set1(std::numeric_limits<typename O::T>::quiet_NaN()), y);
  return nan_through<O>(x, y);
}

template <class O>
typename O::V log1p(typename O::V x) {
  using V = typename O::V;
  using T = typename O::T;
  const V one = O::set1(1);
  const V u = O::add(one, x);
  V kf, f;
  split_log<O>(u, kf, f);
  const V c = O::div(O::sub(x, O::sub(u, one)), u);
  V y = log_combine<O>(kf, f, c);
  const V pinf = O::set1(std::numeric_limits<T>::infinity());
  y = O::select(O::eq(x, pinf), pinf, y);
  y = O::select(O::eq(x, O::set1(-1)), neg<O>(pinf), y);
  y = O::select(O::lt(x, O::set1(-1)), O::set1(std::numeric_limits<T>::quiet_NaN()), y);
  y = O::select(O::eq(x, O::set1(0)), x, y);  // keeps -0
  return nan_through<O>(x, y);
}

template <class O>
typename O::V tanh(typename O::V x) {
  using C = Consts<typename O::T>;
  using V = typename O::V;
  V a = abs<O>(x);
  a = O::select(O::gt(a, O::set1(C::kTanhClamp)), O::set1(C::kTanhClamp), a);
  const V t = expm1_moderate<O>(O::add(a, a));
  const V a2 = O::mul(a, a);
  const V series = O::fma(O::mul(a2, a), horner<O>(a2, C::kTanhT), a);
  const V y = O::select(O::lt(a, O::set1(C::kTanhSeriesMax)), series, O::div(t, O::add(t, O::set1(2))));
  const V signed_y = O::from_bits(O::ior(O::bits(y), O::iand(O::bits(x), O::iset1(C::kSignBit))));
  return nan_through<O>(x, signed_y);
}

// q = e^-|x| / (1 + e^-|x|) is sigmoid(-|x|), its quotient corrected for the rounding error
// of 1 + e (exact as e - (d - 1), e <= 1); for x >= 0 the result is 1 - q, rounded once from a
// q whose error is small next to the result's ulp.
template <class O>
typename O::V sigmoid(typename O::V x) {
  using V = typename O::V;
  const V one = O::set1(1);
  const V e = exp_finite<O>(neg<O>(abs<O>(x)));
  const V d = O::add(one, e);
  const V d_err = O::sub(e, O::sub(d, one));
  const V q0 = O::div(e, d);
  const V q = O::fma(neg<O>(q0), O::div(d_err, d), q0);
  const V y = O::select(O::ge(x, O::set1(0)), O::sub(O::set1(1), q), q);
  return nan_through<O>(x, y);
}

// Lanes sin/cos leave to the C library: |x| > kTrigMax, inf, NaN.
template <class O>
typename O::M trig_big(typename O::V xd) {
  return O::mor(O::gt(abs<O>(xd), O::set1(Consts<float>::kTrigMax)), O::isnan(xd));
}

// sin(x) (cos when `cosine`) for double lanes holding float32 values with |x| <= kTrigMax.
template <class O, bool cosine>
typename O::V sincos_f32(typename O::V x) {
  using C = Consts<double>;
  using V = typename O::V;
  using I = typename O::I;
  const V z = O::fma(x, O::set1(C::kTwoOverPi), O::set1(C::kShifter));
  const V nf = O::sub(z, O::set1(C::kShifter));
  I n = O::isub(O::bits(z), O::iset1(C::kShifterBits));
  if (cosine) n = O::iadd(n, O::iset1(1));  // cos x = sin(x + pi/2)
  V r = O::fma(nf, O::set1(-C::kPio2[0]), x);
  r = O::fma(nf, O::set1(-C::kPio2[1]), r);
  r = O::fma(nf, O::set1(-C::kPio2[2]), r);
  const V r2 = O::mul(r, r);
  const V sin_r = O::fma(O::mul(r2, r), horner<O>(r2, C::kSinS), r);
  const V cos_r = O::fma(r2, horner<O>(r2, C::kCosC), O::set1(1));
  const auto odd = O::ieq(O::iand(n, O::iset1(1)), O::iset1(1));
  const I sign = O::template shl<62>(O::iand(n, O::iset1(2)));
  const V y = O::from_bits(O::ixor(O::bits(O::select(odd, cos_r, sin_r)), sign));
  if (cosine) return y;
  return O::select(O::eq(x, O::set1(0)), x, y);  // keeps -0
}

}  // namespace vm
}  // namespace
}  // namespace tapegrad::kernels

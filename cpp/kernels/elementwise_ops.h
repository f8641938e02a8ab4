// The elementwise kernels, one list per arity. Each entry names the op (its UnaryOp or BinaryOp
// enumerator) and its functor: a struct template whose static f is the scalar reference, which
// each instruction set's translation unit vectorises with its own flags. The enums and the
// kernels' dispatch switches are generated from these lists.
//
// Adding an elementwise kernel is one line in a list below plus its functor. A functor may later
// also carry a hand-written SIMD body for an instruction set, which the loops then prefer to f.
#pragma once
#include <cmath>

#define TAPEGRAD_UNARY_KERNELS(X) \
  X(Neg, NegF)                    \
  X(Square, SquareF)              \
  X(Exp, ExpF)                    \
  X(Expm1, Expm1F)                \
  X(Log, LogF)                    \
  X(Log1p, Log1pF)                \
  X(Sqrt, SqrtF)                  \
  X(Rsqrt, RsqrtF)                \
  X(Reciprocal, ReciprocalF)      \
  X(Abs, AbsF)                    \
  X(Sign, SignF)                  \
  X(Sin, SinF)                    \
  X(Cos, CosF)                    \
  X(Tanh, TanhF)                  \
  X(Sigmoid, SigmoidF)            \
  X(Softplus, SoftplusF)          \
  X(Floor, FloorF)                \
  X(Round, RoundF)                \
  X(Relu, ReluF)                  \
  X(Relu6, Relu6F)                \
  X(Step, StepF)                  \
  X(Elu, EluF)                    \
  X(Erf, ErfF)                    \
  X(Gelu, GeluF)                  \
  X(GeluTanh, GeluTanhF)            \
  X(PowHalf, PowHalfF)

#define TAPEGRAD_BINARY_KERNELS(X) \
  X(Add, AddF)                     \
  X(Sub, SubF)                     \
  X(Mul, MulF)                     \
  X(Div, DivF)                     \
  X(Max, MaxF)                     \
  X(Min, MinF)                     \
  X(Pow, PowF)                     \
  X(FloorDiv, FloorDivF)           \
  X(Mod, ModF)                     \
  X(MulNoNan, MulNoNanF)           \
  X(DivNoNan, DivNoNanF)

namespace tapegrad::kernels {

#define TAPEGRAD_ENUMERATOR(op, functor) op,
enum class UnaryOp : int { TAPEGRAD_UNARY_KERNELS(TAPEGRAD_ENUMERATOR) };
enum class BinaryOp : int { TAPEGRAD_BINARY_KERNELS(TAPEGRAD_ENUMERATOR) };
#undef TAPEGRAD_ENUMERATOR

// Internal linkage: each instruction set's translation unit compiles its own copy with its own
// flags, so the linker never keeps one unit's copy for another (one-definition rule).
namespace {

template <typename T>
struct NegF { static T f(T x) { return -x; } };
template <typename T>
struct SquareF { static T f(T x) { return x * x; } };

// The math functions call the C library, the same code on every instruction set, so every
// path gives the same bits. No formula below has a product feeding a sum, which a compiler
// allowed to contract would fuse differently per instruction set.
template <typename T>
struct ExpF { static T f(T x) { return std::exp(x); } };
template <typename T>
struct Expm1F { static T f(T x) { return std::expm1(x); } };
template <typename T>
struct LogF { static T f(T x) { return std::log(x); } };
template <typename T>
struct Log1pF { static T f(T x) { return std::log1p(x); } };
template <typename T>
struct SqrtF { static T f(T x) { return std::sqrt(x); } };
template <typename T>
struct RsqrtF { static T f(T x) { return T(1) / std::sqrt(x); } };
template <typename T>
struct ReciprocalF { static T f(T x) { return T(1) / x; } };
template <typename T>
struct AbsF { static T f(T x) { return std::fabs(x); } };
// -1, 0 or 1 (+0 for either zero), NaN stays NaN, as numpy.
template <typename T>
struct SignF {
  static T f(T x) { return x > T(0) ? T(1) : x < T(0) ? T(-1) : x == T(0) ? T(0) : x; }
};
template <typename T>
struct SinF { static T f(T x) { return std::sin(x); } };
template <typename T>
struct CosF { static T f(T x) { return std::cos(x); } };
template <typename T>
struct TanhF { static T f(T x) { return std::tanh(x); } };
// exp of a non-positive argument only, so neither branch overflows.
template <typename T>
struct SigmoidF {
  static T f(T x) {
    if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
    const T e = std::exp(x);
    return e / (T(1) + e);
  }
};
// log(1 + e^x) as max(x, 0) + log1p(e^-|x|): no overflow for large x, no loss for negative x.
template <typename T>
struct SoftplusF {
  static T f(T x) { return (x > T(0) ? x : T(0)) + std::log1p(std::exp(-std::fabs(x))); }
};
template <typename T>
struct FloorF { static T f(T x) { return std::floor(x); } };
// Half to even, as numpy and TensorFlow (the default rounding mode of nearbyint).
template <typename T>
struct RoundF { static T f(T x) { return std::nearbyint(x); } };
// NaN passes through the activations and -0 gives +0, as numpy's maximum/minimum give.
template <typename T>
struct ReluF { static T f(T x) { return x > T(0) ? x : x != x ? x : T(0); } };
template <typename T>
struct Relu6F { static T f(T x) { return x > T(0) ? (x > T(6) ? T(6) : x) : x != x ? x : T(0); } };
template <typename T>
struct EluF { static T f(T x) { return x > T(0) ? x : std::expm1(x); } };
template <typename T>
struct ErfF { static T f(T x) { return std::erf(x); } };
// x Phi(x) with Phi(x) = (1 + erf(x / sqrt 2)) / 2.
template <typename T>
struct GeluF {
  static T f(T x) { return (T(0.5) * x) * (T(1) + std::erf(x * T(0.70710678118654752440))); }
};
// The tanh approximation, x (1 + tanh(sqrt(2/pi) (x + k x^3))) / 2 with TensorFlow's k; its one
// product feeding a sum is an explicit fma, the same on every instruction set.
template <typename T>
struct GeluTanhF {
  static T f(T x) {
    const T inner = std::fma(T(0.044715), (x * x) * x, x);
    return (T(0.5) * x) * (T(1) + std::tanh(T(0.79788456080286535588) * inner));
  }
};
// x ** 0.5 with pow's values: the square root (correctly rounded), +0 for -0 and +inf for -inf
// (where sqrt gives -0 and NaN). Adding +0 turns -0 into +0 and changes nothing else.
template <typename T>
struct PowHalfF {
  static T f(T x) { return x == T(-HUGE_VAL) ? -x : std::sqrt(x) + T(0); }
};
// 1 where x > 0, else 0 (NaN included): the derivative of relu, never differentiated itself.
template <typename T>
struct StepF { static T f(T x) { return x > T(0) ? T(1) : T(0); } };

template <typename T>
struct AddF { static T f(T x, T y) { return x + y; } };
template <typename T>
struct SubF { static T f(T x, T y) { return x - y; } };
template <typename T>
struct MulF { static T f(T x, T y) { return x * y; } };
template <typename T>
struct DivF { static T f(T x, T y) { return x / y; } };
// NaN in either operand gives NaN, as numpy's maximum and minimum.
template <typename T>
struct MaxF { static T f(T x, T y) { return x > y || x != x ? x : y; } };
template <typename T>
struct MinF { static T f(T x, T y) { return x < y || x != x ? x : y; } };
// The C library's pow: the same code on every instruction set (IEEE edge cases: pow(x, 0) = 1
// even for NaN, a negative base with a non-integer exponent gives NaN).
template <typename T>
struct PowF { static T f(T x, T y) { return std::pow(x, y); } };
// floor(x / y), as TensorFlow's FloorDiv for floats.
template <typename T>
struct FloorDivF { static T f(T x, T y) { return std::floor(x / y); } };
// The remainder with the divisor's sign, as TensorFlow's FloorMod for floats: fmod (exact) moved
// by one divisor when its sign differs from y's.
template <typename T>
struct ModF {
  static T f(T x, T y) {
    const T r = std::fmod(x, y);
    return r != T(0) && ((y < T(0)) != (r < T(0))) ? r + y : r;
  }
};
// x * y, but 0 wherever y is 0, even for an infinite or NaN x (TensorFlow's MulNoNan).
template <typename T>
struct MulNoNanF { static T f(T x, T y) { return y == T(0) ? T(0) : x * y; } };
// x / y, but 0 wherever y is 0 (TensorFlow's DivNoNan).
template <typename T>
struct DivNoNanF { static T f(T x, T y) { return y == T(0) ? T(0) : x / y; } };

}  // namespace
}  // namespace tapegrad::kernels

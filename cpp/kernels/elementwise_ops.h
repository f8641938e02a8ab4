// The elementwise kernels, one list per arity. Each entry names the op (its UnaryOp or BinaryOp
// enumerator) and its functor: a struct template whose static f is the scalar reference, which
// each instruction set's translation unit vectorises with its own flags. The enums and the
// kernels' dispatch switches are generated from these lists.
//
// Adding an elementwise kernel is one line in a list below plus its functor. A functor may later
// also carry a hand-written SIMD body for an instruction set, which the loops then prefer to f.
#pragma once

#define TAPEGRAD_UNARY_KERNELS(X) \
  X(Neg, NegF)                    \
  X(Square, SquareF)

#define TAPEGRAD_BINARY_KERNELS(X) \
  X(Add, AddF)                     \
  X(Sub, SubF)                     \
  X(Mul, MulF)                     \
  X(Div, DivF)

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

template <typename T>
struct AddF { static T f(T x, T y) { return x + y; } };
template <typename T>
struct SubF { static T f(T x, T y) { return x - y; } };
template <typename T>
struct MulF { static T f(T x, T y) { return x * y; } };
template <typename T>
struct DivF { static T f(T x, T y) { return x / y; } };

}  // namespace
}  // namespace tapegrad::kernels

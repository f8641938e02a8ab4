// The element types a Tensor can hold: two floating types, which take part in differentiation,
// and two integer types and bool, which never do.
#pragma once
#include <cstddef>
#include <cstdint>

namespace tapegrad {

enum class DType : unsigned char { F32 = 0, F64 = 1, I32 = 2, I64 = 3, Bool = 4 };

inline size_t dtype_size(DType d) {
  switch (d) {
    case DType::F32: case DType::I32: return 4;
    case DType::F64: case DType::I64: return 8;
    case DType::Bool: return 1;
  }
  return 8;
}

inline const char* dtype_name(DType d) {
  switch (d) {
    case DType::F32: return "float32";
    case DType::F64: return "float64";
    case DType::I32: return "int32";
    case DType::I64: return "int64";
    case DType::Bool: return "bool";
  }
  return "?";
}

inline bool is_floating(DType d) { return d == DType::F32 || d == DType::F64; }
inline bool is_integer(DType d) { return d == DType::I32 || d == DType::I64; }

template <typename T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::F32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::F64; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::I32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::I64; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };

// Calls f(T{}) with T = float or double according to the runtime dtype, which must be floating
// (the float kernels' dispatch; ops check the dtype before they get here).
template <typename F>
decltype(auto) visit_dtype(DType d, F&& f) {
  if (d == DType::F32) return f(float{});
  return f(double{});
}

// Calls f(T{}) with the C++ type of any dtype.
template <typename F>
decltype(auto) visit_any_dtype(DType d, F&& f) {
  switch (d) {
    case DType::F32: return f(float{});
    case DType::F64: return f(double{});
    case DType::I32: return f(int32_t{});
    case DType::I64: return f(int64_t{});
    case DType::Bool: break;
  }
  return f(bool{});
}

}  // namespace tapegrad

// The two element types a Tensor can hold.
#pragma once
#include <cstddef>

namespace tapegrad {

enum class DType : unsigned char { F32 = 0, F64 = 1 };

inline size_t dtype_size(DType d) { return d == DType::F32 ? 4 : 8; }
inline const char* dtype_name(DType d) { return d == DType::F32 ? "float32" : "float64"; }

template <typename T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::F32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::F64; };

// Calls f(T{}) with T = float or double according to the runtime dtype.
template <typename F>
decltype(auto) visit_dtype(DType d, F&& f) {
  if (d == DType::F32) return f(float{});
  return f(double{});
}

}  // namespace tapegrad

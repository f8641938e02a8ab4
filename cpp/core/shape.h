// Shape: a small inline array of dimensions (no heap), with the checks every op needs.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>

namespace tapegrad {

// 8 covers every model this library targets and keeps Shape (and each tape entry) small.
constexpr int kMaxRank = 8;

struct Shape {
  int rank = 0;
  int64_t dims[kMaxRank] = {};

  Shape() = default;
  Shape(std::initializer_list<int64_t> d);

  int64_t operator[](int i) const { return dims[i]; }
  int64_t& operator[](int i) { return dims[i]; }
  // Element count; the shape was validated on construction so this cannot overflow.
  int64_t numel() const;
  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }
  void push_back(int64_t d);
  std::string str() const;  // "(2, 3)" like numpy
};

// Throws ValueError/MemoryError (naming `op`) for negative dims, rank > kMaxRank or sizes whose
// byte count would overflow or exceed what could ever be allocated.
void check_shape(const Shape& s, size_t elem_size, const char* op);

}  // namespace tapegrad

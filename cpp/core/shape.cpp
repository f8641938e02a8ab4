#include "core/shape.h"

#include <unistd.h>

#include "core/errors.h"

namespace tapegrad {

Shape::Shape(std::initializer_list<int64_t> d) {
  for (int64_t v : d) push_back(v);
}

int64_t Shape::numel() const {
  // A zero dimension first: an empty shape may have other dimensions whose product overflows.
  for (int i = 0; i < rank; ++i)
    if (dims[i] == 0) return 0;
  int64_t n = 1;
  for (int i = 0; i < rank; ++i) n *= dims[i];
  return n;
}

bool Shape::operator==(const Shape& o) const {
  if (rank != o.rank) return false;
  for (int i = 0; i < rank; ++i)
    if (dims[i] != o.dims[i]) return false;
  return true;
}

void Shape::push_back(int64_t d) {
  if (rank >= kMaxRank)
    throw ValueError("tensor rank exceeds the maximum of " + std::to_string(kMaxRank));
  dims[rank++] = d;
}

std::string Shape::str() const {
  std::string s = "(";
  for (int i = 0; i < rank; ++i) {
    if (i) s += ", ";
    s += std::to_string(dims[i]);
  }
  if (rank == 1) s += ",";
  return s + ")";
}

namespace {
// Physical memory: with overcommit a larger malloc may "succeed" and the process is killed when
// the pages are touched, so larger requests are refused up front with a MemoryError.
int64_t physical_memory_bytes() {
  static const int64_t bytes = [] {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : int64_t(1) << 47;
  }();
  return bytes;
}
}  // namespace

void check_shape(const Shape& s, size_t elem_size, const char* op) {
  const int64_t kMaxBytes = physical_memory_bytes();
  int64_t bytes = static_cast<int64_t>(elem_size);
  bool zero = false;
  int64_t nonzero = 1;  // product of the non-zero dimensions: strides must fit in int64 even
  bool overflow = false;  // for an empty tensor
  for (int i = 0; i < s.rank; ++i) {
    if (s.dims[i] < 0)
      throw ValueError(std::string(op) + ": dimensions must be non-negative, got shape " + s.str());
    if (s.dims[i] == 0) zero = true;
    else overflow |= __builtin_mul_overflow(nonzero, s.dims[i], &nonzero);
  }
  if (overflow || nonzero > (int64_t(1) << 62))
    throw ValueError(std::string(op) + ": shape " + s.str() +
                     " is too large (its dimensions multiply past 2**62)");
  if (zero) return;
  for (int i = 0; i < s.rank; ++i) {
    if (bytes > kMaxBytes / s.dims[i])
      throw MemoryError(std::string(op) + ": shape " + s.str() + " needs more memory than this " +
                        "machine has (" + std::to_string(kMaxBytes >> 20) + " MiB)");
    bytes *= s.dims[i];
  }
}

}  // namespace tapegrad

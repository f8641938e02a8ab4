// A scope in which this thread's SSE/AVX arithmetic flushes subnormal results to zero and reads
// subnormal operands as zero (MXCSR's FTZ and DAZ bits), restoring the caller's mode (and its
// exception flags) on exit.
//
// The optimizer updates run in it: a slot that decays while its gradient stays zero (Adam's first
// moment of a unit that never fires) would otherwise sink through the subnormal range, where
// every operation on it costs a microcode assist, and stay there for thousands of steps. As in
// TensorFlow's and XLA's CPU kernels, such values become zero instead. Every kernel set obeys the
// same MXCSR bits, so the tables still agree bit for bit, and nothing outside the scope (numpy,
// Python, the other ops) sees the mode.
#pragma once

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace tapegrad::kernels {

class FlushSubnormals {
 public:
#if defined(__SSE__) || defined(__x86_64__)
  FlushSubnormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFlushToZero | kDenormalsAreZero); }
  ~FlushSubnormals() { _mm_setcsr(saved_); }

 private:
  static constexpr unsigned kFlushToZero = 0x8000, kDenormalsAreZero = 0x0040;
  unsigned saved_;
#else
  FlushSubnormals() = default;
#endif
  FlushSubnormals(const FlushSubnormals&) = delete;
  FlushSubnormals& operator=(const FlushSubnormals&) = delete;
};

}  // namespace tapegrad::kernels

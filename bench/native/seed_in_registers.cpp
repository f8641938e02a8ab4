#include "seed_in_registers.h"

#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "kernels/kernels.h"

namespace seed_in_registers {
namespace {

using tapegrad::kernels::kStreamLanes;
using tapegrad::kernels::kStreams;

constexpr int kRestLanes = 16;  // reduce.h's kLanes: the terms after the quarters

// The element's terms of the three sums, in the step's operations and order.
struct Terms {
  float square, grad, x_grad;
};
Terms terms_of(float x, float y, float w, float b, float scale) {
  const float d = (x * w + b) - y;
  const float g = scale * (d * 2.0f);
  return {d * d, g, x * g};
}

// reduce.h's fold_lanes: pairwise, in a fixed order.
template <int Lanes>
double fold(double* lanes) {
  for (int width = Lanes / 2; width > 0; width /= 2)
    for (int j = 0; j < width; ++j) lanes[j] += lanes[j + width];
  return lanes[0];
}

// reduce.h's ordered_rest for one sum: the folded quarters, then n terms in lanes and the tail.
double rest(double (*quarters)[kStreamLanes], const float* v, int64_t n) {
  double total = 0;
  for (int s = 0; s < kStreams; ++s) total += fold<kStreamLanes>(quarters[s]);
  double lanes[kRestLanes] = {};
  int64_t i = 0;
  for (; i + kRestLanes <= n; i += kRestLanes)
    for (int j = 0; j < kRestLanes; ++j) lanes[j] += static_cast<double>(v[i + j]);
  double tail = 0;
  for (; i < n; ++i) tail += static_cast<double>(v[i]);
  return total + fold<kRestLanes>(lanes) + tail;
}

// The quarters of one chunk: eight elements of each quarter per iteration, the three sums' lanes
// in 12 registers of eight doubles.
__attribute__((target("avx2,fma,avx512f,avx512dq"))) void quarters_avx512(
    const float* x, const float* y, int64_t len, float w, float b, float scale,
    double (*out)[kStreams][kStreamLanes]) {
  const __m256 vw = _mm256_set1_ps(w), vb = _mm256_set1_ps(b), vs = _mm256_set1_ps(scale);
  const __m256 two = _mm256_set1_ps(2.0f);
  __m512d loss[kStreams], grad[kStreams], x_grad[kStreams];
  for (int s = 0; s < kStreams; ++s) loss[s] = grad[s] = x_grad[s] = _mm512_setzero_pd();
  for (int64_t p = 0; p < len; p += kStreamLanes) {
    for (int s = 0; s < kStreams; ++s) {
      const __m256 xv = _mm256_loadu_ps(x + s * len + p);
      const __m256 d = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(xv, vw), vb), _mm256_loadu_ps(y + s * len + p));
      const __m256 g = _mm256_mul_ps(vs, _mm256_mul_ps(d, two));
      loss[s] = _mm512_add_pd(loss[s], _mm512_cvtps_pd(_mm256_mul_ps(d, d)));
      grad[s] = _mm512_add_pd(grad[s], _mm512_cvtps_pd(g));
      x_grad[s] = _mm512_add_pd(x_grad[s], _mm512_cvtps_pd(_mm256_mul_ps(xv, g)));
    }
  }
  for (int s = 0; s < kStreams; ++s) {
    _mm512_storeu_pd(out[0][s], loss[s]);
    _mm512_storeu_pd(out[1][s], grad[s]);
    _mm512_storeu_pd(out[2][s], x_grad[s]);
  }
}

// The same with AVX2: one quarter at a time, so that the three sums' lanes (six registers of four
// doubles) and the loop's values fit in the 16 ymm registers. The quarters' lanes are independent,
// so the order of the quarters changes no bit.
__attribute__((target("avx2,fma"))) void quarters_avx2(const float* x, const float* y, int64_t len,
                                                      float w, float b, float scale,
                                                      double (*out)[kStreams][kStreamLanes]) {
  const __m256 vw = _mm256_set1_ps(w), vb = _mm256_set1_ps(b), vs = _mm256_set1_ps(scale);
  const __m256 two = _mm256_set1_ps(2.0f);
  for (int s = 0; s < kStreams; ++s) {
    const float* xs = x + s * len;
    const float* ys = y + s * len;
    __m256d lanes[3][2];
    for (auto& sum : lanes) sum[0] = sum[1] = _mm256_setzero_pd();
    for (int64_t p = 0; p < len; p += kStreamLanes) {
      const __m256 xv = _mm256_loadu_ps(xs + p);
      const __m256 d = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(xv, vw), vb), _mm256_loadu_ps(ys + p));
      const __m256 g = _mm256_mul_ps(vs, _mm256_mul_ps(d, two));
      const __m256 terms[3] = {_mm256_mul_ps(d, d), g, _mm256_mul_ps(xv, g)};
      for (int k = 0; k < 3; ++k) {
        lanes[k][0] = _mm256_add_pd(lanes[k][0], _mm256_cvtps_pd(_mm256_castps256_ps128(terms[k])));
        lanes[k][1] = _mm256_add_pd(lanes[k][1], _mm256_cvtps_pd(_mm256_extractf128_ps(terms[k], 1)));
      }
    }
    for (int k = 0; k < 3; ++k) {
      _mm256_storeu_pd(out[k][s], lanes[k][0]);
      _mm256_storeu_pd(out[k][s] + 4, lanes[k][1]);
    }
  }
}

}  // namespace

bool available() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

bool has_avx512() {
  return available() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
}

Sums step(bool avx512, const float* x, const float* y, int64_t n, int64_t chunk, float w, float b,
          float scale) {
  double totals[3] = {};
  for (int64_t lo = 0; lo < n; lo += chunk) {
    const int64_t count = std::min(chunk, n - lo);
    const int64_t len = tapegrad::kernels::streamed_quarter(count);
    double quarters[3][kStreams][kStreamLanes] = {};
    if (len > 0) {
      if (avx512) quarters_avx512(x + lo, y + lo, len, w, b, scale, quarters);
      else quarters_avx2(x + lo, y + lo, len, w, b, scale, quarters);
    }
    // The rest (all of a chunk shorter than kMinStreamed) one element at a time.
    const int64_t first = lo + kStreams * len, left = lo + count - first;
    std::vector<float> square(left), grad(left), x_grad(left);
    for (int64_t i = 0; i < left; ++i) {
      const Terms t = terms_of(x[first + i], y[first + i], w, b, scale);
      square[i] = t.square;
      grad[i] = t.grad;
      x_grad[i] = t.x_grad;
    }
    totals[0] += rest(quarters[0], square.data(), left);
    totals[1] += rest(quarters[1], grad.data(), left);
    totals[2] += rest(quarters[2], x_grad.data(), left);
  }
  return {static_cast<float>(totals[0]), static_cast<float>(totals[1]), static_cast<float>(totals[2])};
}

}  // namespace seed_in_registers

// kernel_ab: times the float GEMM of two builds of the kernels (A and B) in one process,
// alternating them in 20 ms slices and the order from round to round, and prints B's time over
// A's per shape and whether their bits agree. Run through run.sh, which builds both sides with
// the same flags: against the engine's own build (other flags) a side can gain from the flags
// alone (README.md).
//
//   kernel_ab SHAPE...   SHAPE = N (square) or MxNxK[:ta:tb]; TAPEGRAD_NUM_THREADS sets threads
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <vector>

#include "core/allocator.h"
#include "core/thread_pool.h"
#include "kernels/kernels.h"

namespace tapegrad::kernels {
const KernelTable& va_table();
const KernelTable& vb_table();
}  // namespace tapegrad::kernels

namespace {

// A float array from the engine's allocator, as tensors get: from 2 MiB up it is on transparent
// huge pages, so where C's pages land in the physically indexed L2 is the same for both sides
// and from run to run.
struct Buffer {
  float* p = nullptr;
  size_t cap = 0;
  explicit Buffer(size_t n) : p(static_cast<float*>(tapegrad::allocator::allocate(n * sizeof(float), &cap))) {}
  ~Buffer() { tapegrad::allocator::release(p, cap); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
};

double seconds_per_call(const std::function<void()>& f) {
  int calls = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double elapsed;
  do {
    f();
    ++calls;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } while (elapsed < 0.02);
  return elapsed / calls;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tapegrad;
  const char* env = std::getenv("TAPEGRAD_NUM_THREADS");
  threads::set_num_threads(env ? std::atoi(env) : 1);
  const auto& ga = kernels::va_table().f32;
  const auto& gb = kernels::vb_table().f32;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (int i = 1; i < argc; ++i) {
    long m, n, k;
    int ta = 0, tb = 0;
    if (std::sscanf(argv[i], "%ldx%ldx%ld:%d:%d", &m, &n, &k, &ta, &tb) < 3) m = n = k = std::atol(argv[i]);
    Buffer a_buf(m * k), b_buf(k * n), ca_buf(m * n), cb_buf(m * n);
    float *a = a_buf.p, *b = b_buf.p, *ca = ca_buf.p, *cb = cb_buf.p;
    for (long i = 0; i < m * k; ++i) a[i] = dist(rng);
    for (long i = 0; i < k * n; ++i) b[i] = dist(rng);
    const long lda = ta ? m : k, ldb = tb ? k : n;
    auto run_a = [&] { ga.gemm(ta, tb, m, n, k, 1.f, a, lda, b, ldb, 0.f, ca, n); };
    auto run_b = [&] { gb.gemm(ta, tb, m, n, k, 1.f, a, lda, b, ldb, 0.f, cb, n); };
    run_a();
    run_b();
    const bool same = std::equal(ca, ca + m * n, cb);
    std::vector<double> ratio, time_a;
    for (int round = 0; round < 16; ++round) {
      double ta_s, tb_s;
      if (round % 2) {
        tb_s = seconds_per_call(run_b);
        ta_s = seconds_per_call(run_a);
      } else {
        ta_s = seconds_per_call(run_a);
        tb_s = seconds_per_call(run_b);
      }
      ratio.push_back(tb_s / ta_s);
      time_a.push_back(ta_s);
    }
    std::sort(ratio.begin(), ratio.end());
    std::sort(time_a.begin(), time_a.end());
    std::printf("%-20s A %6.1f GFLOP/s   B/A time: median %.3f (quartiles %.3f-%.3f)  %s\n", argv[i],
                2.0 * m * n * k / time_a[8] / 1e9, 0.5 * (ratio[7] + ratio[8]), ratio[4], ratio[11],
                same ? "same bits" : "DIFFERENT BITS");
  }
  return 0;
}

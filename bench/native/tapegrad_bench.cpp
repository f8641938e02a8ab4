// tapegrad_bench: times tapegrad's kernels and a whole training step through the C++ API, with no
// Python in the process. What Python adds on top (bindings, wrappers) is the difference between
// these figures and bench/compare.py's.
//
//   tapegrad_bench [--quick] [--only gemm,memory,ops,seed,ceiling] [--threads N] [--ghz G] [--fma-units N]
//                  [--reps N] [--min-rep-ms MS] [--max-gemm N] [--max-scalar-gemm N]
//
// Every figure is the min and the median over repetitions; one repetition runs the measured call
// back to back often enough to last --min-rep-ms. GEMM reports GFLOP/s and the fraction of the
// FMA peak of its instruction set (clock measured here, or given with --ghz); the memory-bound
// kernels report GB/s. Figures, not tests: nothing here passes or fails on time.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/allocator.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "ops/ops.h"
#include "seed_in_registers.h"
#include "tape/optimizer_updates.h"
#include "tape/tape.h"
#include "tape/variable.h"

namespace {

using namespace tapegrad;
using Clock = std::chrono::steady_clock;

double elapsed_ns(Clock::time_point t0) {
  return std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
}

// ---------------------------------------------------------------------------------------------
// Options

struct Options {
  bool quick = false;
  double ghz = 0.0;        // 0: measure
  int fma_units = 2;       // FMA pipes per core: 2 on Zen 2-4 and on Intel cores since Haswell
  int threads = 1;         // kernel threads; 1 by default so the per-core figures are per core
  int reps = 15;
  double min_rep_ms = 20.0;
  double budget_s = 3.0;   // at most this long per measurement (fewer reps for slow ones)
  int64_t max_gemm = 2048;
  int64_t max_scalar_gemm = 1024;  // the scalar reference runs ~20x slower
  std::string only;        // comma-separated sections; empty = all

  bool wants(const char* section) const {
    if (only.empty()) return true;
    std::string list = "," + only + ",";
    return list.find(std::string(",") + section + ",") != std::string::npos;
  }
};

[[noreturn]] void usage(const char* prog, int code) {
  std::printf(
      "usage: %s [--quick] [--only gemm,memory,ops,seed,ceiling] [--threads N] [--ghz G] [--fma-units N]\n"
      "          [--reps N] [--min-rep-ms MS] [--max-gemm N] [--max-scalar-gemm N]\n"
      "Times tapegrad's kernels (per instruction set), its op layer and a whole seed step,\n"
      "through the C++ API. See bench/README.md.\n",
      prog);
  std::exit(code);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(argv[0], 2);
      return argv[++i];
    };
    if (a == "--quick") {
      o.quick = true;
      o.reps = 7;
      o.min_rep_ms = 10.0;
      o.budget_s = 1.0;
      o.max_scalar_gemm = 512;
    } else if (a == "--only") o.only = value();
    else if (a == "--threads") o.threads = std::max(1, std::atoi(value()));
    else if (a == "--ghz") o.ghz = std::atof(value());
    else if (a == "--fma-units") o.fma_units = std::atoi(value());
    else if (a == "--reps") o.reps = std::max(1, std::atoi(value()));
    else if (a == "--min-rep-ms") o.min_rep_ms = std::atof(value());
    else if (a == "--max-gemm") o.max_gemm = std::atoll(value());
    else if (a == "--max-scalar-gemm") o.max_scalar_gemm = std::atoll(value());
    else if (a == "-h" || a == "--help") usage(argv[0], 0);
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      usage(argv[0], 2);
    }
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Timing

struct Stats {
  double min_ns = 0, median_ns = 0;  // per call
  int64_t inner = 0;                 // calls per repetition
  int reps = 0;
};

// Calls body() `inner` times per repetition, `inner` chosen so one repetition lasts min_rep_ms.
template <class F>
Stats measure(F&& body, const Options& o) {
  auto run = [&](int64_t n) {
    auto t0 = Clock::now();
    for (int64_t i = 0; i < n; ++i) body();
    return elapsed_ns(t0);
  };
  run(1);  // warm-up: caches, the allocator's free lists, lazy initialisation
  const double target = o.min_rep_ms * 1e6;
  int64_t inner = 1;
  double t = run(inner);
  while (t < target) {
    // Aim 20% over the target from the last try, growing at most 100x at a time.
    double want = std::ceil(inner * 1.2 * target / std::max(t, 1.0));
    inner = std::min<int64_t>(inner * 100, std::max<int64_t>(inner + 1, static_cast<int64_t>(want)));
    t = run(inner);
  }
  const int reps = std::clamp(static_cast<int>(o.budget_s * 1e9 / t), 3, std::max(3, o.reps));
  std::vector<double> per_call;
  for (int r = 0; r < reps; ++r) per_call.push_back(run(inner) / static_cast<double>(inner));
  std::sort(per_call.begin(), per_call.end());
  Stats s;
  s.min_ns = per_call.front();
  s.median_ns = per_call.size() % 2 ? per_call[per_call.size() / 2]
                                     : 0.5 * (per_call[per_call.size() / 2 - 1] + per_call[per_call.size() / 2]);
  s.inner = inner;
  s.reps = reps;
  return s;
}

// "12.3 µs" / "4.56 ms" / "789 ns" with 3 significant digits.
std::string fmt_time(double ns) {
  char buf[32];
  if (ns >= 1e9) std::snprintf(buf, sizeof buf, "%.3g s", ns / 1e9);
  else if (ns >= 1e6) std::snprintf(buf, sizeof buf, "%.3g ms", ns / 1e6);
  else if (ns >= 1e3) std::snprintf(buf, sizeof buf, "%.3g us", ns / 1e3);
  else std::snprintf(buf, sizeof buf, "%.3g ns", ns);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Machine

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

// The core clock, from a chain of dependent 64-bit multiplies: 3 cycles each on every Intel core
// since Nehalem and every AMD Zen, so 3 * multiplies / time = cycles / time. (A chain of adds of
// an immediate is not a clock: Golden Cove cores fold such adds at rename and read 9 GHz.) Best of
// a few tries (a shared core can only make it look slower). 0 where it cannot be measured.
double measure_ghz(int tries) {
#if defined(__x86_64__)
  double best = 0.0;
  for (int t = 0; t < tries; ++t) {
    uint64_t n = 10'000'000, x = 3;
    auto t0 = Clock::now();
    asm volatile(
        "1:\n\t"
        "imul %0, %0\n\timul %0, %0\n\timul %0, %0\n\timul %0, %0\n\t"
        "sub $1, %1\n\t"
        "jnz 1b\n\t"
        : "+r"(x), "+r"(n)
        :
        : "cc");
    best = std::max(best, 10e6 * 4 * 3 / elapsed_ns(t0));
  }
  return best;
#else
  (void)tries;
  return 0.0;
#endif
}

int lanes_f32(const std::string& isa) {
  if (isa == "avx512") return 16;
  if (isa == "avx2") return 8;
  return 1;
}

const kernels::KernelTable& table(const std::string& isa) {
  if (isa == "avx512") return kernels::avx512_table();
  if (isa == "avx2") return kernels::avx2_table();
  return kernels::scalar_table();
}

// 64-byte aligned float buffer (what the engine's allocator hands tensors).
struct Buffer {
  float* p = nullptr;
  size_t n = 0;
  explicit Buffer(size_t count) : n(count) {
    size_t bytes = ((count * sizeof(float) + 63) / 64) * 64;
    p = static_cast<float*>(std::aligned_alloc(64, std::max<size_t>(bytes, 64)));
    if (!p) {
      std::fprintf(stderr, "out of memory\n");
      std::exit(1);
    }
  }
  ~Buffer() { std::free(p); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  void randomize(uint64_t seed) {
    std::mt19937_64 g(seed);
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    for (size_t i = 0; i < n; ++i) p[i] = d(g);
  }
};

// ---------------------------------------------------------------------------------------------
// GEMM

// Max |C - C_ref| / (k * max|a| * max|b|) over the four transpose combinations on an odd shape:
// a quick sanity check that the table being timed computes the right thing.
double gemm_check(const kernels::TypedKernels<float>& k) {
  const int64_t m = 67, n = 45, kk = 53;
  Buffer a(m * kk), b(kk * n), c(m * n);
  a.randomize(1);
  b.randomize(2);
  double worst = 0.0;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      // Stored A is m x kk (or kk x m when transposed), likewise B.
      int64_t lda = ta ? m : kk, ldb = tb ? kk : n;
      k.gemm(ta, tb, m, n, kk, 1.0f, a.p, lda, b.p, ldb, 0.0f, c.p, n);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double ref = 0.0;
          for (int64_t p = 0; p < kk; ++p)
            ref += double(ta ? a.p[p * lda + i] : a.p[i * lda + p]) *
                   double(tb ? b.p[j * ldb + p] : b.p[p * ldb + j]);
          worst = std::max(worst, std::fabs(ref - c.p[i * n + j]) / kk);
        }
    }
  return worst;
}

struct GemmCase {
  int64_t m, k, n;
  bool ta = false, tb = false;
};

void bench_gemm(const Options& o, double ghz) {
  std::printf("\n== GEMM, float32, %d thread%s: C = op(A) @ op(B) (beta = 0), per instruction set ==\n",
              o.threads, o.threads == 1 ? "" : "s");
  std::printf("peak = clock x f32 lanes x 2 (an FMA is 2 flops) x %d FMA units per core x %d core%s\n",
              o.fma_units, o.threads, o.threads == 1 ? "" : "s");
  for (const std::string& isa : kernels::available()) {
    const auto& k = table(isa).f32;
    const double peak = ghz * lanes_f32(isa) * 2 * o.fma_units * o.threads;
    const double err = gemm_check(k);
    std::printf("\n[%s] gemm check: max error %.2g per k (%s); FMA peak %.1f GFLOP/s%s\n", isa.c_str(),
                err, err < 1e-5 ? "ok" : "WRONG", peak,
                isa == "avx512" && cpu_model().find("AMD") != std::string::npos
                    ? " (Zen 4 runs 512-bit FMAs as two 256-bit halves: its real peak is half)"
                    : "");
    std::printf("  %-22s %10s %10s %9s %9s %7s\n", "shape (MxK . KxN)", "min", "median", "GFLOP/s",
                "(median)", "%peak");
    const int64_t cap = isa == "scalar" ? std::min(o.max_scalar_gemm, o.max_gemm) : o.max_gemm;
    std::vector<GemmCase> cases;
    for (int64_t s : {64, 128, 256, 512, 1024, 2048})
      if (s <= cap) cases.push_back({s, s, s});
    // Backward of C = A.B runs dA = dC.B^T and dB = A^T.dC: the transposed forms matter as much.
    const int64_t t = std::min<int64_t>(1024, cap);
    cases.push_back({t, t, t, true, false});
    cases.push_back({t, t, t, false, true});
    for (GemmCase c : {GemmCase{1000, 1, 1}, GemmCase{256, 784, 10}, GemmCase{10000, 64, 1},
                       GemmCase{1, 1000, 1, true, false}})  // the last: the seed step's dW = X^T.g
      cases.push_back(c);
    for (const GemmCase& c : cases) {
      Buffer a(c.m * c.k), b(c.k * c.n), out(c.m * c.n);
      a.randomize(3);
      b.randomize(4);
      const int64_t lda = c.ta ? c.m : c.k, ldb = c.tb ? c.k : c.n;
      Stats s = measure([&] { k.gemm(c.ta, c.tb, c.m, c.n, c.k, 1.0f, a.p, lda, b.p, ldb, 0.0f, out.p, c.n); }, o);
      const double flops = 2.0 * c.m * c.n * c.k;
      char shape[64];
      std::snprintf(shape, sizeof shape, "%lldx%lld%s . %lldx%lld%s", (long long)c.m, (long long)c.k,
                    c.ta ? "(T)" : "", (long long)c.k, (long long)c.n, c.tb ? "(T)" : "");
      const double best = flops / s.min_ns;
      std::printf("  %-22s %10s %10s %9.2f %9.2f %6.1f%%\n", shape, fmt_time(s.min_ns).c_str(),
                  fmt_time(s.median_ns).c_str(), best, flops / s.median_ns, peak > 0 ? 100 * best / peak : 0.0);
      std::fflush(stdout);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Memory-bound kernels

void bench_memory(const Options& o) {
  const int64_t n = 10'000'000;
  std::printf("\n== Memory-bound kernels, float32, n = 10^7 (40 MB per operand), %d thread%s ==\n",
              o.threads, o.threads == 1 ? "" : "s");
  std::printf("GB/s counts the bytes each kernel must read and write (write-allocate traffic not counted)\n");
  Buffer a(n), b(n), out(n);
  a.randomize(5);
  b.randomize(6);
  float sum = 0.0f;
  // What one core can stream on this machine: the ceiling for every row below.
  Stats copy = measure([&] { std::memcpy(out.p, a.p, n * sizeof(float)); }, o);
  std::printf("reference: memcpy of 40 MB %s (min) = %.2f GB/s read + write\n", fmt_time(copy.min_ns).c_str(),
              8.0 * n / copy.min_ns);
  for (const std::string& isa : kernels::available()) {
    const auto& k = table(isa).f32;
    std::printf("\n[%s]\n  %-26s %10s %10s %9s %9s\n", isa.c_str(), "kernel", "min", "median", "GB/s",
                "GFLOP/s");
    kernels::BinaryPlan bp;
    bp.rank = 1;
    bp.shape[0] = n;
    bp.stride_a[0] = bp.stride_b[0] = 1;
    kernels::ReducePlan rp;
    rp.rank = 1;
    rp.shape[0] = n;
    rp.out_stride[0] = 0;
    rp.out_numel = 1;
    struct Row {
      const char* name;
      double bytes_per_elem, flops_per_elem;
      std::function<void()> fn;
    };
    const Row rows[] = {
        {"binary add   out = a + b", 12, 1, [&] { k.binary(kernels::BinaryOp::Add, a.p, b.p, out.p, bp); }},
        {"unary square out = a * a", 8, 1, [&] { k.unary(kernels::UnaryOp::Square, a.p, out.p, n); }},
        {"reduce_sum   s = sum(a)", 4, 1, [&] { k.reduce_sum(a.p, &sum, rp); }},
        {"axpy         y += alpha * x", 12, 2, [&] { k.axpy(n, 1e-7f, a.p, out.p); }},
    };
    for (const Row& r : rows) {
      Stats s = measure(r.fn, o);
      std::printf("  %-26s %10s %10s %9.2f %9.2f\n", r.name, fmt_time(s.min_ns).c_str(),
                  fmt_time(s.median_ns).c_str(), r.bytes_per_elem * n / s.min_ns, r.flops_per_elem * n / s.min_ns);
      std::fflush(stdout);
    }
  }
  if (sum == 12345.0f) std::printf(" ");  // keeps the reduction's result observable
}

// ---------------------------------------------------------------------------------------------
// Op layer and tape bookkeeping (active instruction set)

TensorPtr tensor(const Shape& shape, float value) {
  return TensorImpl::full(DType::F32, shape, value, "bench");
}

void bench_ops(const Options& o) {
  std::printf("\n== Op layer, active ISA %s: dispatch + output allocation + tape bookkeeping ==\n",
              kernels::active().isa);
  std::printf("  %-52s %10s %10s\n", "call", "min", "median");
  TensorPtr x = tensor({1}, 1.5f), y = tensor({1}, 2.25f);
  TensorPtr big = tensor({10'000'000}, 0.5f);
  TensorPtr xs = tensor({1000, 1}, 0.5f), w = tensor({1, 1}, 0.5f);
  auto row = [&](const char* name, auto&& fn) {
    Stats s = measure(fn, o);
    std::printf("  %-52s %10s %10s\n", name, fmt_time(s.min_ns).c_str(), fmt_time(s.median_ns).c_str());
    std::fflush(stdout);
    return s;
  };
  row("ops::add (1,)+(1,), no tape", [&] { ops::add(x, y); });
  row("ops::square (1,), no tape", [&] { ops::square(x); });
  row("ops::matmul (1000,1)@(1,1), no tape", [&] { ops::matmul(xs, w, false, false); });
  row("ops::reduce_mean (1000,1) -> (), no tape", [&] { ops::reduce_mean(xs, nullptr, false); });
  Stats life = row("Tape make_shared + push + watch(x) + pop + free", [&] {
    auto t = std::make_shared<Tape>(false, true);
    tape_stack::push(t);
    t->watch(x);
    tape_stack::pop(t);
  });
  Stats rec = row("  same + ops::add(x, y) recorded on it", [&] {
    auto t = std::make_shared<Tape>(false, true);
    tape_stack::push(t);
    t->watch(x);
    ops::add(x, y);
    tape_stack::pop(t);
  });
  std::printf("  -> recording one add on a tape costs ~%s over the untaped op\n",
              fmt_time(rec.median_ns - life.median_ns).c_str());
  row("TensorImpl::empty (1,) + free (allocator round trip)", [&] { TensorImpl::empty(DType::F32, {1}, "bench"); });
  row("ops::square (10^7,), output allocated each call", [&] { ops::square(big); });
}

// ---------------------------------------------------------------------------------------------
// Seed step: the notebook's training step through the C++ API

struct SeedModel {
  TensorPtr x, y;
  VariablePtr w, b;
  std::vector<double> xd, yd;  // the same data in double, for the reference check
};

// inputs ~ N(0, 1) of shape (n, 1); labels = 3 * inputs + 2 + N(0, 1); w = 0.5, b = 0.
SeedModel make_seed(int64_t n) {
  SeedModel s;
  s.x = TensorImpl::empty(DType::F32, {n, 1}, "bench");
  s.y = TensorImpl::empty(DType::F32, {n, 1}, "bench");
  std::mt19937_64 g(0);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  float* x = s.x->data<float>();
  float* y = s.y->data<float>();
  for (int64_t i = 0; i < n; ++i) {
    x[i] = normal(g);
    y[i] = 3.0f * x[i] + 2.0f + normal(g);
    s.xd.push_back(x[i]);
    s.yd.push_back(y[i]);
  }
  s.w = std::make_shared<Variable>(tensor({1, 1}, 0.5f), "dense/kernel:0", true);
  s.b = std::make_shared<Variable>(TensorImpl::zeros(DType::F32, {1}, "bench"), "dense/bias:0", true);
  return s;
}

constexpr double kLearningRate = 0.1;

// The loss under a fresh tape that watches the variables it reads, as tg.GradientTape does.
// Returns the tape too, so the caller decides whether to differentiate.
std::pair<TensorPtr, TapePtr> seed_forward(SeedModel& s) {
  auto tape = std::make_shared<Tape>(false, true);
  tape_stack::push(tape);
  TensorPtr loss;
  try {
    TensorPtr pred = ops::add(ops::matmul(s.x, s.w->read(), false, false), s.b->read());
    loss = ops::reduce_mean(ops::square(ops::subtract(pred, s.y)), nullptr, false);
  } catch (...) {
    tape_stack::pop(tape);
    throw;
  }
  tape_stack::pop(tape);
  return {loss, tape};
}

// implicit_value_and_gradients(loss_fn)(x, y, wb): the loss and d loss / d (w, b).
std::pair<TensorPtr, std::vector<TensorPtr>> seed_value_and_gradients(SeedModel& s) {
  auto [loss, tape] = seed_forward(s);
  auto grads = tape->gradient(loss, {Source{nullptr, s.w}, Source{nullptr, s.b}}, nullptr, false);
  return {loss, grads};
}  // the tape goes here, as the Python wrapper's does, so the update can write in place

// ... then optimizer.apply_gradients(grads_and_vars).
TensorPtr seed_step(SeedModel& s) {
  auto [loss, grads] = seed_value_and_gradients(s);
  sgd_update({s.w, s.b}, grads, kLearningRate);
  return loss;
}

// The loss of the third step, written out by hand in double precision.
double seed_reference(const SeedModel& s) {
  double w = 0.5, b = 0.0, loss = 0.0;
  const double n = static_cast<double>(s.xd.size());
  for (int step = 0; step < 3; ++step) {
    double l = 0.0, gw = 0.0, gb = 0.0;
    for (size_t i = 0; i < s.xd.size(); ++i) {
      double d = s.xd[i] * w + b - s.yd[i];
      l += d * d;
      gw += 2.0 * d * s.xd[i] / n;
      gb += 2.0 * d / n;
    }
    loss = l / n;
    w -= kLearningRate * gw;
    b -= kLearningRate * gb;
  }
  return loss;
}

void bench_seed(const Options& o, int64_t n) {
  std::printf("\n== Seed step N=%lld through the C++ API (active ISA %s) ==\n", (long long)n,
              kernels::active().isa);
  std::printf("   tape + matmul + add + subtract + square + reduce_mean, gradient, sgd_update\n");
  SeedModel s = make_seed(n);
  double engine = 0.0;
  for (int i = 0; i < 3; ++i) engine = seed_step(s)->item();
  const double ref = seed_reference(s);
  std::printf("  check: loss at step 3 = %.6g, hand-written double reference %.6g (rel diff %.1e%s)\n",
              engine, ref, std::fabs(engine - ref) / std::fabs(ref),
              std::fabs(engine - ref) <= 1e-4 * std::fabs(ref) ? ", ok" : ", MISMATCH");

  const void* w_storage = s.w->peek()->raw();
  const auto sys0 = allocator::stats().system_allocs;
  const int64_t live0 = TensorImpl::live_count();
  Stats st = measure([&] { seed_step(s); }, o);
  const int64_t steps_run = st.inner * (st.reps + 2);  // rough: calibration runs are extra
  std::printf("  whole step: min %s, median %s  (%lld reps x %lld steps)\n", fmt_time(st.min_ns).c_str(),
              fmt_time(st.median_ns).c_str(), (long long)st.reps, (long long)st.inner);
  std::printf("  allocator: %lld system allocations during ~%lld+ steps; live tensors %+lld; "
              "w updated in place: %s\n",
              (long long)(allocator::stats().system_allocs - sys0), (long long)steps_run,
              (long long)(TensorImpl::live_count() - live0), s.w->peek()->raw() == w_storage ? "yes" : "no");

  // Breakdown by difference of the minima, the figures least disturbed by other processes (clock
  // reads inside the step would cost more than some phases: a read is ~150 ns on this VM).
  Stats fwd = measure([&] { seed_forward(s); }, o);
  Stats fg = measure([&] { seed_value_and_gradients(s); }, o);
  auto diff = [](double a, double b) { return a > b ? fmt_time(a - b) : std::string("~0 (noise)"); };
  std::printf("  breakdown (min; later phases by difference):\n");
  std::printf("    forward under a tape: tape alloc, 2 variable reads, 5 ops + recording   %10s\n",
              fmt_time(fwd.min_ns).c_str());
  std::printf("    + tape->gradient: backward rules, accumulation, release               %10s\n",
              diff(fg.min_ns, fwd.min_ns).c_str());
  std::printf("    + sgd_update of 2 variables                                           %10s\n",
              diff(st.min_ns, fg.min_ns).c_str());
}

// ---------------------------------------------------------------------------------------------
// The seed step N=10^6 in registers against its memory floor

// tg.function runs the seed step as a loop that calls one kernel per op on tiles in L1. The
// fastest loop for the step is one whose values never leave the registers: generated code, or
// this section's hand-written loop (seed_in_registers.h), checked here to give the bits of
// tapegrad's kernels. Its time against the memory floor (x and y read once at reduce_sum's
// bandwidth over 10^7 floats, as bench/compare.py defines it) bounds what any tg.function that
// keeps eager's bits can reach on this core.
void bench_seed_in_registers(const Options& o, double ghz) {
  const int64_t n = 1'000'000, big = 10'000'000;
  std::printf("\n== Seed step N=10^6 written by hand in registers, against the memory floor ==\n");
  if (!seed_in_registers::available()) {
    std::printf("  the hand-written loop needs AVX2 and FMA; skipped\n");
    return;
  }
  // The loop in the active table's registers: zmm under avx512, else ymm.
  const bool zmm = seed_in_registers::has_avx512() && std::strcmp(kernels::active().isa, "avx512") == 0;
  std::printf("  the loop in %s registers (TAPEGRAD_ISA=avx2 for ymm)\n", zmm ? "zmm" : "ymm");
  Buffer x(n), y(n), t(n), d(n), g(n);
  x.randomize(11);
  y.randomize(12);
  const float w = 0.75f, b = 0.25f, two = 2.0f, scale = 1.0f / static_cast<float>(n);

  // The step op by op through the active table, and its sums chunk by chunk, as eager runs it.
  const auto& k = kernels::active().f32;
  kernels::BinaryPlan with_scalar_b, with_scalar_a, both;
  for (kernels::BinaryPlan* p : {&with_scalar_b, &with_scalar_a, &both}) {
    p->rank = 1;
    p->shape[0] = n;
    p->stride_a[0] = p->stride_b[0] = 1;
  }
  with_scalar_b.stride_b[0] = 0;
  with_scalar_a.stride_a[0] = 0;
  k.binary(kernels::BinaryOp::Mul, x.p, &w, t.p, with_scalar_b);
  k.binary(kernels::BinaryOp::Add, t.p, &b, t.p, with_scalar_b);
  k.binary(kernels::BinaryOp::Sub, t.p, y.p, d.p, both);
  k.binary(kernels::BinaryOp::Mul, d.p, &two, g.p, with_scalar_b);
  k.binary(kernels::BinaryOp::Mul, &scale, g.p, g.p, with_scalar_a);
  double sums[3] = {};
  const int64_t chunk = kernels::kDotChunkElements;
  for (int64_t lo = 0; lo < n; lo += chunk) {
    const int64_t count = std::min(chunk, n - lo);
    sums[0] += k.dot(d.p + lo, d.p + lo, count);
    sums[1] += k.sum(g.p + lo, count);
    sums[2] += k.dot(x.p + lo, g.p + lo, count);
  }
  const seed_in_registers::Sums hand = seed_in_registers::step(zmm, x.p, y.p, n, chunk, w, b, scale);
  const float expected[3] = {static_cast<float>(sums[0]), static_cast<float>(sums[1]), static_cast<float>(sums[2])};
  const float got[3] = {hand.loss_sum, hand.grad_bias, hand.grad_weight};
  const bool same = std::memcmp(expected, got, sizeof got) == 0;
  std::printf("  bits: the hand-written loop's three sums %s tapegrad's kernels' (%s)\n",
              same ? "equal" : "DIFFER FROM", kernels::active().isa);

  Stats s = measure([&] { seed_in_registers::step(zmm, x.p, y.p, n, chunk, w, b, scale); }, o);
  Buffer big_x(big);
  big_x.randomize(13);
  float total = 0.0f;
  kernels::ReducePlan rp;
  rp.rank = 1;
  rp.shape[0] = big;
  rp.out_stride[0] = 0;
  rp.out_numel = 1;
  // The floor as compare.py takes it: reduce_sum of the best table this CPU runs.
  const auto& best = table(kernels::available().back()).f32;
  Stats r = measure([&] { best.reduce_sum(big_x.p, &total, rp); }, o);
  const double floor_ns = r.min_ns * (2.0 * n) / big;
  std::printf("  reduce_sum over 10^7 floats: min %s = %.1f GB/s; floor of the step (8 MB at that rate) %s\n",
              fmt_time(r.min_ns).c_str(), 4.0 * big / r.min_ns, fmt_time(floor_ns).c_str());
  std::printf("  hand-written step: min %s, median %s = %.2fx the floor; %.1f cycles per 16 elements at %.2f GHz\n",
              fmt_time(s.min_ns).c_str(), fmt_time(s.median_ns).c_str(), s.min_ns / floor_ns,
              s.min_ns * ghz / n * 16, ghz);
  if (total == 12345.0f) std::printf(" ");  // keeps the reduction's result observable
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  const std::vector<std::string> isas = kernels::available();
  std::string isa_list;
  for (const auto& i : isas) isa_list += (isa_list.empty() ? "" : ", ") + i;

  double ghz = o.ghz;
  const char* how = "given with --ghz";
  if (ghz <= 0.0) {
    ghz = measure_ghz(o.quick ? 3 : 6);
    how = "measured with a dependent-multiply chain; AVX-heavy code may run at a lower clock";
  }
  // Without this the pool would use every core (TAPEGRAD_NUM_THREADS aside) under headings that
  // promise per-core figures.
  threads::set_num_threads(o.threads);
  std::printf("tapegrad native benchmark%s\n", o.quick ? " (quick)" : "");
  std::printf("CPU: %s; clock %.2f GHz (%s)\n", cpu_model().c_str(), ghz, how);
  std::printf("instruction sets this build and CPU can run: %s; active: %s (TAPEGRAD_ISA overrides)\n",
              isa_list.c_str(), kernels::active().isa);
  std::printf("kernel threads: %d (--threads)\n", threads::num_threads());
  std::printf("timing: min and median per call over repetitions of >= %.0f ms (at most %d reps, ~%.0f s "
              "per row)\n", o.min_rep_ms, o.reps, o.budget_s);

  if (o.wants("gemm")) bench_gemm(o, ghz);
  if (o.wants("memory")) bench_memory(o);
  if (o.wants("ops")) bench_ops(o);
  if (o.wants("seed")) {
    bench_seed(o, 1000);
    bench_seed(o, 1'000'000);
  }
  if (o.wants("ceiling")) bench_seed_in_registers(o, ghz);
  return 0;
}

#include "core/thread_pool.h"

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace tapegrad::threads {
namespace {

int default_threads() {
  if (const char* env = std::getenv("TAPEGRAD_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1) return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}

// How long a thread spins on an atomic before it sleeps on a condition variable. Waking a sleeping
// thread costs 15-25 us on this VM (the idle vCPU has to be rescheduled), more than a whole
// 64x64 GEMM, and a training loop starts its kernels back to back, so a worker that finished one
// polls for the next for a while. Bounded, so an idle pool gives its core back within 0.2 ms
// (OpenBLAS's and OpenMP's workers spin too, for longer).
constexpr std::chrono::microseconds kSpin{200};

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// Spins until ready() or kSpin has passed; true when ready() held.
template <typename Ready>
bool spin_until(Ready ready) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (ready()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= deadline) return ready();
  }
}

class Pool {
 public:
  int threads() const { return wanted_.load(); }
  void set_threads(int n) { wanted_.store(n < 1 ? 1 : n); }

  void run(Task task, void* ctx, int max_threads) {
    int n = threads() < max_threads ? threads() : max_threads;
    thread_local bool inside = false;
    if (n <= 1 || inside) {
      task(ctx, 0, 1);
      return;
    }
    std::lock_guard<std::mutex> one_job(job_mu_);  // one parallel job at a time
    ensure_workers(n - 1);
    pending_.store(n - 1, std::memory_order_relaxed);
    {
      // The job's fields change only under mu_ and are read under it, so a worker never sees
      // the fields of one job with the generation of another.
      std::lock_guard<std::mutex> lock(mu_);
      task_ = task;
      ctx_ = ctx;
      active_ = n;
      generation_.fetch_add(1, std::memory_order_release);
    }
    if (sleepers_.load() > 0) cv_start_.notify_all();
    inside = true;
    task(ctx, 0, n);
    inside = false;
    auto done = [&] { return pending_.load(std::memory_order_acquire) == 0; };
    if (spin_until(done)) return;
    std::unique_lock<std::mutex> lock(mu_);
    cv_done_.wait(lock, done);
  }

  // After fork() only the forking thread exists in the child: forget the workers.
  void reset_after_fork() {
    new (&mu_) std::mutex();
    new (&job_mu_) std::mutex();
    new (&cv_start_) std::condition_variable();
    new (&cv_done_) std::condition_variable();
    for (auto& t : workers_) t.detach();
    workers_.clear();
    sleepers_.store(0);
  }

 private:
  void ensure_workers(int count) {
    while (static_cast<int>(workers_.size()) < count) {
      const int index = static_cast<int>(workers_.size()) + 1;
      // A new worker waits for the next generation, not for any it has not seen: a job that
      // ran before it existed is finished and its context gone.
      const uint64_t start = generation_.load();
      workers_.emplace_back([this, index, start] { worker(index, start); });
    }
  }

  void worker(int index, uint64_t seen) {
    auto started = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    for (;;) {
      Task task;
      void* ctx;
      int n;
      if (!spin_until(started)) {
        std::unique_lock<std::mutex> lock(mu_);
        ++sleepers_;
        cv_start_.wait(lock, started);
        --sleepers_;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen = generation_.load(std::memory_order_relaxed);
        task = task_;
        ctx = ctx_;
        n = active_;
      }
      if (index >= n) continue;
      task(ctx, index, n);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        // The caller may be about to sleep: taking mu_ orders this notify after its check.
        { std::lock_guard<std::mutex> lock(mu_); }
        cv_done_.notify_one();
      }
    }
  }

  std::atomic<int> wanted_{default_threads()};
  std::mutex job_mu_, mu_;
  std::condition_variable cv_start_, cv_done_;
  std::vector<std::thread> workers_;
  Task task_ = nullptr;  // the current job: written and read under mu_
  void* ctx_ = nullptr;
  int active_ = 0;
  std::atomic<uint64_t> generation_{0};  // bumped (under mu_) when a job starts
  std::atomic<int> pending_{0};          // workers of the current job still running
  std::atomic<int> sleepers_{0};         // workers blocked on cv_start_
};

Pool& pool() {
  static Pool* p = [] {
    auto* created = new Pool();  // never destroyed: workers may be blocked at exit
    pthread_atfork(nullptr, nullptr, [] { pool().reset_after_fork(); });
    return created;
  }();
  return *p;
}

// 256 KiB of float32 per operand. With the threads polling between jobs a hand-off costs about
// a microsecond; bench/thread_thresholds.py, with the second vCPU free, gave for square and add
// 1.7-1.8x at 2^16 floats and 0.9-1.4x at 2^15 (it varies from run to run), so 2^16. Full sums
// split in 64 Ki-element chunks, so they only go parallel from 2^17 (1.7x there).
std::atomic<int64_t> g_parallel_elements{int64_t(1) << 16};

}  // namespace

int64_t parallel_elements() { return g_parallel_elements.load(std::memory_order_relaxed); }
void set_parallel_elements(int64_t n) { g_parallel_elements.store(n, std::memory_order_relaxed); }

int num_threads() { return pool().threads(); }
void set_num_threads(int n) { pool().set_threads(n); }
void parallel_run(Task task, void* ctx, int max_threads) { pool().run(task, ctx, max_threads); }

}  // namespace tapegrad::threads

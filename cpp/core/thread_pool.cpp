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
// thread costs more than a small kernel (the idle vCPU has to be rescheduled), and a training
// loop starts its kernels back to back, so a worker that finished one polls for the next for a
// while. Bounded, so an idle pool gives its core back soon (docs/performance.md has the costs).
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

// True on a thread inside a parallel job: a nested call runs serially there.
thread_local bool t_inside_job = false;
// This thread's index in the pool: i for worker i, 0 for every other thread (thread_index()).
thread_local int t_index = 0;

using Clock = std::chrono::steady_clock;

// A job whose caller waited this long, and longer than its own share took, waited on a thread
// the OS had not scheduled: the other core was busy (another process, or numpy's OpenBLAS
// threads, which spin after each call), and such a thread loses a whole scheduler slice. The
// hiccups of a shared VM are far shorter. Stalls are only counted, for the benchmarks' notes
// (stalls()); the schedule does not react to them, since stalls come and go within milliseconds.
constexpr std::chrono::microseconds kStall{250};

class Pool {
 public:
  int threads() const { return wanted_.load(); }
  void set_threads(int n) { wanted_.store(n < 1 ? 1 : n); }

  // Fork-join: thread i of n runs task(ctx, i, n); returns when all n are done.
  void run(Task task, void* ctx, int max_threads) {
    int n = threads() < max_threads ? threads() : max_threads;
    if (n <= 1 || t_inside_job) {
      task(ctx, 0, 1);
      return;
    }
    std::lock_guard<std::mutex> one_job(job_mu_);  // one parallel job at a time
    ensure_workers(n - 1);
    pending_.store(n - 1, std::memory_order_relaxed);
    start(task, ctx, n, 0);
    t_inside_job = true;
    const auto t0 = Clock::now();
    task(ctx, 0, n);
    const auto t1 = Clock::now();
    t_inside_job = false;
    wait_until([&] { return pending_.load(std::memory_order_acquire) == 0; });
    judge(t1 - t0, Clock::now() - t1);
  }

  // Chunks claimed in turn: task(ctx, c, chunks) runs once for each c, on whichever of up to n
  // threads claims it first. Returns when every chunk has run, without waiting for a thread
  // that claimed none (see parallel_chunks in thread_pool.h).
  void run_chunks(Task task, void* ctx, int chunks, int max_threads) {
    int n = threads() < max_threads ? threads() : max_threads;
    if (n > chunks) n = chunks;
    if (n <= 1 || t_inside_job) {
      for (int c = 0; c < chunks; ++c) task(ctx, c, chunks);
      return;
    }
    std::lock_guard<std::mutex> one_job(job_mu_);
    ensure_workers(n - 1);
    const uint32_t tag = start(task, ctx, n, chunks);
    t_inside_job = true;
    const auto t0 = Clock::now();
    run_claimed(tag, task, ctx, chunks, /*from_back=*/false);
    const auto t1 = Clock::now();
    t_inside_job = false;
    wait_until([&] { return done_.load(std::memory_order_acquire) == chunks; });
    judge(t1 - t0, Clock::now() - t1);
  }

  int64_t stalls() const { return stalls_.load(std::memory_order_relaxed); }
  bool note_if_stall(Clock::duration waited) {
    if (waited < kStall) return false;
    stall_noted_.store(true, std::memory_order_relaxed);
    return true;
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
  // Called by the caller after each job (under job_mu_) with the time its own share took and
  // the time it then waited for the other threads.
  void judge(Clock::duration own, Clock::duration waited) {
    // A worker that was asleep can take long to start (the hypervisor resuming an idle vCPU):
    // that is no sign of a busy core. A wait inside the job (spin_wait.h) is one, whoever waited.
    const bool inside = stall_noted_.exchange(false, std::memory_order_relaxed);
    if (inside || (!woke_ && waited >= kStall && waited >= own))
      stalls_.fetch_add(1, std::memory_order_relaxed);
  }

  // Publishes a job (chunks == 0: fork-join) and wakes the workers; returns its claim tag.
  uint32_t start(Task task, void* ctx, int n, int chunks) {
    uint32_t tag;
    {
      // The job's fields change only under mu_ and are read under it, so a worker never sees
      // the fields of one job with the generation of another.
      std::lock_guard<std::mutex> lock(mu_);
      task_ = task;
      ctx_ = ctx;
      active_ = n;
      chunks_ = chunks;
      const uint64_t generation = generation_.load(std::memory_order_relaxed) + 1;
      tag = static_cast<uint32_t>(generation);
      done_.store(0, std::memory_order_relaxed);
      stall_noted_.store(false, std::memory_order_relaxed);
      claim_.store(static_cast<uint64_t>(tag) << 32 | static_cast<uint64_t>(chunks) << 16,
                   std::memory_order_relaxed);
      generation_.store(generation, std::memory_order_release);
    }
    woke_ = sleepers_.load() > 0;
    if (woke_) cv_start_.notify_all();
    return tag;
  }

  template <typename Ready>
  void wait_until(Ready ready) {
    if (spin_until(ready)) return;
    std::unique_lock<std::mutex> lock(mu_);
    cv_done_.wait(lock, ready);
  }

  // The last thread to finish a job's work wakes the caller, which may be about to sleep:
  // taking mu_ orders this notify after its check.
  void notify_done() {
    { std::lock_guard<std::mutex> lock(mu_); }
    cv_done_.notify_one();
  }

  // Claims and runs chunks of the job tagged `tag` until none is left. A claim is one
  // compare-and-swap on (tag, back, front), so a thread still holding an earlier job's fields
  // claims nothing: the tag no longer matches, and it never touches that job's context.
  // The caller claims from the front and the workers from the back, so with two threads each
  // keeps the same end of the work from call to call (its part of the operands can stay in its
  // own L2 when a kernel is repeated on the same data) and they meet wherever the faster one
  // got to.
  void run_claimed(uint32_t tag, Task task, void* ctx, int chunks, bool from_back) {
    uint64_t cur = claim_.load(std::memory_order_acquire);
    for (;;) {
      const int front = static_cast<int>(cur & 0xffffu), back = static_cast<int>(cur >> 16 & 0xffffu);
      if (static_cast<uint32_t>(cur >> 32) != tag || front >= back) return;
      const uint64_t next = from_back ? cur - (uint64_t{1} << 16) : cur + 1;
      if (!claim_.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                        std::memory_order_acquire))
        continue;
      task(ctx, from_back ? back - 1 : front, chunks);
      if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == chunks) notify_done();
      cur = claim_.load(std::memory_order_acquire);
    }
  }

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
    t_index = index;
    auto started = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    for (;;) {
      Task task;
      void* ctx;
      int n, chunks;
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
        chunks = chunks_;
      }
      if (index >= n) continue;
      t_inside_job = true;
      if (chunks > 0) {
        run_claimed(static_cast<uint32_t>(seen), task, ctx, chunks, /*from_back=*/true);
      } else {
        task(ctx, index, n);
        if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) notify_done();
      }
      t_inside_job = false;
    }
  }

  std::atomic<int> wanted_{default_threads()};
  std::mutex job_mu_, mu_;
  std::condition_variable cv_start_, cv_done_;
  std::vector<std::thread> workers_;
  Task task_ = nullptr;  // the current job: written and read under mu_
  void* ctx_ = nullptr;
  int active_ = 0;
  int chunks_ = 0;                       // 0 for a fork-join job
  std::atomic<uint64_t> generation_{0};  // bumped (under mu_) when a job starts
  std::atomic<int> pending_{0};          // fork-join: workers of the current job still running
  std::atomic<uint64_t> claim_{0};  // chunks: (job tag << 32) | (back << 16) | front, unclaimed [front, back)
  std::atomic<int> done_{0};             // chunks: chunks of the current job finished
  std::atomic<int64_t> stalls_{0};          // stalls seen since the start
  bool woke_ = false;                       // the current job had to wake workers (job_mu_)
  std::atomic<bool> stall_noted_{false};    // a thread of the current job waited >= kStall
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

// 256 KiB of float32 per operand: from there a second thread's hand-off (about a microsecond with
// the threads polling between jobs) pays for itself in elementwise ops
// (bench/thread_thresholds.py measures both sides). Full sums split in 64 Ki-element chunks, so
// they go parallel from two chunks.
std::atomic<int64_t> g_parallel_elements{int64_t(1) << 16};

}  // namespace

int64_t parallel_elements() { return g_parallel_elements.load(std::memory_order_relaxed); }
void set_parallel_elements(int64_t n) { g_parallel_elements.store(n, std::memory_order_relaxed); }

int num_threads() { return pool().threads(); }
void set_num_threads(int n) { pool().set_threads(n); }
void parallel_run(Task task, void* ctx, int max_threads) { pool().run(task, ctx, max_threads); }
int64_t stalls() { return pool().stalls(); }
bool note_if_stall(std::chrono::steady_clock::duration waited) {
  return pool().note_if_stall(waited);
}
int thread_index() { return t_index; }
int chunk_count(int nt, int64_t units) {
  constexpr int64_t kChunksPerThread = 4;
  const int64_t want = nt > 1 ? kChunksPerThread * nt : 1;
  return static_cast<int>(units < want ? (units > 1 ? units : 1) : want);
}

void parallel_chunks(Task task, void* ctx, int chunks, int max_threads) {
  // The claim word counts chunks in 16 bits (run_claimed). Callers cut work with chunk_count,
  // a few per thread; a count past the limit still runs, on the caller alone.
  constexpr int kMaxChunks = 0xffff;
  if (chunks > kMaxChunks) {
    for (int c = 0; c < chunks; ++c) task(ctx, c, chunks);
    return;
  }
  if (chunks > 0) pool().run_chunks(task, ctx, chunks, max_threads);
}

}  // namespace tapegrad::threads

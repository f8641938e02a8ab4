#include "core/thread_pool.h"

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

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
    {
      std::lock_guard<std::mutex> lock(mu_);
      task_ = task;
      ctx_ = ctx;
      active_ = n;
      pending_ = n - 1;
      ++generation_;
    }
    cv_start_.notify_all();
    inside = true;
    task(ctx, 0, n);
    inside = false;
    std::unique_lock<std::mutex> lock(mu_);
    cv_done_.wait(lock, [&] { return pending_ == 0; });
  }

  // After fork() only the forking thread exists in the child: forget the workers.
  void reset_after_fork() {
    new (&mu_) std::mutex();
    new (&job_mu_) std::mutex();
    new (&cv_start_) std::condition_variable();
    new (&cv_done_) std::condition_variable();
    for (auto& t : workers_) t.detach();
    workers_.clear();
  }

 private:
  void ensure_workers(int count) {
    while (static_cast<int>(workers_.size()) < count) {
      const int index = static_cast<int>(workers_.size()) + 1;
      workers_.emplace_back([this, index] { worker(index); });
    }
  }

  void worker(int index) {
    uint64_t seen = 0;
    for (;;) {
      Task task;
      void* ctx;
      int n;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_start_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        task = task_;
        ctx = ctx_;
        n = active_;
      }
      if (index < n) task(ctx, index, n);
      std::lock_guard<std::mutex> lock(mu_);
      if (index < n && --pending_ == 0) cv_done_.notify_one();
    }
  }

  std::atomic<int> wanted_{default_threads()};
  std::mutex job_mu_, mu_;
  std::condition_variable cv_start_, cv_done_;
  std::vector<std::thread> workers_;
  Task task_ = nullptr;
  void* ctx_ = nullptr;
  int active_ = 0, pending_ = 0;
  uint64_t generation_ = 0;
};

Pool& pool() {
  static Pool* p = [] {
    auto* created = new Pool();  // never destroyed: workers may be blocked at exit
    pthread_atfork(nullptr, nullptr, [] { pool().reset_after_fork(); });
    return created;
  }();
  return *p;
}

}  // namespace

int num_threads() { return pool().threads(); }
void set_num_threads(int n) { pool().set_threads(n); }
void parallel_run(Task task, void* ctx, int max_threads) { pool().run(task, ctx, max_threads); }

}  // namespace tapegrad::threads

// tapir/autodiff/parallel.cpp — see parallel.hpp: a persistent pool whose workers spin briefly between
// loops (a training step hands out work every few microseconds), then sleep.
#include "autodiff/parallel.hpp"

#include <pthread.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace tapir {

namespace {
std::atomic<std::size_t> g_threads{0};
thread_local bool t_in_task = false;  // inside a parallel_for task (or a worker): nested loops run inline

std::size_t default_threads() {
  if (const char* s = std::getenv("TAPIR_NUM_THREADS")) {
    char* end = nullptr;
    const long v = std::strtol(s, &end, 10);
    if (end != s && *end == '\0' && v > 0) return static_cast<std::size_t>(v);
  }
  // Asked once: glibc answers hardware_concurrency() by reading /sys/devices/system/cpu/online, an open,
  // a read and a close on every call, and num_threads() is asked by every parallel loop (28 times a
  // training step: 0.1 ms of system calls per step while the other threads waited).
  static const std::size_t hardware = std::max(1u, std::thread::hardware_concurrency());
  return hardware;
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

/// One loop at a time: its tasks, the next unclaimed index, the first failure.
struct Job {
  const FunctionRef<std::size_t>* fn = nullptr;
  std::size_t tasks = 0;
  std::size_t participants = 0;  // workers 0 … participants − 2 join, with the calling thread
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex m;
  std::size_t failed_task = 0;
  std::exception_ptr error;

  void work() {
    for (;;) {
      const std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= tasks || failed.load(std::memory_order_relaxed)) return;
      try {
        (*fn)(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(m);
        if (i < failed_task) {
          failed_task = i;
          error = std::current_exception();
        }
        failed.store(true);
      }
    }
  }
};

class Pool {
 public:
  /// Runs the job on the calling thread and up to `extra` workers; false if the pool is busy (another
  /// thread's loop), and then the caller runs it alone.
  bool run(Job& job, std::size_t extra) {
    std::unique_lock<std::mutex> busy(submit_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    grow(extra);
    job.participants = extra + 1;
    job_ = &job;
    const std::uint64_t g = generation_.fetch_add(1) + 1;  // publishes job_ (seq_cst)
    if (sleepers_.load() > 0) {
      { std::lock_guard<std::mutex> lock(sleep_m_); }
      sleep_cv_.notify_all();
    }
    job.work();
    // Every worker checks out of this generation before the job (on the caller's stack) goes away. A
    // worker the OS has not scheduled yet (more busy threads than cores: ctest -j, other processes)
    // gets the core after a few thousand spins, rather than waiting for this thread's time slice to end.
    for (auto& w : workers_)
      for (unsigned i = 1; w->seen.load(std::memory_order_acquire) != g; ++i) {
        if (i < 4096)
          cpu_relax();
        else
          std::this_thread::yield();
      }
    return true;
  }

 private:
  struct Worker {
    std::atomic<std::uint64_t> seen{0};
    std::size_t index = 0;
  };

  void grow(std::size_t extra) {
    while (workers_.size() < extra) {
      auto w = std::make_unique<Worker>();
      w->index = workers_.size();
      w->seen.store(generation_.load());
      Worker* p = w.get();
      workers_.push_back(std::move(w));
      std::thread([this, p] { loop(*p); }).detach();  // lives as long as the process
    }
  }

  void loop(Worker& w) {
    t_in_task = true;
    std::uint64_t mine = w.seen.load();
    for (;;) {
      std::uint64_t g = wait_past(mine);
      Job* job = job_;
      if (w.index + 2 <= job->participants) job->work();
      mine = g;
      w.seen.store(g, std::memory_order_release);
    }
  }

  /// Spins about 200 µs for a new generation, then sleeps until one comes.
  std::uint64_t wait_past(std::uint64_t mine) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
    for (unsigned i = 1;; ++i) {
      const std::uint64_t g = generation_.load(std::memory_order_acquire);
      if (g != mine) return g;
      cpu_relax();
      if ((i & 255) == 0 && std::chrono::steady_clock::now() > until) break;
    }
    std::unique_lock<std::mutex> lock(sleep_m_);
    sleepers_.fetch_add(1);
    sleep_cv_.wait(lock, [&] { return generation_.load() != mine; });
    sleepers_.fetch_sub(1);
    return generation_.load(std::memory_order_acquire);
  }

  std::mutex submit_;
  std::vector<std::unique_ptr<Worker>> workers_;
  Job* job_ = nullptr;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> sleepers_{0};
  std::mutex sleep_m_;
  std::condition_variable sleep_cv_;
};

// Never destroyed: its detached workers may still be waiting at exit. A child of fork() has none of
// the parent's workers, so it starts a new pool (the old one is left, unused).
std::atomic<Pool*> g_pool{nullptr};
std::once_flag g_pool_once;

Pool& pool() {
  std::call_once(g_pool_once, [] {
    g_pool.store(new Pool);
    pthread_atfork(nullptr, nullptr, [] { g_pool.store(new Pool); });
  });
  return *g_pool.load();
}
}  // namespace

std::size_t num_threads() {
  const std::size_t n = g_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : default_threads();
}

void set_num_threads(std::size_t n) { g_threads.store(n, std::memory_order_relaxed); }

bool in_parallel_task() { return t_in_task; }

void parallel_for(std::size_t tasks, FunctionRef<std::size_t> fn, std::size_t max_threads) {
  std::size_t workers = t_in_task ? 1 : std::min(num_threads(), tasks);
  if (max_threads > 0) workers = std::min(workers, max_threads);
  Job job;
  job.fn = &fn;
  job.tasks = tasks;
  job.failed_task = tasks;
  const bool outer = !t_in_task;
  t_in_task = true;  // the caller's own tasks: nested loops inside them run inline
  const bool pooled = workers > 1 && pool().run(job, workers - 1);
  if (!pooled) job.work();
  t_in_task = !outer;
  if (job.error) std::rethrow_exception(job.error);
}

void parallel_chunks(std::size_t n, std::size_t grain, FunctionRef<std::size_t, std::size_t> fn) {
  grain = std::max<std::size_t>(grain, 1);
  if (n <= grain) {
    if (n > 0) fn(0, n);
    return;
  }
  const auto chunk = [&](std::size_t c) { fn(c * grain, std::min(n, (c + 1) * grain)); };
  parallel_for((n + grain - 1) / grain, chunk);
}

}  // namespace tapir

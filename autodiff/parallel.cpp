// tapir/autodiff/parallel.cpp — see parallel.hpp.
#include "autodiff/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace tapir {

namespace {
std::atomic<std::size_t> g_threads{0};

std::size_t default_threads() {
  if (const char* s = std::getenv("TAPIR_NUM_THREADS")) {
    char* end = nullptr;
    const long v = std::strtol(s, &end, 10);
    if (end != s && *end == '\0' && v > 0) return static_cast<std::size_t>(v);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}
}  // namespace

std::size_t num_threads() {
  const std::size_t n = g_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : default_threads();
}

void set_num_threads(std::size_t n) { g_threads.store(n, std::memory_order_relaxed); }

void parallel_for(std::size_t tasks, const std::function<void(std::size_t)>& fn) {
  const std::size_t workers = std::min(num_threads(), tasks);
  if (workers <= 1) {
    for (std::size_t i = 0; i < tasks; ++i) fn(i);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex m;
  std::size_t failed_task = tasks;
  std::exception_ptr error;
  auto work = [&] {
    for (;;) {
      const std::size_t i = next.fetch_add(1);
      if (i >= tasks || failed.load()) return;
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(m);
        if (i < failed_task) {
          failed_task = i;
          error = std::current_exception();
        }
        failed.store(true);
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (std::size_t t = 1; t < workers; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace tapir

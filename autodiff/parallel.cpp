// tapir/autodiff/parallel.cpp — see parallel.hpp.
#include "autodiff/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

// The BLAS library's thread controls, when the linked library has them (weak: absent → null).
extern "C" {
__attribute__((weak)) void openblas_set_num_threads(int);
__attribute__((weak)) int openblas_get_num_threads();
__attribute__((weak)) char* openblas_get_corename();
__attribute__((weak)) void bli_thread_set_num_threads(long);
__attribute__((weak)) long bli_thread_get_num_threads();
__attribute__((weak)) int bli_arch_query_id();
__attribute__((weak)) const char* bli_arch_string(int);
}

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

int blas_threads() {
  if (openblas_get_num_threads) return openblas_get_num_threads();
  if (bli_thread_get_num_threads) return static_cast<int>(std::max(1L, bli_thread_get_num_threads()));
  return 1;
}

void set_blas_threads(int n) {
  if (n < 1) n = 1;
  if (openblas_set_num_threads) openblas_set_num_threads(n);
  if (bli_thread_set_num_threads) bli_thread_set_num_threads(n);
}

const char* blas_kernels() {
  if (openblas_get_corename) return openblas_get_corename();
  if (bli_arch_query_id && bli_arch_string) return bli_arch_string(bli_arch_query_id());
  return "unknown";
}

}  // namespace tapir

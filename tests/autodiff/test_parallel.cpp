// parallel_for (each task once, exceptions, thread counts), the BLAS choice (autodiff/blas.hpp) and the
// tape's in-place closures.
#include <atomic>
#include <stdexcept>
#include <vector>

#include "autodiff/blas.hpp"
#include "autodiff/parallel.hpp"
#include "check.hpp"

using namespace tapir;

namespace {
/// Restores tapir's thread count after a test changes it.
struct ThreadsReset {
  ~ThreadsReset() { set_num_threads(0); }
};
}  // namespace

TEST_CASE("parallel_for runs every task exactly once at any thread count") {
  ThreadsReset reset;
  for (std::size_t threads : {1, 2, 3, 8}) {
    set_num_threads(threads);
    CHECK(num_threads() == threads);
    for (std::size_t tasks : {0, 1, 2, 7, 100}) {
      std::vector<std::atomic<int>> runs(tasks);
      parallel_for(tasks, [&](std::size_t i) { ++runs[i]; });
      for (std::size_t i = 0; i < tasks; ++i) CHECK(runs[i].load() == 1);
    }
  }
}

TEST_CASE("parallel_for: per-task results combined in task order do not depend on the thread count") {
  ThreadsReset reset;
  auto run = [](std::size_t threads) {
    set_num_threads(threads);
    std::vector<double> part(16);
    parallel_for(part.size(), [&](std::size_t i) {
      Rng rng(1000 + i);  // one stream per task
      const Array<double> x = normal<double>(rng, {1000}, 0.0, 1.0);
      part[i] = std::accumulate(x.begin(), x.end(), 0.0);
    });
    return std::accumulate(part.begin(), part.end(), 0.0);
  };
  const double one = run(1);
  CHECK(run(2) == one);
  CHECK(run(5) == one);
}

TEST_CASE("parallel_for rethrows the lowest-numbered task's exception after the others finish") {
  ThreadsReset reset;
  for (std::size_t threads : {1, 2, 4}) {
    set_num_threads(threads);
    std::atomic<int> done{0};
    try {
      parallel_for(6, [&](std::size_t i) {
        if (i == 1 || i == 4) throw std::runtime_error("task " + std::to_string(i));
        ++done;
      });
      FAIL("no exception");
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()) == "task 1");
    }
    CHECK(done.load() <= 4);
  }
}

TEST_CASE("TAPIR_NUM_THREADS sets the default; set_num_threads(0) returns to it") {
  ThreadsReset reset;
  setenv("TAPIR_NUM_THREADS", "3", 1);
  set_num_threads(0);
  CHECK(num_threads() == 3);
  setenv("TAPIR_NUM_THREADS", "zero", 1);  // not a count: the hardware's concurrency
  CHECK(num_threads() >= 1);
  unsetenv("TAPIR_NUM_THREADS");
  set_num_threads(2);
  CHECK(num_threads() == 2);
}

TEST_CASE("the product library: named, its thread count settable and restored by BlasThreadsGuard") {
  const std::string summary = blas_summary();
  MESSAGE("BLAS: " << summary);
  CHECK(summary.find(blas_library()) == 0);
  CHECK(std::string(blas_kernels()) != "");
  const int before = blas_threads();
  {
    BlasThreadsGuard one(1);
    CHECK(blas_threads() == 1);
  }
  CHECK(blas_threads() == before);
}

TEST_CASE("blas_sgemm and blas_dgemm: every transpose against the definition, beta 0 and 1") {
  Rng rng(3);
  const std::size_t m = 5, n = 7, k = 3;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (double beta : {0.0, 1.0}) {
        const Array<double> a = normal<double>(rng, ta ? Shape{k, m} : Shape{m, k}, 0.0, 1.0);
        const Array<double> b = normal<double>(rng, tb ? Shape{n, k} : Shape{k, n}, 0.0, 1.0);
        Array<double> c = normal<double>(rng, {m, n}, 0.0, 1.0);
        Array<float> cf = xt::cast<float>(c);
        const Array<float> af = xt::cast<float>(a), bf = xt::cast<float>(b);
        Array<double> want = beta * c;
        for (std::size_t i = 0; i < m; ++i)
          for (std::size_t j = 0; j < n; ++j)
            for (std::size_t l = 0; l < k; ++l) want(i, j) += 2.0 * (ta ? a(l, i) : a(i, l)) * (tb ? b(j, l) : b(l, j));
        blas_dgemm(ta, tb, m, n, k, 2.0, a.data(), b.data(), beta, c.data());
        blas_sgemm(ta, tb, m, n, k, 2.0f, af.data(), bf.data(), static_cast<float>(beta), cf.data());
        for (std::size_t i = 0; i < m * n; ++i) {
          CHECK(c.data()[i] == doctest::Approx(want.data()[i]).epsilon(1e-12));
          CHECK(cf.data()[i] == doctest::Approx(want.data()[i]).epsilon(1e-5));
        }
      }
}

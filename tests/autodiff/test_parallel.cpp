// parallel_for (each task once, exceptions, thread counts), the BLAS choice (autodiff/blas.hpp) and the
// tape's in-place closures.
#include <algorithm>
#include <array>
#include <atomic>
#include <stdexcept>
#include <thread>
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

TEST_CASE("parallel_for: a loop inside a task runs inline; loops from two threads at once both finish") {
  ThreadsReset reset;
  set_num_threads(2);
  CHECK_FALSE(in_parallel_task());
  std::vector<int> inner(4 * 8, 0);
  std::atomic<int> nested_inline{0};
  parallel_for(4, [&](std::size_t i) {
    if (in_parallel_task()) ++nested_inline;
    parallel_for(8, [&](std::size_t j) { inner[i * 8 + j] += 1; });  // each (i, j) written by one thread
  });
  CHECK(nested_inline.load() == 4);
  CHECK(std::all_of(inner.begin(), inner.end(), [](int v) { return v == 1; }));
  CHECK_FALSE(in_parallel_task());
  std::vector<std::atomic<int>> a(1000), b(1000);
  std::thread other([&] {
    for (int r = 0; r < 50; ++r) parallel_for(a.size(), [&](std::size_t i) { ++a[i]; });
  });
  for (int r = 0; r < 50; ++r) parallel_for(b.size(), [&](std::size_t i) { ++b[i]; });
  other.join();
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].load() == 50);
    CHECK(b[i].load() == 50);
  }
}

TEST_CASE("parallel_chunks covers [0, n) once, in chunks that depend on n and the grain only") {
  ThreadsReset reset;
  for (std::size_t threads : {1, 2, 3}) {
    set_num_threads(threads);
    for (std::size_t n : {0, 1, 5, 16, 17, 100}) {
      std::vector<std::atomic<int>> hit(n);
      std::vector<std::pair<std::size_t, std::size_t>> chunks((n + 4) / 5);
      parallel_chunks(n, 5, [&](std::size_t lo, std::size_t hi) {
        chunks[lo / 5] = {lo, hi};
        for (std::size_t i = lo; i < hi; ++i) ++hit[i];
      });
      for (std::size_t i = 0; i < n; ++i) CHECK(hit[i].load() == 1);
      for (std::size_t c = 0; c < chunks.size(); ++c) {
        CHECK(chunks[c].first == 5 * c);
        CHECK(chunks[c].second == std::min(n, 5 * c + 5));
      }
    }
  }
}

TEST_CASE("products split over tapir's threads: right for every transpose and beta, the same bits at any count") {
  ThreadsReset reset;
  Rng rng(5);
  // Large enough to be split (≥ 4 MFLOP): wide C is split by columns, tall C by rows; sizes not
  // multiples of the 16-column panels.
  for (auto [m, n, k] : {std::array<std::size_t, 3>{37, 301, 411}, std::array<std::size_t, 3>{301, 37, 411}}) {
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (double beta : {0.0, 1.0}) {
          const Array<double> a = normal<double>(rng, ta ? Shape{k, m} : Shape{m, k}, 0.0, 1.0);
          const Array<double> b = normal<double>(rng, tb ? Shape{n, k} : Shape{k, n}, 0.0, 1.0);
          const Array<double> c0 = normal<double>(rng, {m, n}, 0.0, 1.0);
          const Array<float> af = xt::cast<float>(a), bf = xt::cast<float>(b), cf0 = xt::cast<float>(c0);
          Array<double> want = beta * c0;
          for (std::size_t i = 0; i < m; ++i)
            for (std::size_t l = 0; l < k; ++l) {
              const double ail = ta ? a(l, i) : a(i, l);
              for (std::size_t j = 0; j < n; ++j) want(i, j) += 0.5 * ail * (tb ? b(j, l) : b(l, j));
            }
          std::vector<Array<float>> got;
          for (std::size_t threads : {1, 2, 3}) {
            set_num_threads(threads);
            Array<double> c = c0;
            Array<float> cf = cf0;
            blas_dgemm(ta, tb, m, n, k, 0.5, a.data(), b.data(), beta, c.data());
            blas_sgemm(ta, tb, m, n, k, 0.5f, af.data(), bf.data(), static_cast<float>(beta), cf.data());
            for (std::size_t i = 0; i < m * n; ++i) {
              REQUIRE(c.data()[i] == doctest::Approx(want.data()[i]).epsilon(1e-12));
              REQUIRE(cf.data()[i] == doctest::Approx(want.data()[i]).epsilon(1e-4).scale(10.0));
            }
            got.push_back(cf);
          }
          {
            BlasThreadsGuard one(1);  // products on one thread: the same parts, one after the other
            Array<float> cf = cf0;
            blas_sgemm(ta, tb, m, n, k, 0.5f, af.data(), bf.data(), static_cast<float>(beta), cf.data());
            got.push_back(cf);
          }
          // (The library's own threads, TAPIR_GEMM_THREADS=library, give other bits at other counts.)
          if (blas_split_by_tapir())
            for (const Array<float>& g : got) CHECK(std::equal(g.begin(), g.end(), got[0].begin()));
        }
  }
}

TEST_CASE("elementwise passes split into chunks: the same bits at any thread count, and as one element alone") {
  ThreadsReset reset;
  Rng rng(8);
  const Array<float> x0 = normal<float>(rng, {3, 30001}, 0.0f, 3.0f);  // many chunks and a tail
  std::vector<Array<float>> values, grads;
  for (std::size_t threads : {1, 2, 3}) {
    set_num_threads(threads);
    Tape<float> tape;
    Var<float> x = tape.variable(x0);
    Var<float> y = tapir::tanh(x) * tapir::sigmoid(x);
    tapir::sum(y).backward();
    values.push_back(y.value());
    grads.push_back(x.grad());
  }
  for (std::size_t t = 1; t < values.size(); ++t) {
    CHECK(std::equal(values[t].begin(), values[t].end(), values[0].begin()));
    CHECK(std::equal(grads[t].begin(), grads[t].end(), grads[0].begin()));
  }
  for (std::size_t i : {std::size_t(0), std::size_t(12345), x0.size() - 1}) {  // position-independent
    Tape<float> tape;
    Var<float> x = tape.variable(Array<float>{x0.data()[i]});
    Var<float> y = tapir::tanh(x) * tapir::sigmoid(x);
    CHECK(y.value()(0) == values[0].data()[i]);
  }
}

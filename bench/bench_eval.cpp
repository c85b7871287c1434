// bench/bench_eval.cpp — `tapir eval`'s importance sampler against its product floor: the time BLAS
// needs for exactly the matrix products one evaluation makes.
//
//   bench_eval RUN_DIR [--limit N] [-k K] [--latent-rows R] [--split test|train] [--seed S]
//
// 1. evaluate_model on the first N rows of the split (K importance samples, R latents per call) on
//    num_threads() threads (TAPIR_NUM_THREADS), every sgemm recorded (shape, transposes, beta) through
//    the __wrap_ of tapir::blas_sgemm (linker --wrap, see CMakeLists.txt; every float product, whichever
//    library does it), with its wall time;
// 2. the floor: the same sgemm calls replayed on random matrices with nothing else, in two ways —
//    `floor_tasks`: the calls spread over num_threads() threads by parallel_for, BLAS on one thread each
//    (how evaluate_model runs them); `floor_blas`: one call at a time, BLAS on num_threads() threads.
// Prints one JSON object: the eval's seconds, its log p(x), GFLOP, the floors and the ratio eval / floor.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "autodiff/blas.hpp"
#include "autodiff/parallel.hpp"
#include "autodiff/random.hpp"
#include "models/run/evaluate.hpp"
#include "models/train/run.hpp"

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Call {
  bool ta, tb;
  int m, n, k;
  float beta;
};
std::mutex g_mutex;
std::vector<Call> g_calls;
bool g_record = false;
std::atomic<long long> g_sgemm_ns{0};
}  // namespace

extern "C" {
void __real__ZN5tapir10blas_sgemmEbbmmmfPKfS1_fPf(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k,
                                                  float alpha, const float* a, const float* b, float beta, float* c);
void __wrap__ZN5tapir10blas_sgemmEbbmmmfPKfS1_fPf(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k,
                                                  float alpha, const float* a, const float* b, float beta, float* c) {
  const auto t0 = Clock::now();
  __real__ZN5tapir10blas_sgemmEbbmmmfPKfS1_fPf(ta, tb, m, n, k, alpha, a, b, beta, c);
  if (g_record) {
    g_sgemm_ns.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
    std::lock_guard<std::mutex> lock(g_mutex);
    g_calls.push_back({ta, tb, int(m), int(n), int(k), beta});
  }
}
}

namespace {

/// Replays the calls on random matrices: spread over the threads by parallel_for (BLAS on one thread
/// each) when `tasks`, else one at a time with BLAS on num_threads() threads. Returns seconds.
double replay(const std::vector<Call>& calls, bool tasks) {
  std::size_t most = 0;
  for (const Call& c : calls)
    most = std::max({most, std::size_t(c.m) * c.k, std::size_t(c.k) * c.n, std::size_t(c.m) * c.n});
  const std::size_t threads = tapir::num_threads();
  std::vector<std::vector<float>> a(threads, std::vector<float>(most, 0.01f)), b = a, c = a;
  const auto run = [&](std::size_t slot, const Call& k) {
    tapir::blas_sgemm(k.ta, k.tb, k.m, k.n, k.k, 1.0f, a[slot].data(), b[slot].data(), k.beta, c[slot].data());
  };
  const auto t0 = Clock::now();
  if (tasks) {
    tapir::BlasThreadsGuard one(1);
    // Task t (one per thread, its own buffers) runs calls t, t + threads, …
    tapir::parallel_for(threads, [&](std::size_t t) {
      for (std::size_t i = t; i < calls.size(); i += threads) run(t, calls[i]);
    });
  } else {
    tapir::BlasThreadsGuard all(static_cast<int>(threads));
    for (const Call& k : calls) run(0, k);
  }
  return since(t0);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tapir;
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0) {
    std::fprintf(stderr, "usage: bench_eval RUN_DIR [--limit N] [-k K] [--latent-rows R] [--split test|train]\n");
    return 2;
  }
  std::string run_dir = argv[1], split = "test";
  std::size_t limit = 500, k = 5000, latent_rows = 0;
  std::uint64_t seed = 1;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string f = argv[i];
    if (f == "--split") {
      split = argv[i + 1];
      continue;
    }
    const std::size_t v = std::stoul(argv[i + 1]);
    if (f == "--limit")
      limit = v;
    else if (f == "-k")
      k = v;
    else if (f == "--latent-rows")
      latent_rows = v;
    else if (f == "--seed")
      seed = v;
    else {
      std::fprintf(stderr, "bench_eval: unknown flag %s\n", f.c_str());
      return 2;
    }
  }
  const auto config = models::load_vae_run_config(run_dir);
  const auto model = models::load_run_model(run_dir, "last");
  const auto d = models::load_vae_split(config.train, models::data::split_from_string(split));
  const Array<float> x = d.first(limit > 0 ? limit : d.size());
  if (latent_rows == 0) latent_rows = models::evaluation_rows(config.model);
  Rng rng(seed);
  g_record = true;
  const auto e = models::evaluate_model(*model, x, k, rng, models::kEvaluationBatch, nullptr, latent_rows);
  g_record = false;
  double flop = 0;
  for (const Call& c : g_calls) flop += 2.0 * c.m * c.n * c.k;
  replay(g_calls, true);  // warm-up
  const double floor_tasks = replay(g_calls, true), floor_blas = replay(g_calls, false);
  const double floor = std::min(floor_tasks, floor_blas);
  std::printf(
      "{\"n\": %zu, \"k\": %zu, \"latent_rows\": %zu, \"threads\": %zu, \"blas\": \"%s\", \"log_likelihood\": %.10g, "
      "\"elbo\": %.10g, \"eval_seconds\": %.3f, \"sgemm_seconds_in_eval\": %.3f, \"sgemm_calls\": %zu, \"gflop\": "
      "%.1f, "
      "\"floor_tasks_seconds\": %.3f, \"floor_blas_seconds\": %.3f, \"floor_gflops\": %.1f, \"ratio\": %.3f}\n",
      e.n, k, latent_rows, num_threads(), blas_kernels(), e.log_likelihood, e.elbo, e.seconds, g_sgemm_ns.load() * 1e-9,
      g_calls.size(), flop * 1e-9, floor_tasks, floor_blas, flop * 1e-9 / floor, e.seconds / floor);
  return 0;
}

// bench/bench_data.cpp — the training loop's data path on MNIST-sized data (60 000 images of 784 pixels,
// minibatches of 100, dynamic binarisation), two ways:
//   (a) floats  the data set as an (N, D) float array: gather_rows, then binarize_dynamic into a second
//               buffer (tapir's path before data sets were kept as bytes);
//   (b) bytes   the data set as bytes: gather_binarized, converting and drawing in one pass (the trainer's).
// Both draw the same pixels (checked on every batch of the first epoch before anything is timed); the
// table gives ms per epoch (median and minimum over interleaved rounds), the data set's memory, and heap
// allocations per step after the first epoch (a replaced operator new and a wrapped posix_memalign,
// xtensor's allocator, count them).
//
//   bench_data [--rounds N] [--seed N]
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <new>
#include <string>
#include <vector>

#include "models/data/dataset.hpp"

namespace {
std::atomic<long long> g_allocs{0};
}  // namespace

extern "C" int __real_posix_memalign(void** p, std::size_t alignment, std::size_t size);
extern "C" int __wrap_posix_memalign(void** p, std::size_t alignment, std::size_t size) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  return __real_posix_memalign(p, alignment, size);
}
void* operator new(std::size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace tapir;
namespace data = tapir::models::data;

namespace {
using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

constexpr std::size_t kN = 60'000, kBatch = 100;

struct Path {
  std::vector<std::size_t> order, idx;
  Array<float> x, xb;
  Rng pixels{1};
};

/// One epoch of minibatches; `f(path)` makes one batch from path.idx into path.xb.
template <class F>
void epoch(Path& p, Rng& order_rng, const F& f) {
  permutation(order_rng, kN, p.order);
  for (std::size_t pos = 0; pos < kN; pos += kBatch) {
    p.idx.assign(p.order.begin() + static_cast<long>(pos), p.order.begin() + static_cast<long>(pos + kBatch));
    f(p);
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) try {
  std::size_t rounds = 7;
  std::uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--rounds" && i + 1 < argc)
      rounds = std::stoul(argv[++i]);
    else if (a == "--seed" && i + 1 < argc)
      seed = std::stoull(argv[++i]);
    else
      throw std::runtime_error("usage: bench_data [--rounds N] [--seed N]");
  }
  // MNIST-like bytes: most pixels 0, the rest spread over the grey levels.
  data::Dataset bytes;
  bytes.rows = bytes.cols = 28;
  bytes.pixels.resize(kN * 784);
  Rng fill(seed);
  for (auto& b : bytes.pixels) b = fill.uniform() < 0.8 ? 0 : static_cast<std::uint8_t>(fill.below(256));
  const Array<float> floats = bytes.x();

  const auto by_floats = [&](Path& p) {
    data::gather_rows(floats, p.idx, p.x);
    data::binarize_dynamic(p.x, p.pixels, p.xb);
  };
  const auto by_bytes = [&](Path& p) { data::gather_binarized(bytes, p.idx, p.pixels, p.xb); };
  // Without binarisation (Frey Face, thresholded MNIST): the gather alone.
  const auto gather_floats = [&](Path& p) { data::gather_rows(floats, p.idx, p.xb); };
  const auto gather_bytes = [&](Path& p) { data::gather_rows(bytes, p.idx, p.xb); };

  // The same draws, batch by batch, over a first epoch (which also warms the buffers up).
  Path a, b;
  Rng order_a(seed + 1), order_b(seed + 1);
  std::vector<Array<float>> batches;
  epoch(a, order_a, [&](Path& p) {
    by_floats(p);
    batches.push_back(p.xb);
  });
  std::size_t k = 0, mismatches = 0;
  epoch(b, order_b, [&](Path& p) {
    by_bytes(p);
    mismatches += p.xb != batches[k++];
  });
  if (mismatches) throw std::runtime_error(fmt::format("{} of {} batches differ", mismatches, batches.size()));
  batches.clear();

  struct Variant {
    const char* name;
    Path* path;
    Rng* order;
    std::function<void(Path&)> f;
    double mb;
    std::vector<double> ms;
    long long allocs = 0;
  };
  Path c = a, d = b;
  Rng order_c(seed + 2), order_d(seed + 2);
  std::vector<Variant> variants = {
      {"(a) floats: gather + binarize", &a, &order_a, by_floats, floats.size() * 4 / 1e6, {}},
      {"(b) bytes: gather_binarized", &b, &order_b, by_bytes, bytes.pixels.size() / 1e6, {}},
      {"(a') floats: gather only", &c, &order_c, gather_floats, floats.size() * 4 / 1e6, {}},
      {"(b') bytes: gather only", &d, &order_d, gather_bytes, bytes.pixels.size() / 1e6, {}}};
  for (std::size_t r = 0; r < rounds; ++r)
    for (Variant& v : variants) {
      const long long before = g_allocs.load();
      const auto t0 = Clock::now();
      epoch(*v.path, *v.order, v.f);
      v.ms.push_back(ms_since(t0));
      v.allocs += g_allocs.load() - before;
    }
  const double steps = double(rounds * (kN / kBatch));
  fmt::print("data path per epoch (60 000 x 784, M = 100; {} rounds, same draws checked)\n", rounds);
  fmt::print("{:<34} {:>10} {:>10} {:>12} {:>15}\n", "", "median ms", "min ms", "data set MB", "allocs / step");
  for (const Variant& v : variants)
    fmt::print("{:<34} {:>10.1f} {:>10.1f} {:>12.1f} {:>15.2f}\n", v.name, median(v.ms),
               *std::min_element(v.ms.begin(), v.ms.end()), v.mb, double(v.allocs) / steps);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_data: %s\n", e.what());
  return 1;
}

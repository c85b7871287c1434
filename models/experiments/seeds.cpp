#include "models/experiments/seeds.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "autodiff/array.hpp"

namespace tapir::models::experiments {

std::uint64_t run_seed(std::uint64_t base, std::size_t k) {
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  if (k > (kMax - 1) / 2 || base > kMax - 1 - 2 * std::uint64_t(k))
    throw Error(
        fmt::format("--seed {} with run {} of a configuration: the seed {} + 2·{} (+ 1) is over 2^64 − 1: "
                    "choose a smaller --seed",
                    base, k + 1, base, k));
  return base + 2 * std::uint64_t(k);
}

Spread spread(const std::vector<double>& v) {
  if (v.empty()) throw Error("spread: no values");
  Spread s;
  s.n = v.size();
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / double(s.n);
  // Two passes: Σ(x − mean)² does not cancel as Σx² − n·mean² does for bounds near −100 that differ by 0.1.
  double ss = 0;
  for (double x : v) ss += (x - s.mean) * (x - s.mean);
  s.sd = s.n > 1 ? std::sqrt(ss / double(s.n - 1)) : std::nan("");
  s.min = s.max = v.front();
  for (double x : v) {
    if (std::isnan(x)) {
      s.min = s.max = x;
      break;
    }
    s.min = std::min(s.min, x);
    s.max = std::max(s.max, x);
  }
  return s;
}

std::string format_spread(const Spread& s, int decimals) {
  if (s.n <= 1) return fmt::format("{:.{}f}", s.mean, decimals);
  return fmt::format("{:.{}f} ± {:.{}f}", s.mean, decimals, s.sd, decimals);
}

std::vector<CurveSpread> curve_spread(const std::vector<std::vector<CurvePoint>>& curves) {
  std::vector<CurveSpread> out;
  if (curves.empty()) return out;
  std::map<long long, std::vector<const CurvePoint*>> at;  // sample count → the runs' points there
  for (const auto& curve : curves)
    for (const auto& p : curve) at[p.samples].push_back(&p);
  for (const auto& [samples, points] : at) {
    if (points.size() < curves.size()) continue;  // not reached by every run (or not on its schedule)
    std::vector<double> train, test;
    double seconds = 0;
    for (const CurvePoint* p : points) {
      train.push_back(p->train_elbo);
      test.push_back(p->test_elbo);
      seconds += p->seconds;
    }
    out.push_back({samples, seconds / double(points.size()), spread(train), spread(test)});
  }
  return out;
}

}  // namespace tapir::models::experiments

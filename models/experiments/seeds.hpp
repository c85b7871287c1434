// tapir/models/experiments/seeds.hpp — several runs of one configuration: the seeds they are given, and
// what the tables and figures report over them (mean, sample standard deviation, range), at every point
// of their learning curves. Values only: the runs are read by the caller (jobs.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "models/run/curve.hpp"

namespace tapir::models::experiments {

/// The most runs of one configuration a reproduction takes (--seeds).
inline constexpr std::size_t kMaxSeeds = 1000;

/// The seed of run k (k = 0, 1, …) of a configuration whose first run has seed `base`: base + 2k.
/// The stride is 2 because a run seeded s draws from generators seeded s and s + 1 (weights, then the
/// training noise: run.cpp, trainer.cpp, avb.cpp); seeds s and s + 1 would share a stream. Run 0 has the
/// base seed itself, so one seed is the run a reproduction always made. Throws when base + 2k + 1
/// overflows 64 bits.
std::uint64_t run_seed(std::uint64_t base, std::size_t k);

/// mean, sample standard deviation (n − 1 in the denominator; NaN for one value), min and max of n values.
/// Non-finite values propagate (a diverged seed shows as such, not as a quiet average of the others).
struct Spread {
  std::size_t n = 0;
  double mean = 0, sd = 0, min = 0, max = 0;
};
/// Throws when `values` is empty.
Spread spread(const std::vector<double>& values);

/// "−94.12 ± 0.35" (mean ± sd, `decimals` each) for several values, "−94.12" for one (as a one-seed table).
std::string format_spread(const Spread& s, int decimals = 2);

/// One evaluation point of several runs' curves: where it is and the bounds' spread over the runs.
struct CurveSpread {
  long long samples = 0;
  double seconds = 0;  // mean training time to this point
  Spread train, test;
};

/// The points every curve reached (same sample count; runs of one configuration evaluate at the same
/// points), in order: the curve that ends first ends the mean curve. One curve gives its own points.
std::vector<CurveSpread> curve_spread(const std::vector<std::vector<CurvePoint>>& curves);

}  // namespace tapir::models::experiments

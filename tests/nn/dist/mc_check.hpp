// tests/nn/dist/mc_check.hpp — Monte Carlo helpers shared by the distribution tests.
#pragma once

#include <cmath>
#include <string>

#include <xtensor/xview.hpp>

#include "autodiff/check.hpp"
#include "nn/dist/dist.hpp"

namespace tapir::test {

/// Mean and standard error of the mean along axis 0 of `a` (N, rest...), per element of rest.
struct McEstimate {
  Array<double> mean, se;
};

inline McEstimate mc_estimate(const Array<double>& a) {
  const std::size_t n = a.shape()[0];
  REQUIRE(n > 1);
  McEstimate r;
  r.mean = xt::mean(a, {0});
  Array<double> centred = a - r.mean;
  Array<double> var = xt::sum(centred * centred, {0}) / double(n - 1);
  r.se = xt::sqrt(var / double(n));
  return r;
}

/// Checks `expected` lies within k standard errors of the Monte Carlo estimate (plus a tiny absolute
/// slack for estimates with zero variance).
inline void check_within_se(const McEstimate& est, const Array<double>& expected, const std::string& what,
                            double k = 4.0) {
  REQUIRE(est.mean.shape() == expected.shape());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO(what << ": element " << i << ": MC " << est.mean.data()[i] << " ± " << est.se.data()[i] << ", expected "
              << expected.data()[i]);
    CHECK(std::abs(est.mean.data()[i] - expected.data()[i]) <= k * est.se.data()[i] + 1e-12);
  }
}

/// Entropy against −E[log p(x)], x ~ p (n draws), within k standard errors.
inline void check_entropy_mc(const dist::Distribution<double>& p, Rng& rng, std::size_t n, const std::string& what) {
  Array<double> lp = p.log_prob(p.sample(rng, {n})).value();
  check_within_se(mc_estimate(-lp), p.entropy().value(), what + " entropy vs -E[log p]");
}

/// Sample mean and variance against mean() and variance(), within k standard errors each.
inline void check_moments(const dist::Distribution<double>& p, Rng& rng, std::size_t n, const std::string& what) {
  Array<double> x = p.sample(rng, {n}).value();
  McEstimate m = mc_estimate(x);
  check_within_se(m, p.mean().value(), what + " sample mean");
  Array<double> mu = p.mean().value();
  Array<double> sq = (x - mu) * (x - mu);  // E[(x − μ)²] = Var x, with the exact μ
  check_within_se(mc_estimate(sq), p.variance().value(), what + " sample variance");
}

}  // namespace tapir::test

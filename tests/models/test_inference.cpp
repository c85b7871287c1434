// HMC (stationary moments, adapted acceptance), importance sampling and AIS against probabilistic
// PCA's exact log-likelihood.
#include <doctest/doctest.h>

#include <cmath>
#include <xtensor/xview.hpp>

#include "autodiff/check.hpp"
#include "models/em/ppca.hpp"
#include "models/inference/ais.hpp"

using namespace tapir;
using namespace tapir::models;
using test::check_throws_with;

namespace {
constexpr double kLog2Pi = 1.8378770664093453;

/// log N(z; 0, I) per row.
Var<double> standard_normal_log_density(const Var<double>& z) {
  const double d = double(z.shape()[1]);
  return -0.5 * sum(square(z), 1) - 0.5 * d * kLog2Pi;
}

/// The pPCA model as a LatentModel for data x (n, D): row r of z explains x_{r mod n}.
struct PpcaLatent {
  em::LinearGaussian m;
  Array<double> x;
  LatentModel<double> model() const {
    LatentModel<double> lm;
    lm.log_prior = standard_normal_log_density;
    lm.sample_prior = [](std::size_t rows, Rng& rng) { return normal<double>(rng, {rows, 2}); };
    lm.log_likelihood = [this](const Var<double>& z) {  // log N(x; W z + μ, σ² I)
      const std::size_t rows = z.shape()[0], n = x.shape()[0], d = x.shape()[1];
      Array<double> tiled = Array<double>::from_shape({rows, d});
      for (std::size_t r = 0; r < rows; ++r) std::copy_n(x.data() + (r % n) * d, d, tiled.data() + r * d);
      Tape<double>& tape = z.tape();
      const Array<double> wt = xt::transpose(m.w), mu = xt::reshape_view(m.mu, {std::size_t(1), d});
      const double s2 = m.psi(0);
      const Var<double> mean = matmul(z, tape.constant(wt)) + tape.constant(mu);
      return -0.5 / s2 * sum(square(tape.constant(tiled) - mean), 1) - 0.5 * double(d) * std::log(2 * M_PI * s2);
    };
    return lm;
  }
};

PpcaLatent small_ppca(Rng& rng) {
  PpcaLatent p;
  p.m.w = normal<double>(rng, {5, 2});
  p.m.mu = normal<double>(rng, {5});
  p.m.psi = xt::ones<double>({5}) * 0.3;
  p.x = em::sample(p.m, 6, rng);
  return p;
}

Array<double> exact_log_likelihoods(const PpcaLatent& p) {
  Array<double> out = Array<double>::from_shape({p.x.shape()[0]});
  for (std::size_t i = 0; i < out.size(); ++i)
    out(i) = em::log_likelihood(p.m, xt::view(p.x, xt::range(i, i + 1), xt::all()));
  return out;
}
}  // namespace

TEST_CASE("HMC samples a correlated Gaussian and adapts its step size to the target acceptance") {
  const Array<double> prec = test::arr({2, 2}, {1 / 0.36, -0.8 / 0.36, -0.8 / 0.36, 1 / 0.36});  // Σ = [[1,.8],[.8,1]]
  const LogDensityFn<double> log_p = [&](const Var<double>& z) {
    const Var<double> pz = matmul(z, z.tape().constant(prec));
    return -0.5 * sum(pz * z, 1);
  };
  HmcOptions o;
  o.leapfrog_steps = 10;
  o.step_size = 1.0;  // too large at first
  Hmc<double> hmc(log_p, 400, o);
  Rng rng(3);
  Array<double> z = xt::zeros<double>({400, 2});
  z = hmc.run(z, 150, rng);  // warm-up with adaptation
  CHECK(hmc.last_acceptance() == doctest::Approx(0.9).epsilon(0.1));
  CHECK(xt::mean(hmc.step_sizes())() < 1.0);
  hmc.set_adapt(false);
  double m0 = 0, m1 = 0, s00 = 0, s01 = 0, s11 = 0;
  const int sweeps = 50;
  for (int s = 0; s < sweeps; ++s) {
    z = hmc.step(z, rng);
    for (std::size_t r = 0; r < 400; ++r) {
      m0 += z(r, 0), m1 += z(r, 1);
      s00 += z(r, 0) * z(r, 0), s01 += z(r, 0) * z(r, 1), s11 += z(r, 1) * z(r, 1);
    }
  }
  const double k = 400.0 * sweeps;
  CHECK(std::abs(m0 / k) < 0.05);
  CHECK(std::abs(m1 / k) < 0.05);
  CHECK(s00 / k == doctest::Approx(1.0).epsilon(0.08));
  CHECK(s01 / k == doctest::Approx(0.8).epsilon(0.08));
  CHECK(s11 / k == doctest::Approx(1.0).epsilon(0.08));
  check_throws_with([&] { hmc.step(xt::zeros<double>({3, 2}), rng); }, {"for 400 chains"});
}

TEST_CASE("importance sampling: exact with the exact posterior, close with the prior; pPCA") {
  Rng rng(8);
  const PpcaLatent p = small_ppca(rng);
  const auto model = p.model();
  const std::size_t n = p.x.shape()[0], k = 20;
  const Array<double> exact = exact_log_likelihoods(p);

  // p(z|x) = N(M⁻¹ Wᵀ (x − μ), σ² M⁻¹), M = WᵀW + σ² I: every weight equals p(x).
  const double s2 = p.m.psi(0);
  Array<double> mm = xt::zeros<double>({2, 2});
  for (std::size_t a = 0; a < 2; ++a)
    for (std::size_t b = 0; b < 2; ++b) {
      for (std::size_t i = 0; i < 5; ++i) mm(a, b) += p.m.w(i, a) * p.m.w(i, b);
      if (a == b) mm(a, b) += s2;
    }
  const double det = mm(0, 0) * mm(1, 1) - mm(0, 1) * mm(1, 0);
  const Array<double> inv = test::arr({2, 2}, {mm(1, 1) / det, -mm(0, 1) / det, -mm(1, 0) / det, mm(0, 0) / det});
  const Array<double> cov = inv * s2;
  const double l00 = std::sqrt(cov(0, 0)), l10 = cov(1, 0) / l00, l11 = std::sqrt(cov(1, 1) - l10 * l10);
  Array<double> z = Array<double>::from_shape({k * n, 2}), log_q = Array<double>::from_shape({k * n});
  for (std::size_t r = 0; r < k * n; ++r) {
    const std::size_t i = r % n;
    double wtx[2] = {0, 0};
    for (std::size_t a = 0; a < 2; ++a)
      for (std::size_t d = 0; d < 5; ++d) wtx[a] += p.m.w(d, a) * (p.x(i, d) - p.m.mu(d));
    const double mean0 = inv(0, 0) * wtx[0] + inv(0, 1) * wtx[1], mean1 = inv(1, 0) * wtx[0] + inv(1, 1) * wtx[1];
    const double e0 = rng.normal(), e1 = rng.normal();
    z(r, 0) = mean0 + l00 * e0;
    z(r, 1) = mean1 + l10 * e0 + l11 * e1;
    log_q(r) = -0.5 * (e0 * e0 + e1 * e1) - std::log(l00 * l11) - kLog2Pi;
  }
  const Array<double> exact_q = importance_log_marginal(model, z, log_q, n);
  for (std::size_t i = 0; i < n; ++i) CHECK(exact_q(i) == doctest::Approx(exact(i)).epsilon(1e-9));

  const std::size_t big = 20000;  // the prior as proposal: unbiased in p(x), noisy in log p(x)
  const Array<double> zp = normal<double>(rng, {big * n, 2});
  Array<double> log_prior = Array<double>::from_shape({big * n});
  for (std::size_t r = 0; r < big * n; ++r) log_prior(r) = -0.5 * (zp(r, 0) * zp(r, 0) + zp(r, 1) * zp(r, 1)) - kLog2Pi;
  const Array<double> from_prior = importance_log_marginal(model, zp, log_prior, n);
  for (std::size_t i = 0; i < n; ++i) CHECK(from_prior(i) == doctest::Approx(exact(i)).epsilon(0.02));
}

TEST_CASE("AIS with frozen kernels matches pPCA's exact log-likelihood within its standard error") {
  Rng rng(9);
  const PpcaLatent p = small_ppca(rng);
  const auto model = p.model();
  const std::size_t n = p.x.shape()[0];
  AisOptions o;
  o.steps = 500;
  o.chains = 64;
  o.hmc.leapfrog_steps = 5;
  o.hmc.step_size = 0.3;
  const Array<double> draws = normal<double>(rng, {o.chains * n, 2});
  const AisResult r = ais(model, draws, n, o, rng);
  const Array<double> exact = exact_log_likelihoods(p);
  // Standard error of log p̂ per point by the delta method: sd(e^w) / (√S mean(e^w)).
  double mean_error = 0, var_mean = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double mx = -1e300, m1 = 0, m2 = 0;
    for (std::size_t c = 0; c < o.chains; ++c) mx = std::max(mx, r.log_weights(c, i));
    for (std::size_t c = 0; c < o.chains; ++c) {
      const double e = std::exp(r.log_weights(c, i) - mx);
      m1 += e / double(o.chains);
      m2 += e * e / double(o.chains);
    }
    const double se = std::sqrt(std::max(m2 - m1 * m1, 0.0) / double(o.chains)) / m1;
    INFO("point " << i << ": AIS " << r.log_marginal(i) << ", exact " << exact(i) << ", standard error " << se);
    CHECK(std::abs(r.log_marginal(i) - exact(i)) < 4 * se + 1e-3);
    mean_error += (r.log_marginal(i) - exact(i)) / double(n);
    var_mean += se * se / double(n * n);
  }
  // The mean error over the points within 3 standard errors, which are a few hundredths of a nat: a bias
  // like the 0.3 nats of chain-by-chain adaptation would be 10+ standard errors away.
  INFO("mean error " << mean_error << ", its standard error " << std::sqrt(var_mean));
  CHECK(std::sqrt(var_mean) < 0.02);
  CHECK(std::abs(mean_error) < 3 * std::sqrt(var_mean));
  CHECK(r.acceptance > 0.5);
  CHECK(r.pilot_acceptance == doctest::Approx(0.9).epsilon(0.15));
  // The kernels were adapted (ε moves along the schedule) in the pilot, and frozen per temperature.
  REQUIRE(r.step_sizes.shape() == Shape{o.steps, n});
  CHECK(r.step_sizes(0, 0) == doctest::Approx(0.3));
  CHECK(std::abs(r.step_sizes(o.steps - 1, 0) - 0.3) > 0.01);
  CHECK(ais_schedule(10, true).front() == 0.0);
  CHECK(ais_schedule(10, true).back() == 1.0);
  check_throws_with([&] { ais(model, draws, n + 1, o, rng); }, {"prior draws"});
  LatentModel<double> no_sampler = model;
  no_sampler.sample_prior = nullptr;
  check_throws_with([&] { ais(no_sampler, draws, n, o, rng); }, {"sample_prior", "pilot"});
}

TEST_CASE("AIS's kernels do not depend on the scored chains: the same pilot gives the same step sizes") {
  Rng rng(4);
  const PpcaLatent p = small_ppca(rng);
  const auto model = p.model();
  const std::size_t n = p.x.shape()[0];
  AisOptions o;
  o.steps = 50;
  o.chains = 8;
  const Array<double> a = normal<double>(rng, {o.chains * n, 2}), b = normal<double>(rng, {o.chains * n, 2}) * 3.0;
  Rng r1(11), r2(11);
  const AisResult ra = ais(model, a, n, o, r1), rb = ais(model, b, n, o, r2);
  CHECK(ra.step_sizes == rb.step_sizes);  // the pilot (same seed) alone sets them, whatever the scored chains
  CHECK(ra.log_marginal != rb.log_marginal);
}

TEST_CASE("the App. D estimator (HMC, fitted Gaussian, harmonic-mean average) matches pPCA's exact log-likelihood") {
  Rng rng(21);
  const PpcaLatent p = small_ppca(rng);
  const auto model = p.model();
  const std::size_t n = p.x.shape()[0];
  const Array<double> exact = exact_log_likelihoods(p);
  // The paper's setting (L = 50 samples of one chain, 4 leapfrog steps), then many samples from 4 chains:
  // the error is the average's variance, so it shrinks with L and shows no sign.
  struct Setting {
    std::size_t chains, samples;
    double per_point, mean;
  };
  for (const Setting st : {Setting{1, 50, 0.4, 0.15}, Setting{4, 1000, 0.05, 0.03}}) {
    HarmonicOptions o;
    o.samples = st.samples;
    o.hmc.step_size = 0.2;
    const Array<double> init = normal<double>(rng, {st.chains * n, 2});
    const HarmonicResult r = harmonic_log_marginal(model, init, n, o, rng);
    CHECK(r.log_ratios.shape()[0] == st.samples);
    CHECK(r.acceptance > 0.6);
    double mean_error = 0;
    for (std::size_t i = 0; i < n; ++i) {
      INFO("L " << st.samples << ", point " << i << ": App. D " << r.log_marginal(i) << ", exact " << exact(i));
      CHECK(std::abs(r.log_marginal(i) - exact(i)) < st.per_point);
      mean_error += (r.log_marginal(i) - exact(i)) / double(n);
    }
    CHECK(std::abs(mean_error) < st.mean);
  }
  HarmonicOptions o;
  o.samples = 1;
  check_throws_with([&] { harmonic_log_marginal(model, p.x, n, o, rng); }, {"2 samples"});
  check_throws_with(
      [&] {
        harmonic_log_marginal(model, normal<double>(rng, {n + 1, 2}), n, HarmonicOptions{}, rng);
      },
      {"initial states"});
}

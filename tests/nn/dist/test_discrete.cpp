// tests/nn/dist/test_discrete.cpp — Bernoulli, Categorical, Independent, MixtureSameFamily.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "nn/dist/mc_check.hpp"

using namespace tapir;
using namespace tapir::dist;
using test::arr;
using test::check_close;
using test::check_gradients;

namespace {
constexpr double kLog2Pi = 1.8378770664093454836;
double sigmoid_d(double l) { return 1 / (1 + std::exp(-l)); }
}  // namespace

// ---- Bernoulli ----------------------------------------------------------------------------------

TEST_CASE("Bernoulli: log_prob matches x log p + (1 − x) log(1 − p), and its gradients") {
  Tape<double> tape;
  Array<double> l = arr({4}, {-2, -0.3, 0.4, 3});
  Bernoulli<double> p(tape.constant(l));
  Array<double> x = arr({2, 4}, {0, 1, 1, 0, 1, 0, 0.25, 1});
  Array<double> lp = p.log_prob(tape.constant(x)).value();
  REQUIRE(lp.shape() == Shape{2, 4});
  for (std::size_t s = 0; s < 2; ++s)
    for (std::size_t j = 0; j < 4; ++j) {
      const double q = sigmoid_d(l(j));
      CHECK(lp(s, j) == doctest::Approx(x(s, j) * std::log(q) + (1 - x(s, j)) * std::log(1 - q)).epsilon(1e-12));
    }
  check_close(p.mean().value(), Array<double>(1 / (1 + xt::exp(-l))), 1e-14);
  // d/dl at x ∈ {0, 1} and inside; d/dx only inside (0, 1): a step outside [0, 1] is −∞.
  check_gradients([x](Tape<double>& t,
                      const std::vector<Var<double>>& in) { return Bernoulli<double>(in[0]).log_prob(t.constant(x)); },
                  {l}, "Bernoulli.log_prob");
  check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) { return Bernoulli<double>(in[0]).log_prob(in[1]); },
      {l, arr({2, 4}, {0.1, 0.5, 0.9, 0.25, 0.6, 0.3, 0.75, 0.95})}, "Bernoulli.log_prob (interior x)");
  check_gradients([](Tape<double>&, const std::vector<Var<double>>& in) { return Bernoulli<double>(in[0]).entropy(); },
                  {l}, "Bernoulli.entropy");
}

TEST_CASE("Bernoulli: entropy and variance against enumeration; samples; no rsample") {
  Tape<double> tape;
  Array<double> l = arr({4}, {-2, -0.3, 0.4, 3});
  Bernoulli<double> p(tape.constant(l));
  Array<double> h = p.entropy().value(), v = p.variance().value();
  for (std::size_t j = 0; j < 4; ++j) {
    const double q = sigmoid_d(l(j));
    CHECK(h(j) == doctest::Approx(-q * std::log(q) - (1 - q) * std::log(1 - q)).epsilon(1e-12));
    CHECK(v(j) == doctest::Approx(q * (1 - q)).epsilon(1e-12));
  }
  Rng rng(3);
  Array<double> x = p.sample(rng, {7}).value();
  CHECK(xt::all(xt::equal(x, 0.0) || xt::equal(x, 1.0)));
  test::check_moments(p, rng, 20000, "Bernoulli");
  test::check_entropy_mc(p, rng, 20000, "Bernoulli");
  test::check_throws_with([&] { p.rsample(rng, {2}); }, {"Bernoulli", "rsample"});
  CHECK_FALSE(p.has_rsample());
}

TEST_CASE("Bernoulli and BCE are finite at logits ±100 in float") {
  Tape<float> tape;
  Var<float> logits = tape.variable(Array<float>({100.f, -100.f, 100.f, -100.f}));
  Var<float> x = tape.constant(Array<float>({1.f, 0.f, 0.f, 1.f}));
  Bernoulli<float> p(logits);
  Var<float> lp = p.log_prob(x);
  check_close(lp.value(), Array<float>({0.f, 0.f, -100.f, -100.f}), 1e-6);
  sum(lp).backward();
  CHECK(all_finite(logits.grad()));
  check_close(logits.grad(), Array<float>({0.f, 0.f, -1.f, 1.f}), 1e-6);  // x − σ(l)
  CHECK(all_finite(p.entropy().value()));
  CHECK(all_finite(p.variance().value()));
  Var<float> bce = binary_cross_entropy_with_logits(logits, x);
  check_close(bce.value(), Array<float>(-lp.value()), 1e-6);
  Bernoulli<float> q(tape.constant(Array<float>({-100.f, 100.f, 0.f, 5.f})));
  Var<float> kl = kl_divergence<float>(p, q);
  CHECK(all_finite(kl.value()));
  CHECK(kl.value()(0) == doctest::Approx(100.0).epsilon(1e-4));  // σ(100)·(log σ(100) − log σ(−100)) ≈ 100
}

TEST_CASE("Bernoulli: log_prob and its gradient are exact at large logits of either sign (mpmath references)") {
  // log p = x log σ(l) + (1 − x) log σ(−l) and d/dl = x − σ(l), mpmath at 50 digits (x = 0.3 is the double
  // 0.3). The old form x l − softplus(l) returned 0 for (l, x) = (50, 1).
  struct Case {
    double l, x, lp, dl;
  };
  const Case cases[] = {
      {50, 0, -50.0, -1.0},
      {50, 1, -1.928749847963917783e-22, 1.928749847963917783e-22},
      {50, 0.3, -35.000000000000000555, -0.7000000000000000111},
      {-50, 0, -1.928749847963917783e-22, -1.928749847963917783e-22},
      {-50, 1, -50.0, 1.0},
      {-50, 0.3, -14.999999999999999445, 0.2999999999999999889},
      {20, 1, -2.0611536203143807032e-9, 2.0611536181902035814e-9},
      {-20, 0.3, -6.0000000020611533983, 0.29999999793884637071},
      {700, 1, -9.8596765437597708567e-305, 9.8596765437597708567e-305},
      {-700, 0, -9.8596765437597708567e-305, -9.8596765437597708567e-305},
      {-700, 0.3, -209.99999999999999223, 0.2999999999999999889},
  };
  for (const Case& c : cases) {
    INFO("l = " << c.l << ", x = " << c.x);
    Tape<double> tape;
    Var<double> l = tape.variable(arr({1}, {c.l}));
    Var<double> lp = Bernoulli<double>(l).log_prob(tape.constant(arr({1}, {c.x})));
    lp.backward();
    CHECK(lp.item() == doctest::Approx(c.lp).epsilon(1e-15));
    CHECK(l.grad()(0) == doctest::Approx(c.dl).epsilon(1e-15));
  }
  // Entropy H = σ(l) softplus(−l) + σ(−l) softplus(l) ≈ (1 + |l|) e^(−|l|) (mpmath); the old
  // softplus(l) − l σ(l) cancelled to 0 or noise.
  Tape<double> tape;
  Bernoulli<double> p(tape.constant(arr({3}, {50, -50, 20})));
  check_close(p.entropy().value(),
              arr({3}, {9.8366242246159806934e-21, 9.8366242246159806934e-21, 4.3284225984118452332e-8}), 1e-15);
  CHECK(p.entropy().value()(0) / 9.8366242246159806934e-21 == doctest::Approx(1.0).epsilon(1e-14));
}

TEST_CASE("Bernoulli: ±∞ logits are point masses, x outside [0, 1] is −∞, gradients stay finite") {
  const double inf = std::numeric_limits<double>::infinity();
  Tape<double> tape;
  Var<double> l = tape.variable(arr({6}, {inf, inf, -inf, -inf, 1.0, 1.0}));
  Var<double> x = tape.variable(arr({6}, {1, 0, 0, 0.5, -0.5, 1.5}));
  Bernoulli<double> p(l);
  Var<double> lp = p.log_prob(x);
  CHECK(lp.value()(0) == 0.0);
  CHECK(lp.value()(1) == -inf);
  CHECK(lp.value()(2) == 0.0);
  CHECK(lp.value()(3) == -inf);
  CHECK(lp.value()(4) == -inf);
  CHECK(lp.value()(5) == -inf);
  // Gradient of the finite entries: d/dl = x − σ(l) = 0 at the point masses; 0 outside the support.
  sum(tapir::where(xt::xarray<bool>(xt::isfinite(lp.value())), lp, tape.scalar(0.0))).backward();
  CHECK(all_finite(l.grad()));
  check_close(l.grad(), arr({6}, {0, 0, 0, 0, 0, 0}), 0);
  check_close(Array<double>(xt::view(p.entropy().value(), xt::range(0, 4))), arr({4}, {0, 0, 0, 0}), 0);
  Var<double> h = p.entropy();
  sum(h).backward();
  CHECK(all_finite(l.grad()));
  CHECK(std::isnan(p.log_prob(tape.constant(arr({1}, {std::nan("")}))).value()(0)));
}

TEST_CASE("Bernoulli: log_prob gradients at large logits match finite differences (x in {0, 1} and [0, 1])") {
  const Array<double> x = arr({6}, {1, 0, 0.25, 0.75, 0.5, 1});
  check_gradients([x](Tape<double>& t,
                      const std::vector<Var<double>>& in) { return Bernoulli<double>(in[0]).log_prob(t.constant(x)); },
                  {arr({6}, {30, -30, 12, -12, 40, -40})}, "Bernoulli.log_prob (large l)");
  check_gradients([](Tape<double>&, const std::vector<Var<double>>& in) { return Bernoulli<double>(in[0]).entropy(); },
                  {arr({4}, {12, -12, 25, -0.5})}, "Bernoulli.entropy (large l)");
}

// ---- Categorical --------------------------------------------------------------------------------

TEST_CASE("Categorical: log_prob picks log softmax along the last axis; gradients; bad indices throw") {
  Tape<double> tape;
  Array<double> l = arr({2, 4}, {0.1, -1, 2, 0.5, 1, 1, -3, 0});
  Categorical<double> p(tape.constant(l));
  CHECK(p.batch_shape() == Shape{2});
  CHECK(p.event_shape() == Shape{});
  CHECK(p.num_categories() == 4);
  Array<double> k = arr({3, 2}, {0, 3, 2, 2, 3, 0});
  Array<double> lp = p.log_prob(tape.constant(k)).value();
  REQUIRE(lp.shape() == Shape{3, 2});
  for (std::size_t s = 0; s < 3; ++s)
    for (std::size_t b = 0; b < 2; ++b) {
      double z = 0;
      for (std::size_t j = 0; j < 4; ++j) z += std::exp(l(b, j));
      CHECK(lp(s, b) == doctest::Approx(l(b, std::size_t(k(s, b))) - std::log(z)).epsilon(1e-12));
    }
  check_gradients(
      [k](Tape<double>& t, const std::vector<Var<double>>& in) {
        return Categorical<double>(in[0]).log_prob(t.constant(k));
      },
      {l}, "Categorical.log_prob");
  check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) { return Categorical<double>(in[0]).entropy(); }, {l},
      "Categorical.entropy");
  test::check_throws_with([&] { p.log_prob(tape.constant(arr({2}, {0, 4}))); }, {"Categorical.log_prob", "[0, 4)"});
  test::check_throws_with([&] { p.log_prob(tape.constant(arr({2}, {0.5, 1}))); }, {"Categorical.log_prob", "0.5"});
  test::check_throws_with([&] { Categorical<double>(tape.scalar(1.0)); }, {"Categorical", "()"});
  Rng rng(1);
  test::check_throws_with([&] { p.rsample(rng); }, {"Categorical", "rsample"});
}

TEST_CASE("Categorical: sample frequencies, entropy by enumeration and by MC, −∞ logits") {
  Tape<double> tape;
  Array<double> l = arr({2, 3}, {0.1, -1, 2, 1, 1, -3});
  Categorical<double> p(tape.constant(l));
  Array<double> probs = p.probs().value();
  Rng rng(77);
  const std::size_t n = 20000;
  Array<double> x = p.sample(rng, {n}).value();
  REQUIRE(x.shape() == Shape{n, 2});
  for (std::size_t k = 0; k < 3; ++k) {
    Array<double> hit = xt::cast<double>(xt::equal(x, double(k)));
    test::check_within_se(test::mc_estimate(hit), Array<double>(xt::view(probs, xt::all(), k)), "Categorical freq");
  }
  Array<double> h = p.entropy().value();
  for (std::size_t b = 0; b < 2; ++b) {
    double e = 0;
    for (std::size_t k = 0; k < 3; ++k) e -= probs(b, k) * std::log(probs(b, k));
    CHECK(h(b) == doctest::Approx(e).epsilon(1e-12));
  }
  test::check_entropy_mc(p, rng, n, "Categorical");

  const double inf = std::numeric_limits<double>::infinity();
  Categorical<double> q(tape.constant(arr({3}, {0, -inf, 0})));
  CHECK(q.entropy().item() == doctest::Approx(std::log(2.0)));
  // log_prob of the classes that remain is finite (onehot · log p was 0 · (−∞) = NaN), and so is its
  // gradient; the impossible class has log p = −∞.
  Var<double> lq = tape.variable(arr({3}, {0, -inf, 0}));
  Var<double> lpq = Categorical<double>(lq).log_prob(tape.constant(arr({2}, {0, 2})));
  check_close(lpq.value(), arr({2}, {-std::log(2.0), -std::log(2.0)}), 1e-15);
  sum(lpq).backward();
  check_close(lq.grad(), arr({3}, {0, 0, 0}), 1e-15);  // Σ (onehot − softmax) over the two picks
  CHECK(Categorical<double>(lq).log_prob(tape.constant(arr({1}, {1}))).item() == -inf);
  Array<double> xq = q.sample(rng, {1000}).value();
  CHECK_FALSE(xt::any(xt::equal(xq, 1.0)));
}

// ---- Independent --------------------------------------------------------------------------------

TEST_CASE("Independent: reinterprets batch dims as event dims and sums log_prob and entropy over them") {
  Tape<double> tape;
  Array<double> mu = test::rand({2, 3}, 1), sigma = test::rand({2, 3}, 2, 0.5, 1.5);
  Normal<double> base(tape.constant(mu), tape.constant(sigma));
  Independent<double> p(base, 1);
  CHECK(p.batch_shape() == Shape{2});
  CHECK(p.event_shape() == Shape{3});
  CHECK(p.type_name() == "Independent(Normal, 1)");
  Array<double> x = test::rand({5, 2, 3}, 3, -2, 2);
  Var<double> xv = tape.constant(x);
  check_close(p.log_prob(xv).value(), Array<double>(xt::sum(base.log_prob(xv).value(), {2})), 1e-13);
  check_close(p.entropy().value(), Array<double>(xt::sum(base.entropy().value(), {1})), 1e-13);
  Independent<double> all(base, 2);
  CHECK(all.batch_shape() == Shape{});
  CHECK(all.log_prob(xv).shape() == Shape{5});
  Rng rng(4);
  CHECK(p.rsample(rng, {4}).shape() == Shape{4, 2, 3});
  CHECK(p.has_rsample());
  test::check_entropy_mc(p, rng, 20000, "Independent(Normal)");
  test::check_throws_with([&] { Independent<double>(base, 3); }, {"Independent", "Normal", "(2, 3)"});
  check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) {
        return Independent<double>(Normal<double>(in[0], in[1]), 1).log_prob(in[2]);
      },
      {mu, sigma, test::rand({2, 3}, 5)}, "Independent.log_prob");
}

// ---- MixtureSameFamily --------------------------------------------------------------------------

namespace {
/// log Σ_k π_k Π_d N(x_d; μ_kd, σ_kd), by brute force, for one batch element b.
double gmm_log_prob(const Array<double>& logits, const Array<double>& mu, const Array<double>& sigma, std::size_t b,
                    const double* x) {
  const std::size_t K = mu.shape()[1], D = mu.shape()[2];
  double z = 0;
  for (std::size_t k = 0; k < K; ++k) z += std::exp(logits(b, k));
  double p = 0;
  for (std::size_t k = 0; k < K; ++k) {
    double dens = std::exp(logits(b, k)) / z;
    for (std::size_t d = 0; d < D; ++d) {
      const double u = (x[d] - mu(b, k, d)) / sigma(b, k, d);
      dens *= std::exp(-0.5 * u * u - 0.5 * kLog2Pi) / sigma(b, k, d);
    }
    p += dens;
  }
  return std::log(p);
}
}  // namespace

TEST_CASE("MixtureSameFamily: a Gaussian mixture's log_prob equals the brute-force sum") {
  Tape<double> tape;
  Array<double> logits = arr({2, 3}, {0.2, -0.5, 1, 0, 0, 0});
  Array<double> mu = test::rand({2, 3, 2}, 6, -2, 2);
  Array<double> sigma = test::rand({2, 3, 2}, 7, 0.4, 1.2);
  MixtureSameFamily<double> p(Categorical<double>(tape.constant(logits)),
                              Independent<double>(Normal<double>(tape.constant(mu), tape.constant(sigma)), 1));
  CHECK(p.batch_shape() == Shape{2});
  CHECK(p.event_shape() == Shape{2});
  Array<double> x = test::rand({4, 2, 2}, 8, -3, 3);
  Array<double> lp = p.log_prob(tape.constant(x)).value();
  REQUIRE(lp.shape() == Shape{4, 2});
  for (std::size_t s = 0; s < 4; ++s)
    for (std::size_t b = 0; b < 2; ++b)
      CHECK(lp(s, b) == doctest::Approx(gmm_log_prob(logits, mu, sigma, b, &x(s, b, 0))).epsilon(1e-12));

  // Brute-force mean: Σ_k π_k μ_k.
  Array<double> m = p.mean().value();
  for (std::size_t b = 0; b < 2; ++b) {
    double z = 0;
    for (std::size_t k = 0; k < 3; ++k) z += std::exp(logits(b, k));
    for (std::size_t d = 0; d < 2; ++d) {
      double e = 0;
      for (std::size_t k = 0; k < 3; ++k) e += std::exp(logits(b, k)) / z * mu(b, k, d);
      CHECK(m(b, d) == doctest::Approx(e).epsilon(1e-12));
    }
  }
  Rng rng(12);
  test::check_moments(p, rng, 40000, "MixtureSameFamily");
  test::check_throws_with([&] { p.rsample(rng); }, {"MixtureSameFamily(Independent(Normal, 1))", "rsample"});
  test::check_throws_with([&] { p.entropy(); }, {"MixtureSameFamily", "entropy"});
  test::check_throws_with(
      [&] {
        MixtureSameFamily<double>(Categorical<double>(tape.constant(arr({2, 2}, {0, 0, 0, 0}))),
                                  Independent<double>(Normal<double>(tape.constant(mu), tape.constant(sigma)), 1));
      },
      {"MixtureSameFamily", "(2, 3)", "(2, 2)"});

  check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) {
        return MixtureSameFamily<double>(Categorical<double>(in[0]),
                                         Independent<double>(Normal<double>(in[1], in[2]), 1))
            .log_prob(in[3]);
      },
      {logits, mu, sigma, test::rand({2, 2}, 9)}, "MixtureSameFamily.log_prob");
}

TEST_CASE("MixtureSameFamily: scalar components (a 1-D Gaussian mixture) and its samples") {
  Tape<double> tape;
  Array<double> logits = arr({3}, {0.0, 1.0, -0.5});
  Array<double> mu = arr({3}, {-3, 0, 4}), sigma = arr({3}, {0.5, 1, 0.7});
  MixtureSameFamily<double> p(Categorical<double>(tape.constant(logits)),
                              Normal<double>(tape.constant(mu), tape.constant(sigma)));
  CHECK(p.batch_shape() == Shape{});
  Array<double> x = arr({4}, {-3, -1, 0.5, 4.2});
  Array<double> lp = p.log_prob(tape.constant(x)).value();
  Array<double> pi = xt::exp(logits) / xt::sum(xt::exp(logits))();
  for (std::size_t s = 0; s < 4; ++s) {
    double dens = 0;
    for (std::size_t k = 0; k < 3; ++k) {
      const double u = (x(s) - mu(k)) / sigma(k);
      dens += pi(k) * std::exp(-0.5 * u * u - 0.5 * kLog2Pi) / sigma(k);
    }
    CHECK(lp(s) == doctest::Approx(std::log(dens)).epsilon(1e-12));
  }
  Rng rng(21);
  test::check_moments(p, rng, 40000, "MixtureSameFamily(Normal)");
}

// ---- RelaxedBernoulli and RelaxedOneHotCategorical ----------------------------------------------

namespace {
/// The binary Concrete density of Maddison et al. (2017), in long double from its definition:
/// τ α x^(−τ−1) (1 − x)^(−τ−1) / (α x^(−τ) + (1 − x)^(−τ))², α = eˡ.
double binary_concrete_log_density(double tau, double l, double x) {
  const long double t = tau, a = std::exp(static_cast<long double>(l)), xx = x, yy = 1 - xx;
  const long double num = t * a * std::pow(xx, -t - 1) * std::pow(yy, -t - 1);
  const long double den = a * std::pow(xx, -t) + std::pow(yy, -t);
  return static_cast<double>(std::log(num / (den * den)));
}
/// The Concrete density (Maddison et al. eq. 11) for one point x on the simplex, in long double:
/// (K − 1)! τ^(K−1) Π α_k x_k^(−τ−1) / (Σ α_k x_k^(−τ))^K.
double concrete_log_density(double tau, const std::vector<double>& l, const std::vector<double>& x) {
  const std::size_t K = l.size();
  long double num = std::tgamma(static_cast<long double>(K)) * std::pow(static_cast<long double>(tau), K - 1.0L);
  long double den = 0;
  for (std::size_t k = 0; k < K; ++k) {
    const long double a = std::exp(static_cast<long double>(l[k])), xk = x[k];
    num *= a * std::pow(xk, -tau - 1.0L);
    den += a * std::pow(xk, static_cast<long double>(-tau));
  }
  return static_cast<double>(std::log(num) - K * std::log(den));
}
/// Kolmogorov–Smirnov distance between the sample xs and the CDF F.
template <class F>
double ks_distance(std::vector<double> xs, F cdf) {
  std::sort(xs.begin(), xs.end());
  const double n = double(xs.size());
  double d = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double f = cdf(xs[i]);
    d = std::max({d, std::abs(f - double(i) / n), std::abs(double(i + 1) / n - f)});
  }
  return d;
}
}  // namespace

TEST_CASE("RelaxedBernoulli: log_prob matches the binary Concrete density and integrates to 1") {
  for (double tau : {0.3, 1.0, 2.5})
    for (double l : {-1.5, 0.3, 2.0}) {
      INFO("tau " << tau << ", logit " << l);
      Tape<double> tape;
      RelaxedBernoulli<double> p(tape.scalar(tau), tape.constant(arr({1}, {l})));
      CHECK(p.batch_shape() == Shape{1});
      for (double x : {0.01, 0.3, 0.7, 0.999}) {
        INFO("x " << x);
        CHECK(p.log_prob(tape.constant(arr({1}, {x}))).item() ==
              doctest::Approx(binary_concrete_log_density(tau, l, x)).epsilon(1e-12));
      }
      // ∫ p(x) dx over x = σ(y), y ∈ [−Y, Y] (dx = σ(y) σ(−y) dy: smooth, exponentially decaying), by
      // Simpson's rule, against the exact mass of that interval: P(Y ≤ y) = σ(τ y − l) for y = logit x.
      const double Y = 12;  // x = σ(±12) keeps 1 − x to ~1e-11 relative
      const int n = 20000;
      Array<double> y = xt::linspace<double>(-Y, Y, n + 1);
      Array<double> x = 1.0 / (1.0 + xt::exp(-y));
      Array<double> dens = xt::exp(p.log_prob(tape.constant(Array<double>(xt::reshape_view(x, {n + 1, 1})))).value());
      double integral = 0;
      for (int i = 0; i <= n; ++i)
        integral += (i == 0 || i == n ? 1 : (i % 2 ? 4 : 2)) * dens(i, 0) * x(i) * (1 - x(i));
      integral *= (2 * Y / n) / 3;
      CHECK(integral == doctest::Approx(sigmoid_d(tau * Y - l) - sigmoid_d(-tau * Y - l)).epsilon(1e-10));
    }
}

TEST_CASE("RelaxedBernoulli: rsample follows its CDF (KS), equals rsample_with_noise, and edges") {
  Tape<double> tape;
  const double tau = 0.7, l = 0.8;
  RelaxedBernoulli<double> p(tape.scalar(tau), tape.constant(arr({1}, {l})));
  Rng rng(2024);
  const std::size_t n = 20000;
  Array<double> xs = p.rsample(rng, {n}).value();
  std::vector<double> v(xs.begin(), xs.end());
  // F(x) = σ(τ logit(x) − l); 1.63/√n is the KS critical value at the 1% level.
  const double d = ks_distance(v, [&](double x) { return sigmoid_d(tau * std::log(x / (1 - x)) - l); });
  CHECK(d < 1.63 / std::sqrt(double(n)));
  // And P(x > ½) = σ(l), whatever τ.
  Array<double> above = xt::cast<double>(xs > 0.5);
  test::check_within_se(test::mc_estimate(Array<double>(xt::reshape_view(above, std::vector<std::size_t>{n, 1}))),
                        arr({1}, {sigmoid_d(l)}), "RelaxedBernoulli P(x > 1/2)");

  // Outside [0, 1]: −∞; at 0 and 1 (clamped into the open interval): finite.
  Array<double> lp = p.log_prob(tape.constant(arr({4, 1}, {-0.1, 1.1, 0, 1}))).value();
  CHECK(lp(0, 0) == -std::numeric_limits<double>::infinity());
  CHECK(lp(1, 0) == -std::numeric_limits<double>::infinity());
  CHECK(std::isfinite(lp(2, 0)));
  CHECK(std::isfinite(lp(3, 0)));
  CHECK_FALSE(p.has_rsample() == false);
  CHECK(p.base_noise() == BaseNoise::standard_uniform);

  // float with a small temperature: σ rounds to exactly 0 or 1, log_prob stays finite.
  Tape<float> tf;
  RelaxedBernoulli<float> q(tf.scalar(0.05f), tf.constant(Array<float>({0.f, 3.f})));
  Rng rf(3);
  Var<float> z = q.rsample(rf, {200});
  CHECK(xt::any(xt::equal(z.value(), 0.0f) || xt::equal(z.value(), 1.0f)));
  CHECK(all_finite(q.log_prob(z).value()));
}

TEST_CASE("RelaxedBernoulli: log_prob and rsample gradients match finite differences") {
  check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) {
        return RelaxedBernoulli<double>(in[0], in[1]).log_prob(in[2]);
      },
      {arr({3}, {0.4, 1.0, 2.0}), arr({3}, {-1, 0.5, 2}), arr({2, 3}, {0.2, 0.9, 0.5, 0.05, 0.4, 0.97})},
      "RelaxedBernoulli.log_prob");
  const Array<double> u = test::rand({4, 3}, 9, 0.01, 0.99);
  check_gradients(
      [u](Tape<double>& t, const std::vector<Var<double>>& in) {
        return RelaxedBernoulli<double>(in[0], in[1]).rsample_with_noise(t.constant(u));
      },
      {arr({3}, {0.4, 1.0, 2.0}), arr({3}, {-1, 0.5, 2})}, "RelaxedBernoulli.rsample_with_noise");
}

TEST_CASE("RelaxedOneHotCategorical: log_prob matches the Concrete density; K = 2 is the binary Concrete") {
  Tape<double> tape;
  const std::vector<double> l = {0.5, -1.0, 1.5};
  for (double tau : {0.4, 1.0, 2.0}) {
    RelaxedOneHotCategorical<double> p(tape.scalar(tau), tape.constant(arr({3}, l)));
    CHECK(p.batch_shape() == Shape{});
    CHECK(p.event_shape() == Shape{3});
    for (const auto& x : std::vector<std::vector<double>>{{0.2, 0.3, 0.5}, {0.01, 0.98, 0.01}, {0.6, 0.3, 0.1}}) {
      INFO("tau " << tau << ", x " << x[0] << " " << x[1] << " " << x[2]);
      CHECK(p.log_prob(tape.constant(arr({3}, x))).item() ==
            doctest::Approx(concrete_log_density(tau, l, x)).epsilon(1e-12));
    }
    RelaxedOneHotCategorical<double> two(tape.scalar(tau), tape.constant(arr({2}, {0.7, -0.4})));
    RelaxedBernoulli<double> binary(tape.scalar(tau), tape.scalar(1.1));
    for (double x : {0.05, 0.5, 0.93})
      CHECK(two.log_prob(tape.constant(arr({2}, {x, 1 - x}))).item() ==
            doctest::Approx(binary.log_prob(tape.scalar(x)).item()).epsilon(1e-12));
  }
  // Outside the simplex's box: −∞.
  RelaxedOneHotCategorical<double> p(tape.scalar(1.0), tape.constant(arr({3}, l)));
  CHECK(p.log_prob(tape.constant(arr({3}, {-0.1, 0.6, 0.5}))).item() == -std::numeric_limits<double>::infinity());
  test::check_throws_with(
      [&] {
        p.log_prob(tape.constant(arr({2}, {0.5, 0.5})));
      },
      {"RelaxedOneHotCategorical.log_prob", "(2,)"});
  test::check_throws_with(
      [&] {
        RelaxedOneHotCategorical<double>(tape.constant(arr({3}, {1, 1, 1})),
                                         tape.constant(arr({2, 3}, {0, 0, 0, 0, 0, 0})));
      },
      {"RelaxedOneHotCategorical", "temperature", "(3,)"});
}

TEST_CASE("RelaxedOneHotCategorical: the density integrates to 1 and argmax of rsample is Categorical") {
  Tape<double> tape;
  Rng rng(17);
  const double tau = 1.5;
  Array<double> l = arr({2, 3}, {0.5, -1.0, 1.5, 0, 0.3, -0.2});
  RelaxedOneHotCategorical<double> p(tape.constant(arr({2}, {tau, 0.8})), tape.constant(l));
  CHECK(p.batch_shape() == Shape{2});
  // ∫ p over the simplex = E_{x ~ uniform on the simplex}[p(x)] / 2 (the uniform density is 2), by Monte
  // Carlo with x = e/Σe, e_k ~ Exp(1).
  const std::size_t n = 200000;
  Array<double> e = -xt::log(1.0 - uniform<double>(rng, {n, 2, 3}));
  Array<double> x = e / xt::view(xt::sum(e, {2}), xt::all(), xt::all(), xt::newaxis());
  Array<double> ratio = xt::exp(p.log_prob(tape.constant(x)).value()) / 2.0;
  test::check_within_se(test::mc_estimate(ratio), arr({2}, {1, 1}), "Concrete normalisation");

  // The Gumbel-max property: argmax_k x_k ~ Categorical(softmax(l)) for every τ.
  const std::size_t m = 20000;
  Array<double> z = p.rsample(rng, {m}).value();
  REQUIRE(z.shape() == Shape{m, 2, 3});
  Array<double> probs = Categorical<double>(tape.constant(l)).probs().value();
  for (std::size_t k = 0; k < 3; ++k) {
    Array<double> hit = Array<double>::from_shape({m, 2});
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t b = 0; b < 2; ++b) {
        std::size_t best = 0;
        for (std::size_t j = 1; j < 3; ++j)
          if (z(i, b, j) > z(i, b, best)) best = j;
        hit(i, b) = best == k ? 1.0 : 0.0;
      }
    test::check_within_se(test::mc_estimate(hit), Array<double>(xt::view(probs, xt::all(), k)), "argmax frequency");
  }
  check_close(Array<double>(xt::sum(z, {2})), Array<double>(xt::ones<double>(std::vector<std::size_t>{m, 2})), 1e-12);
}

TEST_CASE("RelaxedOneHotCategorical: log_prob and rsample gradients match finite differences") {
  check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) {
        return RelaxedOneHotCategorical<double>(in[0], in[1]).log_prob(in[2]);
      },
      {arr({2}, {0.5, 1.7}), arr({2, 3}, {0.5, -1, 1.5, 0, 0.3, -0.2}),
       arr({2, 2, 3}, {0.2, 0.3, 0.5, 0.1, 0.1, 0.8, 0.6, 0.3, 0.1, 0.4, 0.4, 0.2})},
      "RelaxedOneHotCategorical.log_prob");
  const Array<double> u = test::rand({4, 2, 3}, 21, 0.01, 0.99);
  check_gradients(
      [u](Tape<double>& t, const std::vector<Var<double>>& in) {
        return RelaxedOneHotCategorical<double>(in[0], in[1]).rsample_with_noise(t.constant(u));
      },
      {arr({2}, {0.5, 1.7}), arr({2, 3}, {0.5, -1, 1.5, 0, 0.3, -0.2})}, "RelaxedOneHotCategorical.rsample_with_noise");
}

// tests/nn/dist/test_discrete.cpp — Bernoulli, Categorical, Independent, MixtureSameFamily.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

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
  check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) { return Bernoulli<double>(in[0]).log_prob(in[1]); },
      {l, x}, "Bernoulli.log_prob");
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

// tests/nn/dist/test_kl.cpp — kl_divergence: analytic pairs vs seeded Monte Carlo, gradients, the
// registry (missing pairs, user pairs), and kl_divergence_mc.
#include <doctest/doctest.h>

#include <cmath>

#include "nn/dist/mc_check.hpp"

using namespace tapir;
using namespace tapir::dist;
using test::arr;
using test::check_close;
using test::check_gradients;

namespace {
/// KL(p ‖ q) analytic against the mean of log p(x) − log q(x), x ~ p, within 4 standard errors.
void check_kl_mc(const Distribution<double>& p, const Distribution<double>& q, Rng& rng, const std::string& what,
                 std::size_t n = 40000) {
  Var<double> x = p.sample(rng, {n});
  Array<double> ratio = p.log_prob(x).value() - q.log_prob(x).value();
  test::check_within_se(test::mc_estimate(ratio), kl_divergence(p, q).value(), what + " KL vs MC");
}
}  // namespace

TEST_CASE("kl_divergence: Normal/Normal against Monte Carlo and its gradients") {
  Tape<double> tape;
  Rng rng(1);
  Normal<double> p(tape.constant(arr({3}, {0, 1, -0.5})), tape.constant(arr({3}, {1, 0.5, 2})));
  Normal<double> q(tape.constant(arr({3}, {0.5, 0, -0.5})), tape.constant(arr({3}, {1.5, 1, 1})));
  check_kl_mc(p, q, rng, "Normal");
  check_close(kl_divergence(p, p).value(), Array<double>(xt::zeros<double>({3})), 1e-14);
  // kl_divergence_mc agrees with the analytic value (loosely: it is one noisy estimate).
  Array<double> mc = kl_divergence_mc<double>(p, q, rng, 40000).value();
  check_close(mc, kl_divergence(p, q).value(), 0.05);
  check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) {
        return kl_divergence(Normal<double>(in[0], in[1]), Normal<double>(in[2], in[3]));
      },
      {arr({2}, {0, 1}), arr({2}, {1, 0.5}), arr({2}, {0.3, -1}), arr({2}, {2, 0.7})}, "KL(Normal, Normal)");
  // From log-variances (the VAE case, KL to a standard normal prior): finite in float at σ² = e^−300.
  Tape<float> tf;
  auto qz = Normal<float>::from_log_var(tf.constant(Array<float>({0.5f})), tf.constant(Array<float>({-300.f})));
  Normal<float> prior(tf.constant(Array<float>({0.f})), tf.constant(Array<float>({1.f})));
  Array<float> kl = kl_divergence<float>(qz, prior).value();
  CHECK(std::isfinite(kl(0)));
  CHECK(kl(0) == doctest::Approx(0.5 * (0.25 - 1) + 150).epsilon(1e-5));
}

TEST_CASE("kl_divergence: Bernoulli, Categorical and Laplace pairs against Monte Carlo") {
  Tape<double> tape;
  Rng rng(2);
  Bernoulli<double> bp(tape.constant(arr({3}, {-1, 0.5, 2}))), bq(tape.constant(arr({3}, {0, -0.5, 3})));
  check_kl_mc(bp, bq, rng, "Bernoulli");
  Categorical<double> cp(tape.constant(arr({2, 3}, {0, 1, -1, 0.5, 0.5, 2}))),
      cq(tape.constant(arr({2, 3}, {1, 0, 0, -1, 0.5, 1})));
  check_kl_mc(cp, cq, rng, "Categorical");
  Laplace<double> lp(tape.constant(arr({3}, {0, 1, -0.5})), tape.constant(arr({3}, {1, 0.5, 2})));
  Laplace<double> lq(tape.constant(arr({3}, {0.5, 0, -0.5})), tape.constant(arr({3}, {1.5, 1, 1})));
  check_kl_mc(lp, lq, rng, "Laplace");
  check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) {
        return kl_divergence(Laplace<double>(in[0], in[1]), Laplace<double>(in[2], in[3]));
      },
      {arr({2}, {0, 1}), arr({2}, {1, 0.5}), arr({2}, {0.3, -1}), arr({2}, {2, 0.7})}, "KL(Laplace, Laplace)");
  check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) {
        return kl_divergence(Categorical<double>(in[0]), Categorical<double>(in[1]));
      },
      {arr({2, 3}, {0, 1, -1, 0.5, 0.5, 2}), arr({2, 3}, {1, 0, 0, -1, 0.5, 1})}, "KL(Categorical, Categorical)");
  check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) {
        return kl_divergence(Bernoulli<double>(in[0]), Bernoulli<double>(in[1]));
      },
      {arr({3}, {-1, 0.5, 2}), arr({3}, {0, -0.5, 3})}, "KL(Bernoulli, Bernoulli)");
}

TEST_CASE("kl_divergence: Independent/Independent sums the base KL over the reinterpreted dims") {
  Tape<double> tape;
  Rng rng(3);
  Normal<double> bp(tape.constant(test::rand({2, 3}, 1)), tape.constant(test::rand({2, 3}, 2, 0.5, 1.5)));
  Normal<double> bq(tape.constant(test::rand({2, 3}, 3)), tape.constant(test::rand({2, 3}, 4, 0.5, 1.5)));
  Independent<double> p(bp, 1), q(bq, 1);
  Array<double> kl = kl_divergence(p, q).value();
  REQUIRE(kl.shape() == Shape{2});
  check_close(kl, Array<double>(xt::sum(kl_divergence(bp, bq).value(), {1})), 1e-13);
  check_kl_mc(p, q, rng, "Independent(Normal)");
  test::check_throws_with([&] { kl_divergence(p, Independent<double>(bq, 2)); },
                          {"Independent(Normal, 1)", "Independent(Normal, 2)"});
}

TEST_CASE("kl_divergence: a missing pair names both families; register_kl adds a user pair") {
  Tape<double> tape;
  Normal<double> n(tape.constant(arr({2}, {0, 1})), tape.constant(arr({2}, {1, 2})));
  Laplace<double> l(tape.constant(arr({2}, {0, 1})), tape.constant(arr({2}, {1, 2})));
  test::check_throws_with([&] { kl_divergence(n, l); }, {"Normal", "Laplace", "register_kl", "kl_divergence_mc"});
  // Independent of an unregistered base pair: the error names the base families.
  test::check_throws_with([&] { kl_divergence(Independent<double>(n, 1), Independent<double>(l, 1)); },
                          {"(Normal, Laplace)"});

  // A user pair (here: a Monte Carlo KL with a fixed seed) becomes available, then goes away again.
  register_kl<Normal<double>, Laplace<double>>([](const Normal<double>& p, const Laplace<double>& q) {
    Rng rng(5);
    return kl_divergence_mc<double>(p, q, rng, 20000);
  });
  Array<double> kl = kl_divergence(n, l).value();
  REQUIRE(kl.shape() == Shape{2});
  CHECK(xt::all(kl > 0.0));
  // And it composes with Independent/Independent.
  CHECK(kl_divergence(Independent<double>(n, 1), Independent<double>(l, 1)).item() ==
        doctest::Approx(kl(0) + kl(1)).epsilon(0.05));
  CHECK(unregister_kl<Normal<double>, Laplace<double>>());
  CHECK_FALSE(unregister_kl<Normal<double>, Laplace<double>>());
  CHECK_THROWS_AS(kl_divergence(n, l), Error);
}

TEST_CASE("kl_divergence_mc: differentiable through rsample, and uses sample for discrete families") {
  Tape<double> tape;
  Rng rng(8);
  Var<double> loc = tape.variable(arr({1}, {0.5}));
  Normal<double> p(loc, tape.constant(arr({1}, {1.0})));
  Normal<double> q(tape.constant(arr({1}, {0.0})), tape.constant(arr({1}, {1.0})));
  sum(kl_divergence_mc<double>(p, q, rng, 20000)).backward();
  // d/dμ KL(N(μ, 1) ‖ N(0, 1)) = μ; the pathwise estimate has standard error ≈ 1/√N.
  CHECK(loc.grad()(0) == doctest::Approx(0.5).epsilon(0.05));
  Bernoulli<double> bp(tape.constant(arr({2}, {1, -1}))), bq(tape.constant(arr({2}, {0, 0})));
  check_close(kl_divergence_mc<double>(bp, bq, rng, 40000).value(), kl_divergence(bp, bq).value(), 0.02);
  CHECK_THROWS_AS(kl_divergence_mc<double>(bp, bq, rng, 0), Error);
}

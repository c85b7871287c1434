// tests/nn/dist/test_kl.cpp — kl_divergence: analytic pairs vs seeded Monte Carlo, gradients, the
// registry (missing pairs, user pairs), and kl_divergence_mc.
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
  // (ContinuousBernoulli, Laplace) has no closed form here (nor in PyTorch).
  ContinuousBernoulli<double> n(tape.constant(arr({2}, {0.5, -1})));
  Laplace<double> l(tape.constant(arr({2}, {0, 1})), tape.constant(arr({2}, {1, 2})));
  test::check_throws_with([&] { kl_divergence(n, l); },
                          {"ContinuousBernoulli", "Laplace", "register_kl", "kl_divergence_mc"});
  // Independent of an unregistered base pair: the error names the base families.
  test::check_throws_with([&] { kl_divergence(Independent<double>(n, 1), Independent<double>(l, 1)); },
                          {"(ContinuousBernoulli, Laplace)"});

  // A user pair (here: a Monte Carlo KL with a fixed seed) becomes available, then goes away again.
  register_kl<ContinuousBernoulli<double>, Laplace<double>>(
      [](const ContinuousBernoulli<double>& p, const Laplace<double>& q) {
        Rng rng(5);
        return kl_divergence_mc<double>(p, q, rng, 20000);
      });
  Array<double> kl = kl_divergence(n, l).value();
  REQUIRE(kl.shape() == Shape{2});
  CHECK(xt::all(kl > 0.0));
  // And it composes with Independent/Independent.
  CHECK(kl_divergence(Independent<double>(n, 1), Independent<double>(l, 1)).item() ==
        doctest::Approx(kl(0) + kl(1)).epsilon(0.05));
  CHECK(unregister_kl<ContinuousBernoulli<double>, Laplace<double>>());
  CHECK_FALSE(unregister_kl<ContinuousBernoulli<double>, Laplace<double>>());
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

TEST_CASE("kl_divergence: ContinuousBernoulli pairs against Monte Carlo, quadrature and finite differences") {
  Tape<double> tape;
  Rng rng(41);
  Array<double> a = arr({5}, {-3, -0.1, 0, 0.7, 12}), b = arr({5}, {0.5, 0.15, -2, 0.7, 9});
  ContinuousBernoulli<double> p(tape.constant(a)), q(tape.constant(b));
  check_kl_mc(p, q, rng, "ContinuousBernoulli");
  CHECK(kl_divergence(p, q).value()(3) == doctest::Approx(0.0).epsilon(1e-15));
  // Independently by quadrature: ∫₀¹ p(x) (log p(x) − log q(x)) dx, Simpson on 4000 intervals.
  for (std::size_t i = 0; i < 5; ++i) {
    auto f = [&](double x) {
      Tape<double> t;
      ContinuousBernoulli<double> pi(t.constant(arr({1}, {a(i)}))), qi(t.constant(arr({1}, {b(i)})));
      Var<double> xv = t.constant(arr({1}, {x}));
      const double lp = pi.log_prob(xv).item();
      return std::exp(lp) * (lp - qi.log_prob(xv).item());
    };
    double s = f(0) + f(1);
    for (int k = 1; k < 4000; ++k) s += (k % 2 ? 4 : 2) * f(k / 4000.0);
    CHECK(kl_divergence(p, q).value()(i) == doctest::Approx(s / 12000.0).epsilon(1e-9).scale(1e-12));
  }
  check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) {
        return kl_divergence(ContinuousBernoulli<double>(in[0]), ContinuousBernoulli<double>(in[1]));
      },
      {arr({4}, {-3, -0.1, 0.05, 2}), arr({4}, {0.5, 0.15, -2, 9})}, "KL(CB, CB)");

  // CB against Normal and Uniform.
  Normal<double> n(tape.constant(arr({5}, {0.5, 0, 1, 0.3, 0.9})), tape.constant(arr({5}, {0.4, 1, 2, 0.25, 0.5})));
  check_kl_mc(p, n, rng, "KL(CB, Normal)");
  Uniform<double> wide(tape.constant(arr({5}, {-1, 0, -0.5, -2, 0})), tape.constant(arr({5}, {1, 1, 2, 3, 1.5})));
  check_kl_mc(p, wide, rng, "KL(CB, Uniform)");
  Uniform<double> narrow(tape.constant(arr({5}, {0, 0.2, 0.1, 0.5, 0})),
                         tape.constant(arr({5}, {1, 0.9, 0.3, 1, 0.5})));
  check_kl_mc(narrow, p, rng, "KL(Uniform, CB)");
  CHECK(kl_divergence(narrow, p).value()(0) ==
        doctest::Approx(-p.entropy().value()(0) * 0 + kl_divergence(narrow, p).value()(0)));
  Uniform<double> off(tape.constant(arr({5}, {0.5, 0.5, 0.5, 0.5, 0.5})),
                      tape.constant(arr({5}, {1.2, 1.2, 1.2, 1.2, 1.2})));
  CHECK(xt::all(xt::isinf(kl_divergence(off, p).value())));
  CHECK(xt::all(xt::isinf(kl_divergence(p, off).value())));
  check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) {
        return kl_divergence(ContinuousBernoulli<double>(in[0]), Normal<double>(in[1], in[2]));
      },
      {arr({3}, {-3, 0.05, 2}), arr({3}, {0.5, 0, 1}), arr({3}, {0.4, 1, 2})}, "KL(CB, Normal)");
  check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) {
        return kl_divergence(Uniform<double>(in[0], in[1]), ContinuousBernoulli<double>(in[2]));
      },
      {arr({2}, {0.1, 0.2}), arr({2}, {0.9, 0.5}), arr({2}, {-1, 3})}, "KL(Uniform, CB)");
}

TEST_CASE("kl_divergence: Normal/Laplace, Laplace/Normal, Uniform/Normal, Uniform/Laplace, Uniform/Uniform") {
  // Each closed form within 4 standard errors of a seeded 40000-draw Monte Carlo estimate, and its
  // gradient against central differences.
  Tape<double> tape;
  Rng rng(43);
  Var<double> m1 = tape.constant(arr({3}, {0, 1, -0.5})), s1 = tape.constant(arr({3}, {1, 0.5, 2}));
  Var<double> m2 = tape.constant(arr({3}, {0.5, 0, -0.5})), s2 = tape.constant(arr({3}, {1.5, 1, 0.7}));
  check_kl_mc(Normal<double>(m1, s1), Laplace<double>(m2, s2), rng, "KL(Normal, Laplace)");
  check_kl_mc(Laplace<double>(m1, s1), Normal<double>(m2, s2), rng, "KL(Laplace, Normal)");
  Uniform<double> u(tape.constant(arr({3}, {-1, 0.5, -3})), tape.constant(arr({3}, {1, 2.5, -2})));
  check_kl_mc(u, Normal<double>(m2, s2), rng, "KL(Uniform, Normal)");
  check_kl_mc(u, Laplace<double>(m2, s2), rng, "KL(Uniform, Laplace)");  // m inside, below and above [l, h)
  Uniform<double> cover(tape.constant(arr({3}, {-2, 0.5, -5})), tape.constant(arr({3}, {1.5, 4, 0})));
  check_kl_mc(u, cover, rng, "KL(Uniform, Uniform)");
  check_close(kl_divergence(u, cover).value(), arr({3}, {std::log(3.5 / 2), std::log(3.5 / 2), std::log(5.0)}), 1e-15);
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(kl_divergence(cover, u).value()(0) == inf);
  CHECK(xt::all(xt::equal(kl_divergence(Normal<double>(m1, s1), u).value(), inf)));
  CHECK(xt::all(xt::equal(kl_divergence(Laplace<double>(m1, s1), u).value(), inf)));

  auto pair = [](auto make_p, auto make_q, const char* what) {
    check_gradients(
        [make_p, make_q](Tape<double>&, const std::vector<Var<double>>& in) {
          return kl_divergence(make_p(in[0], in[1]), make_q(in[2], in[3]));
        },
        {arr({3}, {0, 1, -0.5}), arr({3}, {1, 0.5, 2}), arr({3}, {0.5, 0, -0.25}), arr({3}, {1.5, 1, 0.7})}, what);
  };
  auto normal = [](const Var<double>& a, const Var<double>& b) { return Normal<double>(a, b); };
  auto laplace = [](const Var<double>& a, const Var<double>& b) { return Laplace<double>(a, b); };
  auto uniform_from = [](const Var<double>& a, const Var<double>& w) { return Uniform<double>(a, a + w); };
  pair(normal, laplace, "KL(Normal, Laplace)");
  pair(laplace, normal, "KL(Laplace, Normal)");
  pair(uniform_from, normal, "KL(Uniform, Normal)");
  pair(uniform_from, laplace, "KL(Uniform, Laplace)");
  check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) {
        return kl_divergence(Uniform<double>(in[0], in[1]), Uniform<double>(in[2], in[3]));
      },
      {arr({2}, {0, 1}), arr({2}, {1, 2}), arr({2}, {-1, 0.5}), arr({2}, {2, 3})}, "KL(Uniform, Uniform)");
  // has_kl sees the new pairs, also through Independent.
  CHECK(
      has_kl<double>(Independent<double>(Normal<double>(m1, s1), 1), Independent<double>(Laplace<double>(m2, s2), 1)));
}

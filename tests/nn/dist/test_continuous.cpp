// tests/nn/dist/test_continuous.cpp — Normal, Laplace, Uniform, ContinuousBernoulli,
// LowRankMultivariateNormal: log_prob vs closed forms, gradients vs finite differences, rsample
// gradients vs their known values, moments and entropy vs seeded Monte Carlo.
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
}

// ---- Normal -------------------------------------------------------------------------------------

TEST_CASE("Normal: log_prob matches the closed form, with broadcast parameters and a sample axis") {
  Tape<double> tape;
  Array<double> mu = arr({2, 3}, {0.5, -1, 2, 0, 0.3, -0.7});
  Array<double> sigma = arr({3}, {0.5, 1.5, 2.0});
  Normal<double> p(tape.constant(mu), tape.constant(sigma));
  CHECK(p.batch_shape() == Shape{2, 3});
  CHECK(p.event_shape() == Shape{});
  CHECK(p.extended_shape({4}) == Shape{4, 2, 3});
  Array<double> x = test::rand({4, 2, 3}, 3, -3, 3);
  Array<double> lp = p.log_prob(tape.constant(x)).value();
  REQUIRE(lp.shape() == Shape{4, 2, 3});
  for (std::size_t s = 0; s < 4; ++s)
    for (std::size_t i = 0; i < 2; ++i)
      for (std::size_t j = 0; j < 3; ++j) {
        const double z = (x(s, i, j) - mu(i, j)) / sigma(j);
        CHECK(lp(s, i, j) == doctest::Approx(-0.5 * z * z - std::log(sigma(j)) - 0.5 * kLog2Pi).epsilon(1e-12));
      }
  Rng rng(1);
  CHECK(p.sample(rng, {5}).shape() == Shape{5, 2, 3});
}

TEST_CASE("Normal: log_prob gradients match finite differences") {
  check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) { return Normal<double>(in[0], in[1]).log_prob(in[2]); },
      {test::rand({3}, 1), test::rand({3}, 2, 0.5, 2), test::rand({2, 3}, 3, -2, 2)}, "Normal.log_prob");
  check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) {
        return Normal<double>::from_log_var(in[0], in[1]).log_prob(in[2]);
      },
      {test::rand({3}, 1), test::rand({3}, 2, -2, 2), test::rand({2, 3}, 3, -2, 2)}, "Normal.from_log_var.log_prob");
  check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) { return Normal<double>(in[0], in[1]).entropy(); },
      {test::rand({3}, 1), test::rand({3}, 2, 0.5, 2)}, "Normal.entropy");
}

TEST_CASE("Normal::from_log_var: scale = exp(½ log σ²), and log σ never goes through log(exp(·))") {
  Tape<double> tape;
  Array<double> lv = arr({3}, {-2, 0, 1.5});
  auto p = Normal<double>::from_log_var(tape.constant(xt::zeros<double>({3})), tape.constant(lv));
  check_close(p.scale().value(), Array<double>(xt::exp(0.5 * lv)), 1e-14);
  check_close(p.variance().value(), Array<double>(xt::exp(lv)), 1e-14);

  // float, σ² = e^−300: σ = e^−150 underflows to 0, so log(scale) is −∞; the stored ½ log σ² is not.
  Tape<float> tf;
  auto q = Normal<float>::from_log_var(tf.constant(xt::zeros<float>({2})), tf.constant(Array<float>({-300.f, -300.f})));
  CHECK(q.scale().value()(0) == 0.0f);
  Array<float> h = q.entropy().value();
  CHECK(std::isfinite(h(0)));
  CHECK(h(0) == doctest::Approx(-150 + 0.5 + 0.5 * kLog2Pi).epsilon(1e-5));
  Normal<float> naive(q.loc(), q.scale());
  CHECK(std::isinf(naive.entropy().value()(0)));  // what from_log_var avoids
}

TEST_CASE("Normal: rsample gradients are d z/d loc = 1 and d z/d scale = eps") {
  Tape<double> tape;
  Rng rng(11);
  Var<double> loc = tape.variable(arr({3}, {0.5, -1, 2}));
  Var<double> scale = tape.variable(arr({3}, {0.5, 1.5, 2.0}));
  Normal<double> p(loc, scale);
  Var<double> z = p.rsample(rng, {5});
  REQUIRE(z.shape() == Shape{5, 3});
  CHECK(z.requires_grad());
  mean(z).backward();  // d/dloc of the mean of 5 × 3 draws: 5 draws per loc, each weighted 1/15
  check_close(loc.grad(), Array<double>(xt::ones<double>({3}) / 3.0), 1e-14);
  Array<double> eps = (z.value() - loc.value()) / scale.value();
  sum(z).backward();
  check_close(loc.grad(), Array<double>(xt::ones<double>({3}) * 5.0), 1e-14);
  check_close(scale.grad(), Array<double>(xt::sum(eps, {0})), 1e-12);
  // sample() is a constant: no gradient path.
  CHECK_FALSE(p.sample(rng, {2}).requires_grad());
}

TEST_CASE("Normal: sample moments and entropy agree with Monte Carlo") {
  Tape<double> tape;
  Rng rng(2024);
  Normal<double> p(tape.constant(arr({3}, {0.5, -1, 2})), tape.constant(arr({3}, {0.5, 1.5, 2.0})));
  test::check_moments(p, rng, 20000, "Normal");
  test::check_entropy_mc(p, rng, 20000, "Normal");
}

// ---- Laplace ------------------------------------------------------------------------------------

TEST_CASE("Laplace: log_prob closed form, gradients, rsample gradients, moments, entropy") {
  Tape<double> tape;
  Array<double> mu = arr({3}, {0.5, -1, 2}), b = arr({3}, {0.5, 1.5, 2.0});
  Laplace<double> p(tape.constant(mu), tape.constant(b));
  Array<double> x = test::rand({4, 3}, 5, -3, 3);
  Array<double> lp = p.log_prob(tape.constant(x)).value();
  for (std::size_t s = 0; s < 4; ++s)
    for (std::size_t j = 0; j < 3; ++j)
      CHECK(lp(s, j) == doctest::Approx(-std::log(2 * b(j)) - std::abs(x(s, j) - mu(j)) / b(j)).epsilon(1e-12));

  check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) { return Laplace<double>(in[0], in[1]).log_prob(in[2]); },
      {arr({3}, {0.1, -0.2, 0.3}), arr({3}, {0.5, 1, 2}), arr({2, 3}, {1, 1, -1, -1, 0.5, 2})}, "Laplace.log_prob");

  Rng rng(7);
  Var<double> loc = tape.variable(mu), scale = tape.variable(b);
  Laplace<double> q(loc, scale);
  Var<double> z = q.rsample(rng, {6});
  sum(z).backward();
  check_close(loc.grad(), Array<double>(xt::ones<double>({3}) * 6.0), 1e-14);
  check_close(scale.grad(), Array<double>(xt::sum((z.value() - mu) / b, {0})), 1e-12);

  test::check_moments(p, rng, 40000, "Laplace");
  test::check_entropy_mc(p, rng, 20000, "Laplace");
  check_close(p.stddev().value(), Array<double>(xt::sqrt(p.variance().value())), 1e-14);
}

// ---- Uniform ------------------------------------------------------------------------------------

TEST_CASE("Uniform: log_prob inside and outside, rsample gradients, moments, entropy") {
  Tape<double> tape;
  Var<double> low = tape.variable(arr({2}, {-1, 2})), high = tape.variable(arr({2}, {3, 2.5}));
  Uniform<double> p(low, high);
  Array<double> lp = p.log_prob(tape.constant(arr({3, 2}, {0, 2.2, -1, 2.5, 3, 1.9}))).value();
  const double inf = std::numeric_limits<double>::infinity();
  check_close(Array<double>(xt::view(lp, 0, xt::all())), arr({2}, {-std::log(4.0), -std::log(0.5)}), 1e-14);
  CHECK(lp(1, 0) == doctest::Approx(-std::log(4.0)));  // low is inside
  CHECK(lp(1, 1) == -inf);                             // high is outside: [low, high)
  CHECK(lp(2, 0) == -inf);
  CHECK(lp(2, 1) == -inf);

  Rng rng(5);
  Var<double> z = p.rsample(rng, {4});
  Array<double> u = (z.value() - low.value()) / (high.value() - low.value());
  CHECK(xt::all(u >= 0.0 && u < 1.0));
  sum(z).backward();
  check_close(low.grad(), Array<double>(xt::sum(1.0 - u, {0})), 1e-12);
  check_close(high.grad(), Array<double>(xt::sum(u, {0})), 1e-12);

  test::check_moments(p, rng, 20000, "Uniform");
  test::check_entropy_mc(p, rng, 2000, "Uniform");  // log p is constant: the MC estimate is exact
  check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) { return Uniform<double>(in[0], in[1]).entropy(); },
      {arr({2}, {-1, 0}), arr({2}, {1, 3})}, "Uniform.entropy");
}

// ---- ContinuousBernoulli ------------------------------------------------------------------------

namespace {
/// log C(λ) from the probability form 2 atanh(1 − 2λ)/(1 − 2λ) (log 2 at λ = ½), in long double.
double cb_log_norm_reference(double l) {
  if (l == 0) return std::log(2.0);
  if (std::abs(l) > 20) return std::log(l / std::tanh(l / 2));  // λ rounds to 0 or 1: use l / tanh(l/2)
  long double lam = 1.0L / (1.0L + std::exp(-static_cast<long double>(l)));
  long double t = 1 - 2 * lam;
  return static_cast<double>(std::log(2 * std::atanh(t) / t));
}
/// ∫₀¹ f(x) dx by Simpson's rule on 4000 intervals.
template <class F>
double simpson(F f) {
  const int n = 4000;
  double s = f(0.0) + f(1.0);
  for (int i = 1; i < n; ++i) s += (i % 2 ? 4 : 2) * f(double(i) / n);
  return s / (3.0 * n);
}
}  // namespace

TEST_CASE("ContinuousBernoulli: the density integrates to 1 and log C matches the probability form") {
  for (double l : {-6.0, -0.7, -0.03, -0.01, -1e-5, 0.0, 1e-3, 0.015, 0.025, 0.3, 2.0, 8.0}) {
    Tape<double> tape;
    ContinuousBernoulli<double> p(tape.constant(arr({1}, {l})));
    INFO("logit " << l);
    const double lc = p.log_normalizer().value()(0);
    if (std::abs(l) > 1e-3 || l == 0) CHECK(lc == doctest::Approx(cb_log_norm_reference(l)).epsilon(1e-10));
    const double integral = simpson([&](double x) {
      Tape<double> t;
      ContinuousBernoulli<double> q(t.constant(arr({1}, {l})));
      return std::exp(q.log_prob(t.constant(arr({1}, {x}))).value()(0));
    });
    CHECK(integral == doctest::Approx(1.0).epsilon(1e-9));
    // Moments and entropy against quadrature.
    auto dens = [&](double x) {
      Tape<double> t;
      ContinuousBernoulli<double> q(t.constant(arr({1}, {l})));
      return q.log_prob(t.constant(arr({1}, {x}))).value()(0);
    };
    const double m = simpson([&](double x) { return x * std::exp(dens(x)); });
    const double m2 = simpson([&](double x) { return x * x * std::exp(dens(x)); });
    const double h = simpson([&](double x) { return -dens(x) * std::exp(dens(x)); });
    CHECK(p.mean().value()(0) == doctest::Approx(m).epsilon(1e-8));
    CHECK(p.variance().value()(0) == doctest::Approx(m2 - m * m).epsilon(1e-7));
    CHECK(p.entropy().value()(0) == doctest::Approx(h).epsilon(1e-8));
  }
}

TEST_CASE("ContinuousBernoulli: log_prob gradients (both branches of log C) match finite differences") {
  check_gradients([](Tape<double>&,
                     const std::vector<Var<double>>& in) { return ContinuousBernoulli<double>(in[0]).log_prob(in[1]); },
                  {arr({6}, {-3, -0.5, -0.01, 0.004, 0.05, 2.5}), arr({6}, {0.1, 0.9, 0.5, 0.2, 0.7, 0.35})},
                  "ContinuousBernoulli.log_prob");
  check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) { return ContinuousBernoulli<double>(in[0]).entropy(); },
      {arr({5}, {-3, -0.1, 0.004, 0.5, 2.5})}, "ContinuousBernoulli.entropy");
}

TEST_CASE("ContinuousBernoulli: float is finite and accurate near logit 0 and at ±100") {
  Tape<float> tape;
  Array<float> l = {0.f, 1e-6f, -1e-4f, 1e-3f, 0.0199f, -0.0201f, 0.5f, 100.f, -100.f};
  Var<float> logits = tape.variable(l);
  ContinuousBernoulli<float> p(logits);
  Var<float> lc = p.log_normalizer();
  for (std::size_t i = 0; i < l.size(); ++i) {
    INFO("logit " << l(i));
    CHECK(lc.value()(i) == doctest::Approx(cb_log_norm_reference(l(i))).epsilon(1e-5));
  }
  Var<float> lp = p.log_prob(tape.constant(Array<float>(xt::ones<float>({9}) * 0.3f)));
  sum(lp).backward();
  CHECK(all_finite(lp.value()));
  CHECK(all_finite(logits.grad()));
  CHECK(all_finite(p.entropy().value()));
  CHECK(all_finite(p.mean().value()));
  CHECK(all_finite(p.variance().value()));
}

namespace {
/// mpmath references at 120 working digits, printed to 20: tests/nn/dist/cb_reference.py (closed forms in
/// l, gradients by mpmath.diff of those closed forms; no formula of the implementation is involved).
/// Columns: l, log C, E[x], Var[x], H, d log C/dl, dE/dl, dVar/dl, dH/dl.
const double kCbReference[][9] = {
    {0, 6.9314718055994530942e-1, 5.0e-1, 8.3333333333333333333e-2, 0.0, 0.0, 8.3333333333333333333e-2, 0.0,
     -3.6964633370123210497e-195},
    {1e-8, 6.9314718055994531775e-1, 5.0000000083333333333e-1, 8.3333333333333332917e-2, -4.1666666666666668306e-18,
     1.6666666666666666821e-9, 8.3333333333333332917e-2, -8.3333333333333334416e-11, -8.333333333333333466e-10},
    {-1e-8, 6.9314718055994531775e-1, 4.9999999916666666667e-1, 8.3333333333333332917e-2, -4.1666666666666668306e-18,
     -1.6666666666666666821e-9, 8.3333333333333332917e-2, 8.3333333333333334416e-11, 8.333333333333333466e-10},
    {0.1, 6.9398002812361601982e-1, 5.0833194477504962451e-1, 8.3291683195273042344e-2, -4.1656252755008735235e-4,
     1.6647242703890362975e-2, 8.3291683195273042344e-2, -8.3267230474392539524e-4, -8.3291683195273046967e-3},
    {-0.1, 6.9398002812361601982e-1, 4.9166805522495037549e-1, 8.3291683195273042344e-2, -4.1656252755008735235e-4,
     -1.6647242703890362975e-2, 8.3291683195273042344e-2, 8.3267230474392539524e-4, 8.3291683195273046967e-3},
    {0.19, 6.9614919487630257684e-1, 5.1582381512521943128e-1, 8.3183131872573075776e-2, -1.5028104514809554714e-3,
     3.1533803017869842656e-2, 8.3183131872573075776e-2, -1.5788055418206391848e-3, -1.5804795055788884582e-2},
    {-0.19, 6.9614919487630257684e-1, 4.8417618487478056872e-1, 8.3183131872573075776e-2, -1.5028104514809554714e-3,
     -3.1533803017869842656e-2, 8.3183131872573075776e-2, 1.5788055418206391848e-3, 1.5804795055788884582e-2},
    {0.2, 6.9647275791801137954e-1, 5.16655566126994806e-1, 8.3166930847041252524e-2, -1.6650017618185006878e-3,
     3.3178431185483105311e-2, 8.3166930847041252524e-2, -1.6613867532764711999e-3, -1.6633386169408251428e-2},
    {-0.2, 6.9647275791801137954e-1, 4.83344433873005194e-1, 8.3166930847041252524e-2, -1.6650017618185006878e-3,
     -3.3178431185483105311e-2, 8.3166930847041252524e-2, 1.6613867532764711999e-3, 1.6633386169408251428e-2},
    {0.5, 7.1368193318734994335e-1, 5.4149408253679828413e-1, 8.2301910967236235149e-2, -1.0351990275642404543e-2,
     8.0965248665056280508e-2, 8.2301910967236235149e-2, -4.0850681477801160325e-3, -4.1150955483618117575e-2},
    {-0.5, 7.1368193318734994335e-1, 4.5850591746320171587e-1, 8.2301910967236235149e-2, -1.0351990275642404543e-2,
     -8.0965248665056280508e-2, 8.2301910967236235149e-2, 4.0850681477801160325e-3, 4.1150955483618117575e-2},
    {1, 7.7193683290530472507e-1, 5.8197670686932642439e-1, 7.9326405792207681055e-2, -4.0651852256408315407e-2,
     1.4908187176067845487e-1, 7.9326405792207681055e-2, -7.705232875012607074e-3, -7.9326405792207681055e-2},
    {-1, 7.7193683290530472507e-1, 4.1802329313067357561e-1, 7.9326405792207681055e-2, -4.0651852256408315407e-2,
     -1.4908187176067845487e-1, 7.9326405792207681055e-2, 7.705232875012607074e-3, 7.9326405792207681055e-2},
    {1.999, 9.6526438805232440899e-1, 6.5644865200515693438e-1, 6.8996903822880935194e-2, -1.5145797693551707821e-1,
     2.2424339239959707546e-1, 6.8996903822880935194e-2, -1.2317755687923456425e-2, -1.3792481074193899705e-1},
    {2, 9.6548864947177686283e-1, 6.5651764274966565182e-1, 6.8984584758422383398e-2, -1.5159592392813567003e-1,
     2.2427943522821679224e-1, 6.8984584758422383398e-2, -1.2320372568495127065e-2, -1.379691695168447668e-1},
    {-2.001, 9.657129469002334173e-1, 3.4341337882619786892e-1, 6.8972263079065195909e-2, -1.5173391526459389016e-1,
     -2.2431541041470942307e-1, 6.8972263079065195909e-2, 1.2322985485322104994e-2, 1.3801349842120944942e-1},
    {10, 2.3026758928536330379, 9.0004540199100968777e-1, 9.9545959476495245879e-3, -1.3030845138645130509,
     9.9909200140287877837e-2, 9.9545959476495245879e-3, -1.9545918247807713485e-3, -9.9545959476495245879e-2},
    {-10, 2.3026758928536330379, 9.9954598008990312232e-2, 9.9545959476495245879e-3, -1.3030845138645130509,
     -9.9909200140287877837e-2, 9.9545959476495245879e-3, 1.9545918247807713485e-3, 9.9545959476495245879e-2},
    {50, 3.9120230054281460586, 9.8e-1, 3.9999999999999999981e-4, -2.9120230054281460586, 2.0e-2,
     3.9999999999999999981e-4, -1.5999999999999999807e-5, -1.999999999999999999e-2},
    {-50, 3.9120230054281460586, 2.0e-2, 3.9999999999999999981e-4, -2.9120230054281460586, -2.0e-2,
     3.9999999999999999981e-4, 1.5999999999999999807e-5, 1.999999999999999999e-2},
};
}  // namespace

TEST_CASE("ContinuousBernoulli: log C, mean, variance, entropy and their gradients match mpmath") {
  // double: 1e-14 relative at every grid point (the worst measured on a dense sweep of |l| ∈ [1e-10, 316] is 1.7e-15);
  // float: 1e-6 relative (one rounding of a double evaluation, plus the rounding of l itself, amplified by at most the
  // condition number |l f'(l)/f(l)| ≲ 2 of these functions).
  for (const auto& r : kCbReference) {
    const double l = r[0];
    INFO("logit " << l);
    Tape<double> tape;
    Var<double> lv = tape.variable(arr({1}, {l}));
    ContinuousBernoulli<double> p(lv);
    const Var<double> outs[4] = {p.log_normalizer(), p.mean(), p.variance(), p.entropy()};
    const char* names[4] = {"log C", "mean", "variance", "entropy"};
    for (int j = 0; j < 4; ++j) {
      INFO(names[j]);
      CHECK(std::abs(outs[j].item() - r[1 + j]) <= 1e-14 * std::abs(r[1 + j]) + 1e-300);
      outs[j].backward();
      CHECK(std::abs(lv.grad()(0) - r[5 + j]) <= 1e-14 * std::abs(r[5 + j]) + 1e-150);
    }
    Tape<float> tf;
    const float lf = static_cast<float>(l);
    Var<float> lfv = tf.variable(Array<float>({lf}));
    ContinuousBernoulli<float> q(lfv);
    const Var<float> outf[4] = {q.log_normalizer(), q.mean(), q.variance(), q.entropy()};
    for (int j = 0; j < 4; ++j) {
      INFO(names[j] << " (float)");
      CHECK(std::abs(outf[j].item() - r[1 + j]) <= 1e-6 * std::abs(r[1 + j]) + 1e-30);
      outf[j].backward();
      CHECK(std::abs(lfv.grad()(0) - r[5 + j]) <= 1e-6 * std::abs(r[5 + j]) + 1e-30);
    }
  }
}

TEST_CASE("ContinuousBernoulli: log_prob is −∞ outside [0, 1], exact Bernoulli term at large logits, ±∞ limits") {
  Tape<double> tape;
  ContinuousBernoulli<double> p(tape.constant(arr({1}, {50})));
  Array<double> lp = p.log_prob(tape.constant(arr({4, 1}, {-0.01, 1.01, 1, 0}))).value();
  CHECK(lp(0, 0) == -std::numeric_limits<double>::infinity());
  CHECK(lp(1, 0) == -std::numeric_limits<double>::infinity());
  // log p(1 | 50) = log C(50) − softplus(−50), log p(0 | 50) = log C(50) − softplus(50) (mpmath).
  CHECK(lp(2, 0) == doctest::Approx(3.9120230054281460586).epsilon(1e-15));
  CHECK(lp(3, 0) == doctest::Approx(3.9120230054281460586 - 50).epsilon(1e-15));
  const double inf = std::numeric_limits<double>::infinity();
  ContinuousBernoulli<double> q(tape.constant(arr({2}, {inf, -inf})));
  check_close(q.mean().value(), arr({2}, {1, 0}), 0);
  check_close(q.variance().value(), arr({2}, {0, 0}), 0);
  CHECK(q.entropy().value()(0) == -inf);
}

TEST_CASE("ContinuousBernoulli: rsample lies in [0, 1], matches mean/variance, and its gradient is d E[x]/dl") {
  Tape<double> tape;
  Rng rng(99);
  Array<double> l0 = arr({5}, {-4, -0.3, 0.0, 0.05, 3});
  ContinuousBernoulli<double> p(tape.constant(l0));
  Array<double> x = p.rsample(rng, {20000}).value();
  CHECK(xt::all(x >= 0.0 && x <= 1.0));
  test::check_moments(p, rng, 20000, "ContinuousBernoulli");
  test::check_entropy_mc(p, rng, 20000, "ContinuousBernoulli");

  // Pathwise gradient: (1/N) Σ dx_n/dl estimates d E[x]/dl, which mean() gives exactly.
  Var<double> logits = tape.variable(arr({4}, {-2, -0.2, 0.1, 1.5}));
  ContinuousBernoulli<double> q(logits);
  const std::size_t n = 20000;
  Var<double> z = q.rsample(rng, {n});
  sum(z).backward();
  Array<double> pathwise = logits.grad() / double(n);
  sum(q.mean()).backward();
  Array<double> exact = logits.grad();
  for (std::size_t i = 0; i < 4; ++i) CHECK(pathwise(i) == doctest::Approx(exact(i)).epsilon(0.03));
}

// ---- LowRankMultivariateNormal ------------------------------------------------------------------

namespace {
/// Dense log N(x; μ, W Wᵀ + diag d) via an explicit covariance and a hand-written Cholesky.
double dense_mvn_log_prob(const Array<double>& x, const Array<double>& mu, const Array<double>& W,
                          const Array<double>& d) {
  const std::size_t D = mu.size(), R = W.shape()[1];
  std::vector<double> S(D * D), L(D * D, 0.0);
  for (std::size_t i = 0; i < D; ++i)
    for (std::size_t j = 0; j < D; ++j) {
      double s = i == j ? d(i) : 0.0;
      for (std::size_t k = 0; k < R; ++k) s += W(i, k) * W(j, k);
      S[i * D + j] = s;
    }
  for (std::size_t j = 0; j < D; ++j) {
    double s = S[j * D + j];
    for (std::size_t k = 0; k < j; ++k) s -= L[j * D + k] * L[j * D + k];
    L[j * D + j] = std::sqrt(s);
    for (std::size_t i = j + 1; i < D; ++i) {
      double t = S[i * D + j];
      for (std::size_t k = 0; k < j; ++k) t -= L[i * D + k] * L[j * D + k];
      L[i * D + j] = t / L[j * D + j];
    }
  }
  // y = L⁻¹ (x − μ): Mahalanobis = |y|², log|Σ| = 2 Σ log L_ii.
  std::vector<double> y(D);
  double maha = 0, logdet = 0;
  for (std::size_t i = 0; i < D; ++i) {
    double s = x(i) - mu(i);
    for (std::size_t k = 0; k < i; ++k) s -= L[i * D + k] * y[k];
    y[i] = s / L[i * D + i];
    maha += y[i] * y[i];
    logdet += 2 * std::log(L[i * D + i]);
  }
  return -0.5 * (double(D) * kLog2Pi + logdet + maha);
}
}  // namespace

TEST_CASE("LowRankMultivariateNormal: log_prob and entropy match a dense computation") {
  Tape<double> tape;
  Array<double> mu = arr({4}, {0.5, -1, 0.2, 1});
  Array<double> W = test::rand({4, 2}, 17, -1, 1);
  Array<double> d = arr({4}, {0.3, 0.5, 1.2, 0.8});
  LowRankMultivariateNormal<double> p(tape.constant(mu), tape.constant(W), tape.constant(d));
  CHECK(p.batch_shape() == Shape{});
  CHECK(p.event_shape() == Shape{4});
  Array<double> x = test::rand({2, 3, 4}, 4, -2, 2);
  Array<double> lp = p.log_prob(tape.constant(x)).value();
  REQUIRE(lp.shape() == Shape{2, 3});
  for (std::size_t a = 0; a < 2; ++a)
    for (std::size_t b = 0; b < 3; ++b)
      CHECK(lp(a, b) == doctest::Approx(dense_mvn_log_prob(xt::view(x, a, b, xt::all()), mu, W, d)).epsilon(1e-12));
  // H = ½ D (1 + log 2π) + ½ log|Σ|, and log N(μ; μ, Σ) = −½ (D log 2π + log|Σ|).
  const double half_logdet = -dense_mvn_log_prob(mu, mu, W, d) - 2 * kLog2Pi;
  CHECK(p.entropy().item() == doctest::Approx(2 * (1 + kLog2Pi) + half_logdet).epsilon(1e-12));
  Array<double> var = xt::sum(W * W, {1}) + d;
  check_close(p.variance().value(), var, 1e-14);

  test::check_throws_with(
      [&] {
        LowRankMultivariateNormal<double>(tape.constant(mu), tape.constant(W), tape.constant(arr({3}, {1, 1, 1})));
      },
      {"LowRankMultivariateNormal", "(4,)", "(4, 2)", "(3,)"});
  test::check_throws_with([&] { p.log_prob(tape.constant(xt::zeros<double>({3}))); },
                          {"LowRankMultivariateNormal.log_prob", "(3,)"});
}

TEST_CASE("LowRankMultivariateNormal: log_prob and entropy gradients match finite differences") {
  auto f = [](Tape<double>&, const std::vector<Var<double>>& in) {
    return LowRankMultivariateNormal<double>(in[0], in[1], in[2]).log_prob(in[3]);
  };
  check_gradients(
      f,
      {arr({3}, {0.5, -1, 0.2}), test::rand({3, 2}, 8, -1, 1), arr({3}, {0.3, 0.5, 1.2}), test::rand({4, 3}, 9, -2, 2)},
      "LowRankMultivariateNormal.log_prob");
  check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) {
        return LowRankMultivariateNormal<double>(in[0], in[1], in[2]).entropy();
      },
      {arr({3}, {0.5, -1, 0.2}), test::rand({3, 2}, 8, -1, 1), arr({3}, {0.3, 0.5, 1.2})},
      "LowRankMultivariateNormal.entropy");
}

TEST_CASE("LowRankMultivariateNormal: rsample covariance is W Wᵀ + diag(d) (probabilistic PCA marginal)") {
  Tape<double> tape;
  Rng rng(31);
  Array<double> mu = arr({3}, {0.5, -1, 0.2});
  Array<double> W = arr({3, 2}, {1.0, 0.2, -0.5, 0.8, 0.3, -0.6});
  Array<double> d = xt::ones<double>({3}) * 0.25;  // σ² I
  LowRankMultivariateNormal<double> p(tape.constant(mu), tape.constant(W), tape.constant(d));
  const std::size_t n = 40000;
  Array<double> x = p.sample(rng, {n}).value();
  REQUIRE(x.shape() == Shape{n, 3});
  test::check_within_se(test::mc_estimate(x), mu, "LowRankMVN sample mean");
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 3; ++j) {
      Array<double> prod = (xt::view(x, xt::all(), i) - mu(i)) * (xt::view(x, xt::all(), j) - mu(j));
      double sigma_ij = (i == j ? d(i) : 0.0);
      for (std::size_t k = 0; k < 2; ++k) sigma_ij += W(i, k) * W(j, k);
      test::check_within_se(test::mc_estimate(prod), Array<double>(xt::xarray<double>(sigma_ij)),
                            "LowRankMVN sample covariance");
    }
  test::check_entropy_mc(p, rng, 20000, "LowRankMVN");

  // rsample is differentiable: d/dμ Σ x = N per coordinate.
  Var<double> loc = tape.variable(mu);
  LowRankMultivariateNormal<double> q(loc, tape.constant(W), tape.constant(d));
  sum(q.rsample(rng, {7})).backward();
  check_close(loc.grad(), Array<double>(xt::ones<double>({3}) * 7.0), 1e-14);
}

// ---- rsample with caller-supplied noise ---------------------------------------------------------

namespace {
/// rsample(rng, S) against rsample_with_noise(draw_noise(same rng, S)): identical values, and the noise
/// has the advertised shape and base distribution.
void check_noise_path(const Distribution<double>& p, BaseNoise kind, const Shape& noise_event,
                      const std::string& what) {
  INFO(what);
  CHECK(p.base_noise() == kind);
  const Shape S{5, 2};
  CHECK(p.noise_shape(S) == concat_shapes(S, noise_event));
  Rng a(77), b(77);
  Array<double> x = p.rsample(a, S).value();
  Array<double> eps = p.draw_noise(b, S);
  REQUIRE(eps.shape() == p.noise_shape(S));
  Array<double> y = p.rsample_with_noise(p.tape().constant(eps)).value();
  REQUIRE(y.shape() == p.extended_shape(S));
  CHECK(xt::all(xt::equal(x, y)));
  if (kind == BaseNoise::standard_uniform) CHECK(xt::all(eps >= 0.0 && eps < 1.0));
  test::check_throws_with(
      [&] {
        p.rsample_with_noise(p.tape().constant(xt::zeros<double>({3, 7})));
      },
      {what.substr(0, what.find('(')), "rsample_with_noise", "(3, 7)"});
}
}  // namespace

TEST_CASE("rsample_with_noise: every reparameterisable family reproduces rsample from the same noise") {
  Tape<double> tape;
  Var<double> a = tape.constant(arr({3}, {0.5, -1, 2})), b = tape.constant(arr({3}, {0.5, 1.5, 2.0}));
  check_noise_path(Normal<double>(a, b), BaseNoise::standard_normal, {3}, "Normal");
  check_noise_path(Laplace<double>(a, b), BaseNoise::standard_uniform, {3}, "Laplace");
  check_noise_path(Uniform<double>(a, a + b), BaseNoise::standard_uniform, {3}, "Uniform");
  check_noise_path(ContinuousBernoulli<double>(tape.constant(arr({4}, {-3, 1e-4, 0, 2}))), BaseNoise::standard_uniform,
                   {4}, "ContinuousBernoulli");
  check_noise_path(LowRankMultivariateNormal<double>(a, tape.constant(test::rand({3, 2}, 4)), b),
                   BaseNoise::standard_normal, {5}, "LowRankMultivariateNormal");
  check_noise_path(Independent<double>(Normal<double>(a, b), 1), BaseNoise::standard_normal, {3},
                   "Independent(Normal, 1)");
  check_noise_path(RelaxedBernoulli<double>(tape.scalar(0.5), a), BaseNoise::standard_uniform, {3}, "RelaxedBernoulli");
  check_noise_path(RelaxedOneHotCategorical<double>(tape.scalar(0.5), tape.constant(test::rand({2, 3}, 5))),
                   BaseNoise::standard_uniform, {2, 3}, "RelaxedOneHotCategorical");
  // Families without rsample say so.
  Rng rng(1);
  Bernoulli<double> bern(a);
  CHECK(bern.base_noise() == BaseNoise::none);
  test::check_throws_with([&] { bern.draw_noise(rng); }, {"Bernoulli", "draw_noise"});
  test::check_throws_with([&] { bern.rsample_with_noise(a); }, {"Bernoulli", "rsample_with_noise"});
}

TEST_CASE("rsample_with_noise: antithetic and common noise; gradients through the transform") {
  Tape<double> tape;
  Rng rng(12);
  Normal<double> p(tape.constant(arr({2}, {0.5, -1})), tape.constant(arr({2}, {2, 0.3})));
  Array<double> eps = p.draw_noise(rng, {1000});
  Array<double> z1 = p.rsample_with_noise(tape.constant(eps)).value();
  Array<double> z2 = p.rsample_with_noise(tape.constant(Array<double>(-eps))).value();
  check_close(Array<double>((z1 + z2) / 2.0), Array<double>(xt::ones<double>({1000, 2}) * arr({2}, {0.5, -1})), 1e-14);
  // Laplace with u and 1 − u: the draws mirror about the location; u = 0 and 1 stay finite.
  Laplace<double> q(tape.constant(arr({1}, {0.25})), tape.constant(arr({1}, {2})));
  Array<double> u = arr({4, 1}, {0.1, 0.3, 0, 1});
  Array<double> w1 = q.rsample_with_noise(tape.constant(u)).value();
  Array<double> w2 = q.rsample_with_noise(tape.constant(Array<double>(1.0 - u))).value();
  CHECK(all_finite(w1));
  check_close(Array<double>(xt::view(w1 + w2, xt::range(0, 2), xt::all())), arr({2, 1}, {0.5, 0.5}), 1e-13);
  // Gradients of the transforms in the parameters, with the noise fixed.
  const Array<double> v = test::rand({4, 3}, 6, 0.01, 0.99);
  check_gradients(
      [v](Tape<double>& t, const std::vector<Var<double>>& in) {
        return Laplace<double>(in[0], in[1]).rsample_with_noise(t.constant(v));
      },
      {arr({3}, {0.1, -0.2, 0.3}), arr({3}, {0.5, 1, 2})}, "Laplace.rsample_with_noise");
  check_gradients(
      [v](Tape<double>& t, const std::vector<Var<double>>& in) {
        return ContinuousBernoulli<double>(in[0]).rsample_with_noise(t.constant(v));
      },
      {arr({3}, {-2.5, 5e-4, 1.2})}, "ContinuousBernoulli.rsample_with_noise");
  const Array<double> e = test::rand({4, 5}, 7, -2, 2);
  check_gradients(
      [e](Tape<double>& t, const std::vector<Var<double>>& in) {
        return LowRankMultivariateNormal<double>(in[0], in[1], in[2]).rsample_with_noise(t.constant(e));
      },
      {arr({3}, {0.5, -1, 0.2}), test::rand({3, 2}, 8), arr({3}, {0.3, 0.5, 1.2})},
      "LowRankMultivariateNormal.rsample_with_noise");
}

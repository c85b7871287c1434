// The VAE: shapes and config, estimators A and B agree in expectation, IWAE bounds tighten with K,
// parameter gradients against finite differences, and the bound rises when training on a tiny set.
#include <doctest/doctest.h>

#include <map>
#include <vector>

#include "autodiff/check.hpp"

#include <xtensor/xview.hpp>
#include "models/vae/vae.hpp"

using namespace tapir;
using namespace tapir::models;

namespace {
VaeConfig small(Likelihood l = Likelihood::bernoulli, Estimator e = Estimator::analytic_kl) {
  VaeConfig c;
  c.x_dim = 6;
  c.z_dim = 2;
  c.hidden = {5};
  c.likelihood = l;
  c.estimator = e;
  c.init_std = 0.3;
  return c;
}
Array<double> binary_data(std::size_t n, std::size_t d, std::uint64_t seed) {
  Rng rng(seed);
  const Array<double> protos = bernoulli<double>(rng, {2, d}, 0.5);
  Array<double> x = Array<double>::from_shape({n, d});
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) x(i, j) = rng.uniform() < 0.1 ? 1 - protos(i % 2, j) : protos(i % 2, j);
  return x;
}
double mean_of(const Var<double>& v) { return xt::mean(v.value())(); }
}  // namespace

TEST_CASE("config round-trips through JSON and bad configs are refused") {
  VaeConfig c = small(Likelihood::gaussian, Estimator::monte_carlo);
  c.samples = 3;
  const VaeConfig back = VaeConfig::from_json(c.to_json());
  CHECK(back.to_json() == c.to_json());
  test::check_throws_with([] { VaeConfig::from_json({{"z_dimm", 3}}); }, {"unknown key 'z_dimm'"});
  test::check_throws_with([] { VaeConfig::from_json({{"likelihood", "poisson"}}); }, {"poisson"});
  VaeConfig none = small();
  none.hidden.clear();
  Rng rng(1);
  test::check_throws_with([&] { Vae<double> v(none, rng); }, {"hidden"});
}

TEST_CASE("parameter names and shapes follow the paper's networks") {
  Rng rng(1);
  Vae<double> vae(small(Likelihood::gaussian), rng);
  std::vector<std::string> names;
  for (const auto& [n, p] : vae.named_parameters()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"encoder.trunk.0.weight", "encoder.trunk.0.bias", "encoder.mu.weight",
                                          "encoder.mu.bias", "encoder.log_var.weight", "encoder.log_var.bias",
                                          "decoder.trunk.0.weight", "decoder.trunk.0.bias", "decoder.mu.weight",
                                          "decoder.mu.bias", "decoder.log_var.weight", "decoder.log_var.bias"});
  // Checkpoints written before the parts refactor map onto these names.
  const std::vector<std::string> old{"encoder.0.weight", "encoder.0.bias", "mu.weight",          "mu.bias",
                                     "log_var.weight",   "log_var.bias",   "decoder.0.weight",   "decoder.0.bias",
                                     "out.weight",       "out.bias",       "out_log_var.weight", "out_log_var.bias"};
  for (std::size_t i = 0; i < old.size(); ++i)
    CHECK(legacy_vae_parameter_name(old[i], Likelihood::gaussian) == names[i]);
  CHECK(legacy_vae_parameter_name("out.weight", Likelihood::bernoulli) == "decoder.logits.weight");
  CHECK(legacy_vae_parameter_name("decoder.trunk.0.weight", Likelihood::bernoulli) == "decoder.trunk.0.weight");
  Tape<double> tape;
  Var<double> x = tape.constant(binary_data(4, 6, 2));
  CHECK(vae.elbo(x, rng).shape() == Shape{4});
  CHECK(vae.iwae(x, rng, 7).shape() == Shape{4});
  CHECK(vae.encode(x).batch_shape() == Shape{4});
  test::check_throws_with([&] { vae.encode(tape.constant(xt::zeros<double>({4, 5}))); }, {"(4, 5)", "(batch, 6)"});
}

TEST_CASE("estimators A and B estimate the same bound; IWAE tightens with K") {
  for (Likelihood l : {Likelihood::bernoulli, Likelihood::gaussian, Likelihood::continuous_bernoulli}) {
    CAPTURE(to_string(l));
    Rng init(3);
    VaeConfig ca = small(l, Estimator::monte_carlo), cb = small(l, Estimator::analytic_kl);
    ca.samples = cb.samples = 4000;
    Vae<double> a(ca, init);
    Rng init2(3);
    Vae<double> b(cb, init2);  // same seed: same parameters
    Tape<double> tape;
    Var<double> x = tape.constant(binary_data(3, 6, 4) * 0.8 + 0.1);
    Rng rng(5);
    const Array<double> la = a.elbo(x, rng).value(), lb = b.elbo(x, rng).value();
    for (std::size_t i = 0; i < 3; ++i) CHECK(la(i) == doctest::Approx(lb(i)).epsilon(0.02));
    const double e50 = mean_of(a.iwae(x, rng, 50)), e2000 = mean_of(a.iwae(x, rng, 2000));
    CHECK(e50 > xt::mean(la)());
    CHECK(e2000 > e50 - 0.05);
    // IWAE with K = 1 is the ELBO itself: averaged over many draws it meets the 4000-sample bound.
    double iwae1 = 0;
    for (int rep = 0; rep < 2000; ++rep) iwae1 += mean_of(a.iwae(x, rng, 1)) / 2000;
    CHECK(iwae1 == doctest::Approx(xt::mean(la)()).epsilon(0.02));
  }
}

TEST_CASE("with one latent dimension: ELBO (A and B) ≤ log p(x) by quadrature ≤ the ELBO + KL gap; IWAE → log p(x)") {
  // log p(x) = log ∫ p(z) p(x|z) dz on a grid of 8001 points over [−10, 10] (trapezoid), independent of
  // q: a sign error in the KL, the entropy or the likelihood puts the bound above it.
  for (Likelihood l : {Likelihood::bernoulli, Likelihood::gaussian}) {
    CAPTURE(to_string(l));
    VaeConfig c = small(l);
    c.z_dim = 1;
    c.samples = 20000;
    Rng init(4);
    Vae<double> vb(c, init);
    c.estimator = Estimator::monte_carlo;
    Rng init2(4);
    Vae<double> va(c, init2);
    Tape<double> tape;
    const Array<double> x0 = binary_data(2, 6, 12) * 0.8 + 0.1;
    const std::size_t grid = 8001;
    const double lo = -10, h = 20.0 / double(grid - 1);
    Array<double> z = Array<double>::from_shape({grid, 1});
    for (std::size_t g = 0; g < grid; ++g) z(g, 0) = lo + h * double(g);
    Rng rng(6);
    const Array<double> ea = va.elbo(tape.constant(x0), rng).value(), eb = vb.elbo(tape.constant(x0), rng).value();
    for (std::size_t i = 0; i < 2; ++i) {
      Array<double> xi = Array<double>::from_shape({grid, 6});
      for (std::size_t g = 0; g < grid; ++g)
        for (std::size_t j = 0; j < 6; ++j) xi(g, j) = x0(i, j);
      const Var<double> zv = tape.constant(z);
      const Array<double> lj = (vb.log_prior(zv) + vb.log_likelihood(tape.constant(xi), zv)).value();
      double m = -1e300, acc = 0;
      for (std::size_t g = 0; g < grid; ++g) m = std::max(m, lj(g));
      for (std::size_t g = 0; g < grid; ++g) acc += (g == 0 || g + 1 == grid ? 0.5 : 1.0) * std::exp(lj(g) - m);
      const double log_px = m + std::log(acc * h);
      double iwae = 0;
      for (int rep = 0; rep < 20; ++rep)
        iwae +=
            vb.iwae(tape.constant(Array<double>(xt::view(x0, xt::range(i, i + 1), xt::all()))), rng, 2000).value()(0) /
            20;
      INFO("point " << i << ": log p(x) " << log_px << ", ELBO A " << ea(i) << ", B " << eb(i) << ", IWAE-2000 "
                    << iwae);
      CHECK(ea(i) < log_px);
      CHECK(eb(i) < log_px);
      CHECK(ea(i) == doctest::Approx(eb(i)).epsilon(0.01));
      CHECK(iwae <= log_px + 0.01);
      CHECK(iwae == doctest::Approx(log_px).epsilon(0.01));
      tape.clear();
    }
  }
}

TEST_CASE("d ELBO / d parameters matches central finite differences (double, fixed noise)") {
  Rng init(7);
  Vae<double> vae(small(Likelihood::gaussian), init);
  const Array<double> x0 = binary_data(3, 6, 8) * 0.8 + 0.1;
  Tape<double> tape;
  auto bound = [&] {
    Rng rng(11);  // the same ε every evaluation
    const double v = xt::sum(vae.elbo(tape.constant(x0), rng).value())();
    tape.clear();
    return v;
  };
  Rng rng(11);
  sum(vae.elbo(tape.constant(x0), rng)).backward();
  tape.clear();
  for (const auto& [name, p] : vae.named_parameters()) {
    CAPTURE(name);
    const Array<double> analytic = p->grad();
    for (std::size_t i = 0; i < p->size(); i += 3) {
      double& w = p->value().data()[i];
      const double saved = w;
      w = saved + 1e-6;
      const double up = bound();
      w = saved - 1e-6;
      const double down = bound();
      w = saved;
      const double numeric = (up - down) / 2e-6;
      CHECK(std::abs(analytic.data()[i] - numeric) <= 1e-5 + 1e-3 * std::abs(numeric));
    }
  }
}

TEST_CASE("training raises the bound on a tiny binary set (float, plain SGD)") {
  Rng rng(9);
  VaeConfig c = small();
  c.hidden = {16};
  c.init_std = 0.1;
  Vae<float> vae(c, rng);
  const Array<float> x0 = xt::cast<float>(binary_data(32, 6, 10));
  Tape<float> tape;
  double first = 0, last = 0;
  for (int step = 0; step < 600; ++step) {
    Var<float> loss = -mean(vae.elbo(tape.constant(x0), rng));
    loss.backward();
    for (Parameter<float>* p : vae.parameters()) {
      p->value() -= 0.05f * p->grad();
      p->zero_grad();
    }
    if (step < 20) first += loss.item() / 20;
    if (step >= 580) last += loss.item() / 20;
    tape.clear();
  }
  MESSAGE("−ELBO per point: first 20 steps " << first << ", last 20 steps " << last);
  CHECK(last < first - 0.6);  // the data's entropy is log 2 + 6 H(0.1) = 2.64 nats: the bound nears it
  // …but never passes the 32 points' empirical entropy: (1/N) Σ −log p(x_n) ≥ H(p̂) for every model p,
  // and −ELBO ≥ −log p(x). A sign error in the KL or entropy term would let the "bound" cross it.
  std::map<std::vector<float>, int> counts;
  for (std::size_t i = 0; i < 32; ++i) ++counts[std::vector<float>(&x0(i, 0), &x0(i, 0) + 6)];
  double h_emp = 0;
  for (const auto& [row, k] : counts) h_emp -= k / 32.0 * std::log(k / 32.0);
  MESSAGE("empirical entropy of the 32 points: " << h_emp);
  CHECK(last > h_emp - 0.05);
}

TEST_CASE(
    "elbo_terms: reconstruction − β·KL is the bound from its own draws; KL analytic (B) or Monte Carlo (A), ≥ 0") {
  const Array<double> xa = binary_data(5, 6, 8);
  for (Estimator e : {Estimator::analytic_kl, Estimator::monte_carlo}) {
    CAPTURE(e == Estimator::analytic_kl);
    VaeConfig c = small(Likelihood::bernoulli, e);
    c.samples = 3;
    Rng init(3);
    Vae<double> vae(c, init);
    Tape<double> tape;
    const Var<double> x = tape.constant(xa);
    for (double beta : {1.0, 0.3}) {
      CAPTURE(beta);
      Rng r1(9), r2(9);
      const ElboTerms<double> t = vae.elbo_terms(x, r1, beta);
      const Array<double> bound = vae.elbo(x, r2, beta).value();
      CHECK(t.elbo.value() == bound);   // bitwise: the same arithmetic on the same draws
      CHECK(r1.state() == r2.state());  // and no other draws
      REQUIRE(t.reconstruction);
      REQUIRE(t.kl);
      REQUIRE(t.mean);
      test::check_close(Array<double>(t.reconstruction->value() - beta * t.kl->value()), bound, 1e-12);
      CHECK(t.mean->value() == vae.encode_mean(x).value());
      if (e == Estimator::analytic_kl) {  // KL(N(μ, σ²) ‖ N(0, I)) = ½ Σ_j (μ² + σ² − 1 − log σ²)   AEVB App. B
        for (double kl : t.kl->value()) CHECK(kl >= 0);  // (A's 3-draw estimate may fall below 0)
        const auto q = vae.encode(x);
        const Array<double> mu = q.mean().value(), var = q.variance().value();
        Array<double> want = xt::zeros<double>({5});
        for (std::size_t i = 0; i < 5; ++i)
          for (std::size_t j = 0; j < 2; ++j)
            want(i) += 0.5 * (mu(i, j) * mu(i, j) + var(i, j) - 1 - std::log(var(i, j)));
        test::check_close(t.kl->value(), want, 1e-12);
      }
    }
  }
  // A's Monte Carlo KL (1/L) Σ log q(z_l|x) − log p(z_l) meets B's closed form with many draws.
  VaeConfig ca = small(Likelihood::bernoulli, Estimator::monte_carlo);
  ca.samples = 20000;
  Rng ia(3), ib(3);
  Vae<double> a(ca, ia), b(small(Likelihood::bernoulli, Estimator::analytic_kl), ib);  // same parameters
  Tape<double> tape;
  Rng r(4);
  const Array<double> kl_a = a.elbo_terms(tape.constant(xa), r).kl->value();
  const Array<double> kl_b = b.elbo_terms(tape.constant(xa), r).kl->value();
  for (std::size_t i = 0; i < 5; ++i) {
    INFO("point " << i << ": Monte Carlo " << kl_a(i) << ", closed form " << kl_b(i));
    CHECK(kl_b(i) > 0);
    CHECK(std::abs(kl_a(i) - kl_b(i)) < 0.02 + 0.05 * kl_b(i));
  }
}

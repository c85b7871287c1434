// Layers on inputs of any rank, layers that return distributions, N(0, I) in one call, and shape
// errors that name the family and the user's shapes.
#include <doctest/doctest.h>

#include "autodiff/check.hpp"
#include "nn/dist/dist.hpp"
#include "nn/heads.hpp"

using namespace tapir;
using namespace tapir::nn;

TEST_CASE("Linear and Mlp act on the last axis of any rank, as the 2-D product row by row") {
  Rng rng(3);
  Mlp<double> mlp({4, 5, 3}, rng);
  Tape<double> tape;
  const Array<double> x3 = test::rand({2, 3, 4}, 7);
  const Var<double> y3 = mlp(tape.constant(x3));
  REQUIRE(y3.shape() == Shape{2, 3, 3});
  Array<double> x2 = x3;
  x2.reshape({6, 4});
  Array<double> y2 = mlp(tape.constant(x2)).value();
  y2.reshape({2, 3, 3});
  test::check_close(y3.value(), y2, 1e-15);
  const Var<double> y1 = mlp(tape.constant(test::rand({4}, 8)));  // a single vector
  CHECK(y1.shape() == Shape{3});
  test::check_throws_with([&] { mlp(tape.constant(test::rand({2, 3, 5}, 9))); }, {"(2, 3, 5)", "(..., 4)"});
  // Gradients through the reshapes: the same as those of the 2-D product, for the input and the weights.
  Linear<double> lin(4, 2, rng);
  const auto grads = [&](const Array<double>& x) {
    Tape<double> t;
    lin.zero_grad();
    const Var<double> xv = t.variable(x);
    sum(tanh(lin(xv))).backward();
    return std::make_pair(Array<double>(xv.grad()), Array<double>(lin.weight().grad()));
  };
  const auto [g3, w3] = grads(x3);
  auto [g2, w2] = grads(x2);
  g2.reshape({2, 3, 4});
  test::check_close(g3, g2, 1e-14);
  test::check_close(w3, w2, 1e-14);
}

TEST_CASE("NormalMlp and BernoulliMlp return one density per leading index") {
  Rng rng(1);
  NormalMlp<double> enc(6, {5}, 2, rng);
  BernoulliMlp<double> dec(2, {5}, 6, rng);
  NormalMlp<double> grey(2, {}, 6, rng, Activation::tanh, MeanActivation::sigmoid);
  std::vector<std::string> names;
  for (const auto& [n, p] : enc.named_parameters()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"trunk.0.weight", "trunk.0.bias", "mu.weight", "mu.bias", "log_var.weight",
                                          "log_var.bias"});
  CHECK(grey.named_parameters().size() == 4);  // no trunk: the heads read the input
  Tape<double> tape;
  const Var<double> x = tape.constant(test::rand({3, 6}, 2, 0, 1));
  const auto q = enc(x);
  CHECK(q.batch_shape() == Shape{3});
  CHECK(q.event_shape() == Shape{2});
  const Var<double> z = q.rsample(rng, {4});  // (4, 3, 2)
  const auto p = dec(z);
  CHECK(p.batch_shape() == Shape{4, 3});
  const Array<double> lp = p.log_prob(x).value();  // x broadcasts over the 4 samples
  REQUIRE(lp.shape() == Shape{4, 3});
  // Bernoulli: Σ_d x log σ(l) + (1 − x) log σ(−l), from the logits.
  const Array<double> l = dec.logits(z).value();
  for (std::size_t s = 0; s < 4; ++s)
    for (std::size_t b = 0; b < 3; ++b) {
      double want = 0;
      for (std::size_t d = 0; d < 6; ++d) {
        const double xi = x.value()(b, d), li = l(s, b, d);
        want += xi * -std::log1p(std::exp(-li)) + (1 - xi) * -std::log1p(std::exp(li));
      }
      CHECK(lp(s, b) == doctest::Approx(want).epsilon(1e-12));
    }
  const Array<double> m = grey(z).mean().value();
  CHECK(xt::amin(m)() > 0.0);
  CHECK(xt::amax(m)() < 1.0);
}

TEST_CASE("standard_normal: any batch and event shape, with the closed-form density") {
  Tape<double> tape;
  const auto scalar = dist::standard_normal<double>(tape, {}, {});
  CHECK(scalar.log_prob(tape.constant(Array<double>(0.0))).item() == doctest::Approx(-0.5 * std::log(2 * M_PI)));
  const auto p = dist::standard_normal<double>(tape, {3}, {2, 2});
  CHECK(p.batch_shape() == Shape{3});
  CHECK(p.event_shape() == Shape{2, 2});
  const Array<double> z = test::rand({5, 3, 2, 2}, 4);
  const Array<double> lp = p.log_prob(tape.constant(z)).value();
  REQUIRE(lp.shape() == Shape{5, 3});
  double want = 0;
  for (std::size_t i = 0; i < 4; ++i)
    want += -0.5 * (z(0, 0, i / 2, i % 2) * z(0, 0, i / 2, i % 2) + std::log(2 * M_PI));
  CHECK(lp(0, 0) == doctest::Approx(want).epsilon(1e-12));
  // KL against q = N(μ, σ²) is registered (the VAE's estimator B).
  const auto q = dist::standard_normal<double>(tape, {3}, {2, 2});
  CHECK(dist::has_kl<double>(q, p));
  CHECK(dist::kl_divergence<double>(q, p).value() == xt::zeros<double>({3}));
}

TEST_CASE("shape errors name the family and the user's shapes") {
  Tape<double> tape;
  const Var<double> zero = tape.constant(Array<double>(0.0)), one = tape.constant(Array<double>(1.0));
  test::check_throws_with([&] { dist::Independent<double>(dist::Normal<double>(zero, one), 1); },
                          {"Independent", "standard_normal"});
  const auto p = dist::standard_normal<double>(tape, {3}, {2});
  test::check_throws_with(
      [&] {
        p.log_prob(tape.constant(test::rand({3, 5}, 1)));
      },
      {"Independent(Normal, 1).log_prob", "(3, 5)", "(3, 2)"});
  const dist::Categorical<double> pi(tape.constant(Array<double>(Shape{4}, 0.0)));
  const dist::Independent<double> comps(
      dist::Normal<double>(tape.constant(test::rand({4, 2}, 2)), tape.constant(Array<double>(Shape{4, 2}, 1.0))), 1);
  const dist::MixtureSameFamily<double> mix(pi, comps);
  CHECK(mix.log_prob(tape.constant(test::rand({7, 2}, 3))).shape() == Shape{7});
  test::check_throws_with(
      [&] {
        mix.log_prob(tape.constant(test::rand({7, 3}, 3)));
      },
      {"MixtureSameFamily(Independent(Normal, 1)).log_prob", "(7, 3)", "(2,)"});
  // Components whose batch shape does not end in K: named with both shapes.
  const dist::Independent<double> wrong(
      dist::Normal<double>(tape.constant(test::rand({3, 2}, 2)), tape.constant(Array<double>(Shape{3, 2}, 1.0))), 1);
  test::check_throws_with([&] { dist::MixtureSameFamily<double>(pi, wrong); }, {"MixtureSameFamily", "(3,)", "(4,)"});
}

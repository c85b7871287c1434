// bernoulli_log_prob_summed (the fused Σ_pixels log p(x|l) behind Independent(Bernoulli, 1)) against the
// two-op form it replaces: values and gradients, tails that are not a whole SIMD batch, a tiled x under
// sample axes, extreme logits, and the cases that fall back.
#include <doctest/doctest.h>

#include <limits>

#include "autodiff/grad_check.hpp"
#include "nn/dist/dist.hpp"

using namespace tapir;

namespace {
/// y and dl of Σ_r w_r y_r for y = fused (or two-op) log p, on float.
std::pair<Array<float>, Array<float>> run(const Array<float>& l, const Array<float>& x, bool fused) {
  Tape<float> tape;
  const Var<float> lv = tape.variable(l), xv = tape.constant(x);
  const Var<float> y =
      fused ? dist::bernoulli_log_prob_summed(lv, xv) : dist::sum_rightmost(dist::bernoulli_log_prob(lv, xv), 1);
  Array<float> w = xt::arange<float>(1.0f, 1.0f + float(y.size()));
  w.reshape(y.shape());
  sum(y * tape.constant(w)).backward();
  return {y.value(), lv.grad()};
}
}  // namespace

TEST_CASE("bernoulli_log_prob_summed equals Σ bernoulli_log_prob, value and gradient") {
  Rng rng(1);
  for (std::size_t d : {1, 7, 16, 33, 784}) {
    INFO("D = " << d);
    Array<float> l = normal<float>(rng, {3, 2, d}, 0.0f, 4.0f);
    l(0, 0, 0) = 60.0f;  // saturated logits with both targets
    l(1, 1, 0) = -60.0f;
    const Array<float> x = bernoulli<float>(rng, {2, d}, 0.5f);  // a tile under 3 samples
    const auto [y1, g1] = run(l, x, true);
    const auto [y2, g2] = run(l, x, false);
    REQUIRE(y1.shape() == Shape{3, 2});
    for (std::size_t i = 0; i < y1.size(); ++i) CHECK(y1.data()[i] == doctest::Approx(y2.data()[i]).epsilon(1e-5));
    for (std::size_t i = 0; i < g1.size(); ++i) CHECK(g1.data()[i] == doctest::Approx(g2.data()[i]).epsilon(1e-5));
  }
  // Grey x in [0, 1] and x of the full shape take the fused path too; its gradient by finite differences.
  const Array<double> x = uniform<double>(rng, {2, 5});
  const auto r = grad_check(
      [&](Tape<double>& t, const std::vector<Var<double>>& in) {
        return dist::bernoulli_log_prob_summed(in[0], t.constant(x));
      },
      {normal<double>(rng, {4, 2, 5})});
  CHECK(r[0].passed);
}

TEST_CASE("bernoulli_log_prob_summed falls back where the fused loop does not apply") {
  Tape<float> tape;
  const Var<float> l = tape.constant(Array<float>{{0.5f, -1.0f}, {2.0f, 0.0f}});
  // x outside [0, 1]: −∞, as bernoulli_log_prob gives.
  const Var<float> y = dist::bernoulli_log_prob_summed(l, tape.constant(Array<float>{{0.0f, 2.0f}, {1.0f, 0.0f}}));
  CHECK(y.value()(0) == -std::numeric_limits<float>::infinity());
  CHECK(std::isfinite(y.value()(1)));
  // x broadcast along the last axis (not a tile): the two-op form.
  Array<float> column = Array<float>::from_shape({2, 1});
  column(0, 0) = 1.0f;
  column(1, 0) = 0.0f;
  const Var<float> z = dist::bernoulli_log_prob_summed(l, tape.constant(column));
  const Var<float> ref = dist::sum_rightmost(dist::bernoulli_log_prob(l, tape.constant(column)), 1);
  CHECK(z.value() == ref.value());
  // Independent(Bernoulli, 1) uses it: the same as summing by hand.
  const dist::Independent<float> p(dist::Bernoulli<float>(l), 1);
  const Var<float> x = tape.constant(Array<float>{{1.0f, 0.0f}, {0.0f, 1.0f}});
  CHECK(p.log_prob(x).value()(0) == doctest::Approx(dist::sum_rightmost(dist::bernoulli_log_prob(l, x), 1).value()(0)));
}

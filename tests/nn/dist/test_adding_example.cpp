// tests/nn/dist/test_adding_example.cpp — the worked example of docs/adding_a_distribution.md: an
// Exponential family written outside the library, its KL registration, and its tests. The code between
// the "doc:" markers is the code shown in the document, character for character.
#include <doctest/doctest.h>

#include <cmath>

#include "nn/dist/mc_check.hpp"

// doc: family begin
#include "nn/dist/dist.hpp"

namespace mylib {

using tapir::Array;
using tapir::Rng;
using tapir::Shape;
using tapir::Var;

/// Exponential(rate λ) on [0, ∞): p(x) = λ e^(−λx). Holds a Var handle to the rate; lives until
/// Tape::clear().
template <class T>
class Exponential : public tapir::dist::Distribution<T> {
 public:
  /// Exp(λ); batch shape = rate's shape; λ > 0.
  explicit Exponential(const Var<T>& rate) : tapir::dist::Distribution<T>(rate.tape(), rate.shape(), {}), rate_(rate) {}

  std::string type_name() const override { return "Exponential"; }
  /// log p(x) = log λ − λx  (x ≥ 0).
  Var<T> log_prob(const Var<T>& value) const override { return tapir::log(rate_) - rate_ * value; }
  /// z = e / λ, e = −log(1 − u) ~ Exp(1) a constant:  dz/dλ = −z/λ.
  Var<T> rsample(Rng& rng, const Shape& sample_shape = {}) const override {
    Array<T> e = -xt::log1p(-tapir::uniform<T>(rng, this->extended_shape(sample_shape)));
    return this->tape().constant(e) / rate_;
  }
  bool has_rsample() const override { return true; }
  /// H = 1 − log λ.
  Var<T> entropy() const override { return T(1) - tapir::log(rate_); }
  /// E[x] = 1/λ.
  Var<T> mean() const override { return T(1) / rate_; }
  /// Var[x] = 1/λ².
  Var<T> variance() const override { return T(1) / tapir::square(rate_); }

  const Var<T>& rate() const { return rate_; }

 private:
  Var<T> rate_;
};

/// KL(Exp(a) ‖ Exp(b)) = log a − log b + b/a − 1.
template <class T>
Var<T> kl_exponential_exponential(const Exponential<T>& p, const Exponential<T>& q) {
  return tapir::log(p.rate()) - tapir::log(q.rate()) + q.rate() / p.rate() - T(1);
}

/// Call once at start-up (e.g. first thing in main): adds the pair to tapir's KL registry.
inline void register_exponential_kl() {
  tapir::dist::register_kl<Exponential<float>, Exponential<float>>(kl_exponential_exponential<float>);
  tapir::dist::register_kl<Exponential<double>, Exponential<double>>(kl_exponential_exponential<double>);
}

}  // namespace mylib
// doc: family end

using namespace tapir;
using test::arr;

// doc: tests begin
TEST_CASE("Exponential: log_prob against the closed form") {
  Tape<double> tape;
  mylib::Exponential<double> p(tape.constant(arr({2}, {0.5, 3.0})));
  Array<double> lp = p.log_prob(tape.constant(arr({2}, {1.0, 0.2}))).value();
  CHECK(lp(0) == doctest::Approx(std::log(0.5) - 0.5 * 1.0));
  CHECK(lp(1) == doctest::Approx(std::log(3.0) - 3.0 * 0.2));
}

TEST_CASE("Exponential: log_prob gradients match finite differences") {
  test::check_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) {
        return mylib::Exponential<double>(in[0]).log_prob(in[1]);
      },
      {arr({3}, {0.5, 1.0, 3.0}), arr({2, 3}, {0.1, 1.0, 2.0, 0.7, 0.3, 0.05})}, "Exponential.log_prob");
}

TEST_CASE("Exponential: rsample gradient dz/dλ = −z/λ; moments and entropy against Monte Carlo") {
  Tape<double> tape;
  Rng rng(42);
  Var<double> rate = tape.variable(arr({2}, {0.5, 3.0}));
  mylib::Exponential<double> p(rate);
  Var<double> z = p.rsample(rng, {5});
  sum(z).backward();
  test::check_close(rate.grad(), Array<double>(xt::sum(-z.value() / rate.value(), {0})), 1e-12);
  test::check_moments(p, rng, 40000, "Exponential");
  test::check_entropy_mc(p, rng, 40000, "Exponential");
}

TEST_CASE("Exponential: the registered KL against Monte Carlo, also inside Independent") {
  mylib::register_exponential_kl();
  Tape<double> tape;
  Rng rng(7);
  mylib::Exponential<double> p(tape.constant(arr({2}, {0.5, 3.0}))), q(tape.constant(arr({2}, {1.0, 2.0})));
  Var<double> x = p.sample(rng, {40000});
  Array<double> ratio = p.log_prob(x).value() - q.log_prob(x).value();
  test::check_within_se(test::mc_estimate(ratio), dist::kl_divergence(p, q).value(), "KL(Exponential)");
  Array<double> kl = dist::kl_divergence(p, q).value();
  CHECK(dist::kl_divergence(dist::Independent<double>(p, 1), dist::Independent<double>(q, 1)).item() ==
        doctest::Approx(kl(0) + kl(1)));
}
// doc: tests end

// optim::Adagrad: first steps against closed forms (accumulator start, lr decay, weight decay) and
// option checks.
#include <cmath>

#include "optim_util.hpp"

using namespace tapir;
using namespace tapir::test;
using optim::Adagrad;
using optim::AdagradOptions;

TEST_CASE("adagrad, AEVB setup: accumulator starts at 0.01, theta <- theta - lr g / (sqrt(s) + eps)") {
  Parameter<double> p(vec({1.0, -2.0}));
  AdagradOptions o;
  o.lr = 0.1;
  o.initial_accumulator_value = 0.01;
  Adagrad<double> opt({&p}, o);
  CHECK(opt.state_dict().at("sum.0")(0) == 0.01);
  set_grad(p, vec({0.5, 1.5}));
  opt.step();
  // s₁ = 0.01 + g² = [0.26, 2.26]; θ₁ = θ₀ − 0.1 g / (√s₁ + 1e−10)
  const double t1a = 1 - 0.1 * 0.5 / (std::sqrt(0.26) + 1e-10);   // ≈ 0.9019419
  const double t1b = -2 - 0.1 * 1.5 / (std::sqrt(2.26) + 1e-10);  // ≈ −2.0997783
  check_values(p.value(), {t1a, t1b});
  CHECK(p.value()(0) == doctest::Approx(0.9019419324).epsilon(1e-9));
  set_grad(p, vec({-1.0, 0.25}));
  opt.step();
  // s₂ = [1.26, 2.3225]
  check_values(p.value(), {t1a + 0.1 / (std::sqrt(1.26) + 1e-10), t1b - 0.025 / (std::sqrt(2.3225) + 1e-10)});
  check_values(opt.state_dict().at("sum.0"), {1.26, 2.3225});
}

TEST_CASE("adagrad lr decay: step t uses lr / (1 + (t - 1) lr_decay)") {
  Parameter<double> p(vec({1.0}));
  AdagradOptions o;
  o.lr = 0.1;
  o.lr_decay = 0.5;
  o.eps = 0;
  Adagrad<double> opt({&p}, o);
  set_grad(p, vec({2.0}));
  opt.step();  // s = 4, γ̃ = 0.1: θ = 1 − 0.1 · 2 / 2 = 0.9
  check_values(p.value(), {0.9});
  opt.step();  // s = 8, γ̃ = 0.1 / 1.5: θ = 0.9 − (0.1 / 1.5) · 2 / √8
  check_values(p.value(), {0.9 - (0.1 / 1.5) * 2 / std::sqrt(8.0)});
  opt.step();  // s = 12, γ̃ = 0.1 / 2
  check_values(p.value(), {0.9 - (0.1 / 1.5) * 2 / std::sqrt(8.0) - 0.05 * 2 / std::sqrt(12.0)});
}

TEST_CASE("adagrad weight decay enters both the accumulator and the step") {
  Parameter<double> p(vec({2.0}));
  AdagradOptions o;
  o.lr = 0.1;
  o.weight_decay = 0.25;
  o.eps = 0;
  Adagrad<double> opt({&p}, o);
  set_grad(p, vec({1.0}));
  opt.step();  // g = 1 + 0.25 · 2 = 1.5, s = 2.25: θ = 2 − 0.1 · 1.5 / 1.5 = 1.9
  check_values(p.value(), {1.9});
  opt.step();  // g = 1 + 0.475 = 1.475, s = 2.25 + 1.475²
  check_values(p.value(), {1.9 - 0.1 * 1.475 / std::sqrt(2.25 + 1.475 * 1.475)});
}

TEST_CASE("adagrad rejects invalid options") {
  Parameter<double> p(vec({1.0}));
  auto make = [&](AdagradOptions o) { Adagrad<double> opt({&p}, o); };
  AdagradOptions o;
  o.lr = -1;
  check_throws_with([&] { make(o); }, {"adagrad", "lr", "-1"});
  o = AdagradOptions();
  o.lr_decay = -0.5;
  check_throws_with([&] { make(o); }, {"lr_decay", "-0.5"});
  o = AdagradOptions();
  o.initial_accumulator_value = -0.01;
  check_throws_with([&] { make(o); }, {"initial_accumulator_value", "-0.01"});
  o = AdagradOptions();
  o.eps = -1e-10;
  check_throws_with([&] { make(o); }, {"eps", "-1e-10"});
  o = AdagradOptions();
  o.weight_decay = std::nan("");
  check_throws_with([&] { make(o); }, {"weight_decay", "nan"});
}

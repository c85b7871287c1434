// optim::Rmsprop: first steps against closed forms (plain, centered, momentum, weight decay) and
// option checks.
#include <cmath>

#include "optim_util.hpp"

using namespace tapir;
using namespace tapir::test;
using optim::Rmsprop;
using optim::RmspropOptions;

TEST_CASE("rmsprop: v = alpha v + (1 - alpha) g^2, theta <- theta - lr g / (sqrt(v) + eps)") {
  Parameter<double> p(vec({1.0, -2.0}));
  RmspropOptions o;  // lr 0.01, α 0.99, ε 1e−8
  Rmsprop<double> opt({&p}, o);
  set_grad(p, vec({0.5, 1.5}));
  opt.step();
  // v₁ = 0.01 g² ⇒ √v₁ = 0.1 |g|: θ₁ = θ₀ − 0.01 g / (0.1 |g| + ε) ≈ θ₀ − 0.1 sign(g)
  const double t1a = 1 - 0.01 * 0.5 / (std::sqrt(0.01 * 0.25) + 1e-8);
  const double t1b = -2 - 0.01 * 1.5 / (std::sqrt(0.01 * 2.25) + 1e-8);
  check_values(p.value(), {t1a, t1b});
  check_values(p.value(), {0.9, -2.1}, 1e-6);
  set_grad(p, vec({-1.0, 0.25}));
  opt.step();
  // v₂ = 0.99 v₁ + 0.01 g₂² = [0.012475, 0.00285]
  const double v2a = 0.99 * 0.0025 + 0.01, v2b = 0.99 * 0.0225 + 0.01 * 0.0625;
  check_values(opt.state_dict().at("square_avg.0"), {v2a, v2b});
  check_values(p.value(), {t1a + 0.01 / (std::sqrt(v2a) + 1e-8), t1b - 0.0025 / (std::sqrt(v2b) + 1e-8)});
}

TEST_CASE("centered rmsprop divides by sqrt(v - gbar^2)") {
  Parameter<double> p(vec({1.0}));
  RmspropOptions o;
  o.centered = true;
  Rmsprop<double> opt({&p}, o);
  set_grad(p, vec({2.0}));
  opt.step();
  // v = 0.04, ḡ = 0.02: v − ḡ² = 0.0396
  check_values(p.value(), {1 - 0.01 * 2 / (std::sqrt(0.04 - 0.0004) + 1e-8)});
  check_values(opt.state_dict().at("grad_avg.0"), {0.02});
}

TEST_CASE("rmsprop with momentum accumulates the normalised gradient") {
  Parameter<double> p(vec({1.0}));
  RmspropOptions o;
  o.momentum = 0.9;
  o.eps = 0;
  Rmsprop<double> opt({&p}, o);
  set_grad(p, vec({2.0}));
  opt.step();  // v = 0.04, b = 2 / 0.2 = 10, θ = 1 − 0.01 · 10 = 0.9
  check_values(p.value(), {0.9});
  opt.step();  // v = 0.99 · 0.04 + 0.04, b = 9 + 2 / √v
  const double b2 = 9 + 2 / std::sqrt(0.99 * 0.04 + 0.04);
  check_values(p.value(), {0.9 - 0.01 * b2});
  check_values(opt.state_dict().at("momentum_buffer.0"), {b2});
}

TEST_CASE("rmsprop weight decay adds lambda theta to the gradient") {
  Parameter<double> p(vec({2.0}));
  RmspropOptions o;
  o.weight_decay = 0.5;
  o.alpha = 0.75;
  o.eps = 0;
  Rmsprop<double> opt({&p}, o);
  set_grad(p, vec({1.0}));
  opt.step();  // g = 2, v = 0.25 · 4 = 1: θ = 2 − 0.01 · 2 / 1
  check_values(p.value(), {1.98});
}

TEST_CASE("rmsprop rejects invalid options") {
  Parameter<double> p(vec({1.0}));
  auto make = [&](RmspropOptions o) { Rmsprop<double> opt({&p}, o); };
  RmspropOptions o;
  o.alpha = 1.5;
  check_throws_with([&] { make(o); }, {"rmsprop", "alpha", "1.5"});
  o = RmspropOptions();
  o.momentum = -0.9;
  check_throws_with([&] { make(o); }, {"momentum", "-0.9"});
  o = RmspropOptions();
  o.lr = -0.01;
  check_throws_with([&] { make(o); }, {"lr", "-0.01"});
  o = RmspropOptions();
  o.eps = -1;
  check_throws_with([&] { make(o); }, {"eps", "-1"});
}

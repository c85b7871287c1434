// optim::Adam, AMSGrad and AdamW: first steps against closed forms (Kingma & Ba 2015 Algorithm 1;
// Loshchilov & Hutter 2019 Algorithm 2), coupled vs decoupled weight decay, option checks.
#include <cmath>

#include "optim_util.hpp"

using namespace tapir;
using namespace tapir::test;
using optim::Adam;
using optim::AdamOptions;
using optim::AdamW;
using optim::AdamWOptions;

namespace {
/// Adam's update from m and v at step t, written from the paper: θ − γ m̂ / (√v̂ + ε).
double adam_delta(double m, double v, int t, double lr = 0.1, double b1 = 0.9, double b2 = 0.999, double eps = 1e-8) {
  const double m_hat = m / (1 - std::pow(b1, t));
  const double v_hat = v / (1 - std::pow(b2, t));
  return lr * m_hat / (std::sqrt(v_hat) + eps);
}
}  // namespace

TEST_CASE("adam's first step is lr g / (|g| + eps), about lr sign(g)") {
  Parameter<double> p(vec({1.0, -2.0, 0.5}));
  AdamOptions o;
  o.lr = 0.1;
  Adam<double> opt({&p}, o);
  set_grad(p, vec({0.5, -1e-3, 20.0}));
  opt.step();
  // m̂₁ = g, v̂₁ = g²: θ₁ = θ₀ − 0.1 g / (|g| + 1e−8)
  check_values(p.value(),
               {1 - 0.1 * 0.5 / (0.5 + 1e-8), -2 + 0.1 * 1e-3 / (1e-3 + 1e-8), 0.5 - 0.1 * 20 / (20 + 1e-8)});
  check_values(p.value(), {0.9, -1.9, 0.4}, 1e-5);  // ≈ θ₀ − 0.1 sign(g), whatever |g|
  check_values(opt.state_dict().at("exp_avg.0"), {0.05, -1e-4, 2.0});
  check_values(opt.state_dict().at("exp_avg_sq.0"), {0.001 * 0.25, 0.001 * 1e-6, 0.001 * 400});
}

TEST_CASE("adam's second step follows the bias-corrected moments") {
  Parameter<double> p(vec({1.0, -2.0}));
  AdamOptions o;
  o.lr = 0.1;
  Adam<double> opt({&p}, o);
  set_grad(p, vec({0.5, 1.5}));
  opt.step();
  const double t1a = 1 - adam_delta(0.05, 0.00025, 1), t1b = -2 - adam_delta(0.15, 0.00225, 1);
  set_grad(p, vec({-1.0, 0.25}));
  opt.step();
  // m₂ = 0.9 · 0.1 g₁ + 0.1 g₂ = [−0.055, 0.16]; v₂ = 0.999 · 0.001 g₁² + 0.001 g₂² = [0.00124975, 0.00231025]
  check_values(opt.state_dict().at("exp_avg.0"), {-0.055, 0.16});
  check_values(opt.state_dict().at("exp_avg_sq.0"), {0.00124975, 0.00231025});
  check_values(p.value(), {t1a - adam_delta(-0.055, 0.00124975, 2), t1b - adam_delta(0.16, 0.00231025, 2)});
}

TEST_CASE("amsgrad divides by the running maximum of v") {
  // Step 2 has a zero gradient, so v shrinks (v₂ = 0.999 v₁) but v_max keeps v₁.
  auto run = [](bool amsgrad) {
    Parameter<double> p(vec({1.0}));
    AdamOptions o;
    o.lr = 0.1;
    o.amsgrad = amsgrad;
    Adam<double> opt({&p}, o);
    set_grad(p, vec({0.5}));
    opt.step();
    set_grad(p, vec({0.0}));
    opt.step();
    return p.value()(0);
  };
  const double t1 = 1 - adam_delta(0.05, 0.00025, 1);
  // m₂ = 0.045
  CHECK(run(false) == doctest::Approx(t1 - adam_delta(0.045, 0.999 * 0.00025, 2)).epsilon(1e-12));
  CHECK(run(true) == doctest::Approx(t1 - adam_delta(0.045, 0.00025, 2)).epsilon(1e-12));
  CHECK(run(true) != doctest::Approx(run(false)).epsilon(1e-9));
}

TEST_CASE("adam couples weight decay through the gradient; adamw shrinks theta directly") {
  Parameter<double> a(vec({1.0, -2.0}));
  Parameter<double> w(vec({1.0, -2.0}));
  AdamOptions ao;
  ao.lr = 0.1;
  ao.weight_decay = 0.1;
  Adam<double> adam({&a}, ao);
  AdamWOptions wo;
  wo.lr = 0.1;
  wo.weight_decay = 0.1;
  AdamW<double> adamw({&w}, wo);
  CHECK(std::string(adamw.name()) == "adamw");
  CHECK(AdamWOptions().weight_decay == 0.01);  // PyTorch's default
  set_grad(a, vec({0.5, 1.5}));
  set_grad(w, vec({0.5, 1.5}));
  adam.step();
  adamw.step();
  // Adam: g = [0.5 + 0.1, 1.5 − 0.2] = [0.6, 1.3]; θ₁ = θ₀ − 0.1 g / (|g| + ε)
  check_values(a.value(), {1 - 0.1 * 0.6 / (0.6 + 1e-8), -2 - 0.1 * 1.3 / (1.3 + 1e-8)});
  // AdamW: θ ← (1 − 0.1 · 0.1) θ₀ = [0.99, −1.98], then the Adam step with g = [0.5, 1.5]
  check_values(w.value(), {0.99 - 0.1 * 0.5 / (0.5 + 1e-8), -1.98 - 0.1 * 1.5 / (1.5 + 1e-8)});
  // With a zero gradient AdamW still shrinks θ by exactly (1 − γλ) per step.
  set_grad(w, vec({0.0, 0.0}));
  const Array<double> before = w.value();
  adamw.step();
  // m = 0.9 m₁ ≠ 0, so θ also moves by the Adam step: θ₂ = 0.99 θ₁ − δ
  check_values(w.value(), {0.99 * before(0) - adam_delta(0.045, 0.999 * 0.00025, 2),
                           0.99 * before(1) - adam_delta(0.135, 0.999 * 0.00225, 2)});
}

TEST_CASE("adam in float: the first step is lr sign(g) to float precision") {
  Parameter<float> p(Array<float>({1.0f, -2.0f}));
  AdamOptions o;
  o.lr = 0.01;
  Adam<float> opt({&p}, o);
  set_grad(p, Array<float>({3.0f, -0.25f}));
  opt.step();
  CHECK(p.value()(0) == doctest::Approx(0.99).epsilon(1e-6));
  CHECK(p.value()(1) == doctest::Approx(-1.99).epsilon(1e-6));
}

TEST_CASE("adam and adamw reject invalid options") {
  Parameter<double> p(vec({1.0}));
  auto make = [&](AdamOptions o) { Adam<double> opt({&p}, o); };
  AdamOptions o;
  o.beta1 = 1.0;
  check_throws_with([&] { make(o); }, {"adam", "beta1", "[0, 1)", "got 1"});
  o = AdamOptions();
  o.beta2 = -0.1;
  check_throws_with([&] { make(o); }, {"beta2", "-0.1"});
  o = AdamOptions();
  o.lr = -1e-3;
  check_throws_with([&] { make(o); }, {"lr", "-0.001"});
  o = AdamOptions();
  o.eps = -1;
  check_throws_with([&] { make(o); }, {"eps", "-1"});
  AdamWOptions wo;
  wo.weight_decay = -0.01;
  check_throws_with([&] { AdamW<double> opt({&p}, wo); }, {"adamw", "weight_decay", "-0.01"});
}

// optim::Sgd: first steps against hand-computed values (plain, momentum, dampening, Nesterov, weight
// decay) and option checks.
#include "optim_util.hpp"

using namespace tapir;
using namespace tapir::test;
using optim::Sgd;
using optim::SgdOptions;

namespace {
// θ₀ and two gradients shared by every case: the expected values below are worked out by hand from these.
const std::vector<double> kTheta0 = {1.0, -2.0};
const std::vector<double> kG1 = {0.5, 1.5};
const std::vector<double> kG2 = {-1.0, 0.25};

/// Runs two steps from kTheta0 with gradients kG1, kG2; returns θ₁ and θ₂.
std::pair<Array<double>, Array<double>> two_steps(const SgdOptions& o) {
  Parameter<double> p(vec(kTheta0), "theta");
  Sgd<double> opt({&p}, o);
  set_grad(p, vec(kG1));
  opt.step();
  Array<double> theta1 = p.value();
  set_grad(p, vec(kG2));
  opt.step();
  return {theta1, p.value()};
}
}  // namespace

TEST_CASE("sgd without momentum: theta <- theta - lr g") {
  SgdOptions o;
  o.lr = 0.1;
  auto [t1, t2] = two_steps(o);
  check_values(t1, {1 - 0.1 * 0.5, -2 - 0.1 * 1.5});  // [0.95, -2.15]
  check_values(t2, {0.95 + 0.1, -2.15 - 0.025});      // [1.05, -2.175]
}

TEST_CASE("sgd leaves the gradient untouched and counts steps") {
  Parameter<double> p(vec(kTheta0));
  SgdOptions o;
  o.lr = 0.1;
  o.weight_decay = 0.5;
  o.momentum = 0.9;
  Sgd<double> opt({&p}, o);
  set_grad(p, vec(kG1));
  opt.step();
  check_values(p.grad(), kG1, 0);
  CHECK(opt.steps() == 1);
  CHECK(std::string(opt.name()) == "sgd");
  opt.zero_grad();
  check_values(p.grad(), {0, 0}, 0);
}

TEST_CASE("sgd with momentum: b1 = g1, b2 = mu b1 + g2") {
  SgdOptions o;
  o.lr = 0.1;
  o.momentum = 0.9;
  auto [t1, t2] = two_steps(o);
  // b₁ = g₁ = [0.5, 1.5]; θ₁ = θ₀ − 0.1 b₁ = [0.95, −2.15]
  check_values(t1, {0.95, -2.15});
  // b₂ = 0.9 [0.5, 1.5] + [−1, 0.25] = [−0.55, 1.6]; θ₂ = θ₁ − 0.1 b₂ = [1.005, −2.31]
  check_values(t2, {1.005, -2.31});
}

TEST_CASE("sgd with dampening: the first buffer is undamped, later gradients enter with 1 - tau") {
  SgdOptions o;
  o.lr = 0.1;
  o.momentum = 0.9;
  o.dampening = 0.5;
  auto [t1, t2] = two_steps(o);
  check_values(t1, {0.95, -2.15});
  // b₂ = 0.9 [0.5, 1.5] + 0.5 [−1, 0.25] = [−0.05, 1.475]; θ₂ = [0.955, −2.2975]
  check_values(t2, {0.955, -2.2975});
}

TEST_CASE("nesterov looks ahead: theta <- theta - lr (g + mu b), unlike plain momentum") {
  SgdOptions o;
  o.lr = 0.1;
  o.momentum = 0.9;
  o.nesterov = true;
  auto [t1, t2] = two_steps(o);
  // b₁ = g₁; θ₁ = θ₀ − 0.1 (g₁ + 0.9 g₁) = θ₀ − 0.19 g₁ = [0.905, −2.285]
  check_values(t1, {0.905, -2.285});
  // b₂ = [−0.55, 1.6]; g₂ + 0.9 b₂ = [−1.495, 1.69]; θ₂ = θ₁ − 0.1 [−1.495, 1.69] = [1.0545, −2.454]
  check_values(t2, {1.0545, -2.454});

  // Against plain momentum: Nesterov's first step is (1 + μ) times as long, and the second differs too.
  o.nesterov = false;
  auto [p1, p2] = two_steps(o);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK((kTheta0[i] - t1(i)) == doctest::Approx(1.9 * (kTheta0[i] - p1(i))));
    CHECK(t2(i) != doctest::Approx(p2(i)));
  }
}

TEST_CASE("sgd with weight decay adds lambda theta to the gradient") {
  SgdOptions o;
  o.lr = 0.1;
  o.weight_decay = 0.01;
  auto [t1, t2] = two_steps(o);
  // θ₁ = θ₀ − 0.1 (g₁ + 0.01 θ₀) = [1 − 0.1 · 0.51, −2 − 0.1 · 1.48] = [0.949, −2.148]
  check_values(t1, {0.949, -2.148});
  // θ₂ = θ₁ − 0.1 (g₂ + 0.01 θ₁)
  check_values(t2, {0.949 - 0.1 * (-1 + 0.00949), -2.148 - 0.1 * (0.25 - 0.02148)});
}

TEST_CASE("sgd works in float") {
  Parameter<float> p(Array<float>({1.0f, -2.0f}));
  SgdOptions o;
  o.lr = 0.5;
  o.momentum = 0.5;
  Sgd<float> opt({&p}, o);
  set_grad(p, Array<float>({0.5f, 1.0f}));
  opt.step();
  opt.step();  // same gradient: b₂ = 0.5 g + g = 1.5 g
  // θ₂ = θ₀ − 0.5 g − 0.5 · 1.5 g = θ₀ − 1.25 g: exact in float
  CHECK(p.value()(0) == 1.0f - 0.625f);
  CHECK(p.value()(1) == -2.0f - 1.25f);
}

TEST_CASE("sgd rejects invalid options, naming the option and value") {
  Parameter<double> p(vec(kTheta0));
  auto make = [&](SgdOptions o) { Sgd<double> opt({&p}, o); };
  SgdOptions o;
  o.lr = -0.1;
  check_throws_with([&] { make(o); }, {"sgd", "lr", "-0.1"});
  o = SgdOptions();
  o.momentum = -1;
  check_throws_with([&] { make(o); }, {"momentum", "-1"});
  o = SgdOptions();
  o.dampening = 1.5;
  check_throws_with([&] { make(o); }, {"dampening", "1.5"});
  o = SgdOptions();
  o.weight_decay = -0.25;
  check_throws_with([&] { make(o); }, {"weight_decay", "-0.25"});
  o = SgdOptions();
  o.nesterov = true;  // with momentum 0
  check_throws_with([&] { make(o); }, {"nesterov", "momentum"});
  o.momentum = 0.9;
  o.dampening = 0.1;
  check_throws_with([&] { make(o); }, {"nesterov", "dampening 0.1"});
  o = SgdOptions();
  o.lr = std::nan("");
  check_throws_with([&] { make(o); }, {"lr", "nan"});
  check_throws_with([&] { Sgd<double>({nullptr}); }, {"null"});
}

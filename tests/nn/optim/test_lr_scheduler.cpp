// optim schedulers: lr sequences against closed forms, composition, exact resume, option checks.
#include <cmath>
#include <memory>

#include "optim_util.hpp"

using namespace tapir;
using namespace tapir::test;
using namespace tapir::optim;

namespace {
const double kPi = std::acos(-1.0);

struct Fixture {
  Parameter<double> p{vec({1.0})};
  Sgd<double> opt{{&p}, [] {
                    SgdOptions o;
                    o.lr = 0.1;
                    return o;
                  }()};
};

/// The optimizer's lr after construction (epoch 0) and after each of n steps.
std::vector<double> sequence(LrScheduler<double>& s, Optimizer<double>& opt, int n) {
  std::vector<double> out = {opt.lr()};
  for (int i = 0; i < n; ++i) {
    s.step();
    CHECK(s.last_epoch() == i + 1);
    CHECK(s.last_lr() == opt.lr());
    out.push_back(opt.lr());
  }
  return out;
}

void check_sequence(const std::vector<double>& actual, const std::vector<double>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t e = 0; e < expected.size(); ++e) {
    INFO("epoch " << e);
    CHECK(actual[e] == doctest::Approx(expected[e]).epsilon(1e-14));
  }
}
}  // namespace

TEST_CASE("StepLR multiplies by gamma every step_size epochs") {
  Fixture f;
  StepLR<double> s(f.opt, 3, 0.5);
  CHECK(s.last_epoch() == 0);
  check_sequence(sequence(s, f.opt, 9), {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125});
}

TEST_CASE("ExponentialLR multiplies by gamma every epoch") {
  Fixture f;
  ExponentialLR<double> s(f.opt, 0.9);
  check_sequence(sequence(s, f.opt, 4), {0.1, 0.09, 0.081, 0.0729, 0.06561});
}

TEST_CASE("CosineAnnealingLR: eta_min + (base - eta_min)(1 + cos(pi e / T_max)) / 2") {
  Fixture f;
  CosineAnnealingLR<double> s(f.opt, 10, 0.001);
  const auto seq = sequence(s, f.opt, 10);
  std::vector<double> expected;
  for (int e = 0; e <= 10; ++e) expected.push_back(0.001 + 0.099 * (1 + std::cos(kPi * e / 10)) / 2);
  check_sequence(seq, expected);
  CHECK(seq[5] == doctest::Approx(0.0505));  // halfway: the midpoint of base and η_min
  CHECK(seq[10] == doctest::Approx(0.001));  // T_max: η_min
}

TEST_CASE("LinearWarmup ramps linearly from start_factor, then holds base_lr") {
  Fixture f;
  LinearWarmup<double> s(f.opt, 4);
  check_sequence(sequence(s, f.opt, 6), {0.0, 0.025, 0.05, 0.075, 0.1, 0.1, 0.1});
  Fixture g;
  LinearWarmup<double> s2(g.opt, 2, 0.5);
  check_sequence(sequence(s2, g.opt, 3), {0.05, 0.075, 0.1, 0.1});
  Fixture h;
  LinearWarmup<double> none(h.opt, 0);
  check_sequence(sequence(none, h.opt, 2), {0.1, 0.1, 0.1});
}

TEST_CASE("LinearWarmup composes with another schedule shifted by the warm-up") {
  Fixture f;
  auto cosine = std::make_unique<CosineAnnealingLR<double>>(f.opt, 6, 0.0);
  LinearWarmup<double> s(f.opt, 4, 0.0, std::move(cosine));
  std::vector<double> expected = {0.0, 0.025, 0.05, 0.075};
  for (int e = 0; e <= 6; ++e) expected.push_back(0.05 * (1 + std::cos(kPi * e / 6)));
  check_sequence(sequence(s, f.opt, 10), expected);
}

TEST_CASE("a restored scheduler continues exactly, even on an optimizer whose lr moved") {
  Fixture f;
  auto make = [](Optimizer<double>& opt) {
    return std::make_unique<LinearWarmup<double>>(opt, 3, 0.1, std::make_unique<StepLR<double>>(opt, 2, 0.5));
  };
  auto s = make(f.opt);
  for (int i = 0; i < 5; ++i) s->step();
  const auto state = s->state_dict();
  CHECK(state.at("last_epoch") == 5);
  CHECK(state.at("base_lr") == 0.1);
  CHECK(state.count("after.base_lr") == 1);
  std::vector<double> original;
  for (int i = 0; i < 6; ++i) {
    s->step();
    original.push_back(f.opt.lr());
  }

  // The fresh optimizer starts at another lr: base_lr must come from the state, not from it.
  Fixture g;
  g.opt.set_lr(0.7);
  auto r = make(g.opt);
  r->load_state_dict(state);
  CHECK(r->last_epoch() == 5);
  CHECK(g.opt.lr() == s->lr_at(5));
  for (int i = 0; i < 6; ++i) {
    r->step();
    CHECK(g.opt.lr() == original[i]);  // bitwise
  }
}

TEST_CASE("schedulers reject invalid options and bad state") {
  Fixture f;
  check_throws_with([&] { StepLR<double>(f.opt, 0); }, {"step_lr", "step_size", "0"});
  check_throws_with([&] { StepLR<double>(f.opt, 2, -0.5); }, {"gamma", "-0.5"});
  check_throws_with([&] { ExponentialLR<double>(f.opt, -1); }, {"exponential_lr", "gamma", "-1"});
  check_throws_with([&] { CosineAnnealingLR<double>(f.opt, 0); }, {"t_max", "0"});
  check_throws_with([&] { CosineAnnealingLR<double>(f.opt, 5, -0.1); }, {"eta_min", "-0.1"});
  check_throws_with([&] { LinearWarmup<double>(f.opt, -2); }, {"warmup_steps", "-2"});
  check_throws_with([&] { LinearWarmup<double>(f.opt, 2, 1.5); }, {"start_factor", "1.5"});

  ExponentialLR<double> s(f.opt, 0.5);
  s.step();
  check_throws_with([&] { s.load_state_dict({{"base_lr", 0.1}}); }, {"last_epoch"});
  check_throws_with([&] { s.load_state_dict({{"base_lr", 0.1}, {"last_epoch", 2.5}}); }, {"last_epoch", "2.5"});
  check_throws_with([&] { s.load_state_dict({{"base_lr", -0.1}, {"last_epoch", 2}}); }, {"base_lr", "-0.1"});
  CHECK(s.last_epoch() == 1);  // unchanged by the failed loads
  CHECK(f.opt.lr() == 0.05);

  LinearWarmup<double> w(f.opt, 2, 0.0, std::make_unique<StepLR<double>>(f.opt, 2));
  check_throws_with([&] { w.load_state_dict({{"base_lr", 0.1}, {"last_epoch", 3}}); }, {"after.", "last_epoch"});
  CHECK(w.last_epoch() == 0);
}

// All optimizers together: convergence on a quadratic and on Rosenbrock (through the tape), bitwise
// resume from state_dict, weight decay limited to matrices and to parameters that decay, frozen parameters,
// state-dict errors, param groups.
#include <cmath>
#include <functional>
#include <memory>

#include "optim_util.hpp"

using namespace tapir;
using namespace tapir::test;
using namespace tapir::optim;

namespace {

template <class T>
using Factory = std::function<std::unique_ptr<Optimizer<T>>(std::vector<Parameter<T>*>)>;
template <class T>
using GroupFactory = std::function<std::unique_ptr<Optimizer<T>>(ParamGroups<T>)>;

/// One configuration of every optimizer, with every option that carries state switched on, built from
/// param groups; its learning rate is `lr_factor` times the configuration's.
template <class T>
std::vector<std::pair<std::string, GroupFactory<T>>> all_grouped(bool matrices_only = false, double wd = 0.05,
                                                                 double lr_factor = 1) {
  std::vector<std::pair<std::string, GroupFactory<T>>> out;
  out.reserve(5);
  out.emplace_back("sgd", [=](ParamGroups<T> ps) {
    SgdOptions o;
    o.lr = 0.05 * lr_factor;
    o.momentum = 0.9;
    o.nesterov = true;
    o.weight_decay = wd;
    o.decay_matrices_only = matrices_only;
    return std::make_unique<Sgd<T>>(ps, o);
  });
  out.emplace_back("adagrad", [=](ParamGroups<T> ps) {
    AdagradOptions o;
    o.lr = 0.3 * lr_factor;
    o.lr_decay = 0.01;
    o.initial_accumulator_value = 0.01;
    o.weight_decay = wd;
    o.decay_matrices_only = matrices_only;
    return std::make_unique<Adagrad<T>>(ps, o);
  });
  out.emplace_back("adam", [=](ParamGroups<T> ps) {
    AdamOptions o;
    o.lr = 0.05 * lr_factor;
    o.amsgrad = true;
    o.weight_decay = wd;
    o.decay_matrices_only = matrices_only;
    return std::make_unique<Adam<T>>(ps, o);
  });
  out.emplace_back("adamw", [=](ParamGroups<T> ps) {
    AdamWOptions o;
    o.lr = 0.05 * lr_factor;
    o.weight_decay = wd;
    o.decay_matrices_only = matrices_only;
    return std::make_unique<AdamW<T>>(ps, o);
  });
  out.emplace_back("rmsprop", [=](ParamGroups<T> ps) {
    RmspropOptions o;
    o.lr = 0.01 * lr_factor;
    o.centered = true;
    o.momentum = 0.5;
    o.weight_decay = wd;
    o.decay_matrices_only = matrices_only;
    return std::make_unique<Rmsprop<T>>(ps, o);
  });
  return out;
}

/// all_grouped, each built from one list of parameters (one group).
template <class T>
std::vector<std::pair<std::string, Factory<T>>> all_optimizers(bool matrices_only = false, double wd = 0.05) {
  std::vector<std::pair<std::string, Factory<T>>> out;
  for (auto& [name, make] : all_grouped<T>(matrices_only, wd))
    out.emplace_back(name, [make = make](std::vector<Parameter<T>*> ps) { return make(std::move(ps)); });
  return out;
}

/// A weight matrix and a bias, as in a layer.
template <class T>
struct Layer {
  Parameter<T> w{Array<T>({{0.5, -1.0}, {2.0, 0.25}, {-0.75, 1.5}}), "w"};
  Parameter<T> b{Array<T>({1.0, -0.5}), "b"};
  std::vector<Parameter<T>*> params() { return {&w, &b}; }
};

/// Gradient of ½‖θ − c‖² plus noise that depends only on the step index: a repeatable stream.
template <class T>
void set_noisy_grads(Layer<T>& l, int step) {
  Rng rng(1000 + static_cast<std::uint64_t>(step));
  set_grad(l.w, Array<T>(l.w.value() - T(0.3) + normal<T>(rng, l.w.shape(), T(0), T(0.5))));
  set_grad(l.b, Array<T>(l.b.value() + T(0.2) + normal<T>(rng, l.b.shape(), T(0), T(0.5))));
}

/// N steps, save (state, values), M more steps; then a fresh Layer and optimizer restored from the saved
/// state run the same M steps. The two runs must agree bit for bit, and a run without the optimizer
/// state must not (so the comparison can fail).
template <class T>
void check_resume(const std::string& name, const Factory<T>& make, bool with_scheduler) {
  CAPTURE(name);
  CAPTURE(with_scheduler);
  const int n = 5, m = 7;
  Layer<T> a;
  auto opt_a = make(a.params());
  auto schedule = [](Optimizer<T>& opt) {
    return std::make_unique<LinearWarmup<T>>(opt, 3, 0.2, std::make_unique<ExponentialLR<T>>(opt, 0.9));
  };
  std::unique_ptr<LrScheduler<T>> sched_a;
  if (with_scheduler) sched_a = schedule(*opt_a);
  for (int s = 0; s < n; ++s) {
    set_noisy_grads(a, s);
    opt_a->step();
    if (with_scheduler) sched_a->step();
  }
  const auto state = opt_a->state_dict();
  const auto sched_state = with_scheduler ? sched_a->state_dict() : typename LrScheduler<T>::State();
  const Array<T> w_saved = a.w.value(), b_saved = a.b.value();
  for (int s = n; s < n + m; ++s) {
    set_noisy_grads(a, s);
    opt_a->step();
    if (with_scheduler) sched_a->step();
  }

  struct Resumed {
    std::unique_ptr<Layer<T>> layer;
    typename Optimizer<T>::StateDict state;
  };
  auto resume = [&](bool load_optimizer_state) {
    auto l = std::make_unique<Layer<T>>();
    l->w.value() = w_saved;
    l->b.value() = b_saved;
    auto opt = make(l->params());
    std::unique_ptr<LrScheduler<T>> sched;
    if (with_scheduler) sched = schedule(*opt);
    if (load_optimizer_state) opt->load_state_dict(state);  // without a scheduler: lr as stored, rounded to T
    if (with_scheduler) {
      sched->load_state_dict(sched_state);
      CHECK(opt->lr() == sched_a->lr_at(n));
    }
    for (int s = n; s < n + m; ++s) {
      set_noisy_grads(*l, s);
      opt->step();
      if (with_scheduler) sched->step();
    }
    return Resumed{std::move(l), opt->state_dict()};
  };
  const Resumed b = resume(true);
  CHECK(bitwise_equal(a.w.value(), b.layer->w.value()));
  CHECK(bitwise_equal(a.b.value(), b.layer->b.value()));
  const auto final_state = opt_a->state_dict();
  CHECK(final_state.size() == b.state.size());
  for (const auto& [key, value] : final_state) {
    CAPTURE(key);
    CHECK(bitwise_equal(value, b.state.at(key)));
  }
  const Resumed c = resume(false);
  CHECK_FALSE(bitwise_equal(a.w.value(), c.layer->w.value()));
}

}  // namespace

TEST_CASE("every optimizer converges on an ill-conditioned quadratic") {
  // f(θ) = ½ Σ aᵢ (θᵢ − cᵢ)², ∇f = a ⊙ (θ − c), minimum at c.
  const Array<double> a = vec({1.0, 10.0, 0.2});
  const Array<double> c = vec({1.0, -2.0, 3.0});
  for (const auto& [name, make] : all_optimizers<double>(false, 0.0)) {
    CAPTURE(name);
    Parameter<double> p(vec({0.0, 0.0, 0.0}));
    auto opt = make({&p});
    for (int s = 0; s < 3000; ++s) {
      set_grad(p, Array<double>(a * (p.value() - c)));
      opt->step();
    }
    for (std::size_t i = 0; i < 3; ++i) CHECK(p.value()(i) == doctest::Approx(c(i)).epsilon(1e-3));
  }
}

TEST_CASE("adam reaches the minimum (1, 1) of Rosenbrock through the tape") {
  // f(x, y) = (1 − x)² + 100 (y − x²)², from (−1.5, 2).
  Parameter<double> x(vec({-1.5}), "x"), y(vec({2.0}), "y");
  AdamOptions o;
  o.lr = 0.02;
  Adam<double> opt({&x, &y}, o);
  Tape<double> tape;
  double f = 0;
  for (int s = 0; s < 10000; ++s) {
    auto xv = tape.param(x), yv = tape.param(y);
    auto loss = sum(square(1.0 - xv) + 100.0 * square(yv - square(xv)));
    f = loss.item();
    loss.backward();
    opt.step();
    opt.zero_grad();
    tape.clear();
  }
  CHECK(f < 1e-6);
  CHECK(x.value()(0) == doctest::Approx(1.0).epsilon(1e-3));
  CHECK(y.value()(0) == doctest::Approx(1.0).epsilon(2e-3));
}

TEST_CASE("a resumed run continues bitwise exactly (double)") {
  for (const auto& [name, make] : all_optimizers<double>()) {
    check_resume<double>(name, make, true);
    check_resume<double>(name, make, false);
  }
}

TEST_CASE("a resumed run continues bitwise exactly (float, lr stored in float)") {
  for (const auto& [name, make] : all_optimizers<float>()) {
    check_resume<float>(name, make, true);
    check_resume<float>(name, make, false);  // the lr comes back from a float: 0.05f, not 0.05
  }
}

TEST_CASE("decay_matrices_only decays weight matrices and leaves biases alone") {
  for (bool matrices_only : {true, false}) {
    for (const auto& [name, make] : all_optimizers<double>(matrices_only, 0.1)) {
      CAPTURE(name);
      CAPTURE(matrices_only);
      Layer<double> l;
      const Array<double> w0 = l.w.value(), b0 = l.b.value();
      auto opt = make(l.params());
      for (int s = 0; s < 3; ++s) {
        l.w.zero_grad();  // zero gradients: only weight decay can move θ
        l.b.zero_grad();
        opt->step();
      }
      CHECK(bitwise_equal(l.b.value(), b0) == matrices_only);
      // Decay pulls every weight towards 0.
      for (std::size_t i = 0; i < w0.size(); ++i) CHECK(std::abs(l.w.value().data()[i]) < std::abs(w0.data()[i]));
    }
  }
}

TEST_CASE("a parameter with decays() false is never decayed, whatever the options; its gradient still moves it") {
  for (bool matrices_only : {true, false}) {
    for (const auto& [name, make] : all_optimizers<double>(matrices_only, 0.1)) {
      CAPTURE(name);
      CAPTURE(matrices_only);
      Layer<double> l;
      l.w.set_decays(false);  // a matrix that is not a weight (a prior's pseudo-inputs)
      CHECK(l.b.decays());
      const Array<double> w0 = l.w.value(), b0 = l.b.value();
      auto opt = make(l.params());
      for (int s = 0; s < 3; ++s) {
        l.w.zero_grad();
        l.b.zero_grad();
        opt->step();
      }
      CHECK(bitwise_equal(l.w.value(), w0));
      CHECK(bitwise_equal(l.b.value(), b0) == matrices_only);
      set_noisy_grads(l, 0);
      opt->step();
      CHECK_FALSE(bitwise_equal(l.w.value(), w0));
    }
  }
}

TEST_CASE("parameters with requires_grad false are not updated") {
  for (const auto& [name, make] : all_optimizers<double>()) {
    CAPTURE(name);
    Layer<double> l;
    l.b.set_requires_grad(false);
    const Array<double> b0 = l.b.value(), w0 = l.w.value();
    auto opt = make(l.params());
    set_noisy_grads(l, 0);
    opt->step();
    CHECK(bitwise_equal(l.b.value(), b0));
    CHECK_FALSE(bitwise_equal(l.w.value(), w0));
  }
}

TEST_CASE("state_dict names and load_state_dict errors leave the optimizer unchanged") {
  Layer<double> l;
  AdamOptions o;
  o.amsgrad = true;
  Adam<double> adam(l.params(), o);
  set_noisy_grads(l, 0);
  adam.step();
  auto state = adam.state_dict();
  std::vector<std::string> keys;
  for (const auto& [k, v] : state) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"exp_avg.0", "exp_avg.1", "exp_avg_sq.0", "exp_avg_sq.1", "lr",
                                         "max_exp_avg_sq.0", "max_exp_avg_sq.1", "step"});
  CHECK(state.at("step") == Array<double>({0.0, 1.0}));  // (step div 2^20, step mod 2^20)
  CHECK(state.at("exp_avg.0").shape() == l.w.shape());

  auto broken = state;
  broken.erase("max_exp_avg_sq.1");
  broken.at("step") = Array<double>({0.0, 7.0});
  check_throws_with([&] { adam.load_state_dict(broken); }, {"max_exp_avg_sq.1"});
  broken = state;
  broken.at("exp_avg_sq.0") = xt::zeros<double>({2});
  broken.at("step") = Array<double>({0.0, 7.0});
  check_throws_with([&] { adam.load_state_dict(broken); }, {"exp_avg_sq.0", "(2,)", "(3, 2)"});
  broken = state;
  broken["momentum_buffer.0"] = xt::zeros<double>({3, 2});
  check_throws_with([&] { adam.load_state_dict(broken); }, {"unexpected", "momentum_buffer.0"});
  broken = state;
  broken.erase("step");
  broken.at("exp_avg.0").fill(5.0);
  check_throws_with([&] { adam.load_state_dict(broken); }, {"step"});
  CHECK(adam.steps() == 1);
  const auto after = adam.state_dict();
  for (const auto& [k, v] : state) CHECK(bitwise_equal(after.at(k), v));

  // A plain Adam does not accept AMSGrad's state, and vice versa.
  Adam<double> plain(l.params());
  check_throws_with([&] { plain.load_state_dict(state); }, {"adam", "max_exp_avg_sq.0"});
  Adam<double> ams(l.params(), o);
  check_throws_with([&] { ams.load_state_dict(plain.state_dict()); }, {"max_exp_avg_sq.0"});
}

TEST_CASE("a parameter reshaped after construction is reported, not silently broadcast") {
  Parameter<double> p(vec({1.0, 2.0}), "theta");
  Adam<double> opt({&p});
  p.set_value(vec({1.0, 2.0, 3.0}));
  check_throws_with([&] { opt.step(); }, {"adam", "'theta'", "(3,)", "(2,)"});
}

TEST_CASE("the step count survives a float state dict exactly beyond 2^24 steps") {
  Parameter<float> w(Array<float>({1.f, 2.f}));
  Adam<float> adam({&w}, AdamOptions{});
  auto state = adam.state_dict();
  const long big = (1L << 24) + 3;  // not representable in float
  state.at("step") = Array<float>({static_cast<float>(big >> 20), static_cast<float>(big & ((1L << 20) - 1))});
  adam.load_state_dict(state);
  CHECK(adam.steps() == big);
  CHECK(adam.state_dict().at("step") == state.at("step"));
}

namespace {

/// Runs `steps` noisy steps of `opts` (each stepped in turn) on the layer.
template <class T>
void run_steps(Layer<T>& l, const std::vector<Optimizer<T>*>& opts, int steps,
               std::vector<LrScheduler<T>*> scheds = {}) {
  for (int s = 0; s < steps; ++s) {
    set_noisy_grads(l, s);
    for (Optimizer<T>* o : opts) o->step();
    for (LrScheduler<T>* sc : scheds) sc->step();
  }
}

}  // namespace

TEST_CASE("a param group's lr_scale gives the steps of an optimizer at lr x lr_scale, bit for bit") {
  for (double scale : {0.25, 0.0}) {
    const auto grouped = all_grouped<double>(false, 0.05);
    const auto scaled = all_grouped<double>(false, 0.05, scale);
    for (std::size_t k = 0; k < grouped.size(); ++k) {
      const std::string& name = grouped[k].first;
      CAPTURE(name);
      CAPTURE(scale);
      Layer<double> a, b;
      const Array<double> b0 = a.b.value();
      auto one = grouped[k].second({{{&a.w}}, {{&a.b}, scale}});  // w at lr, b at lr × scale
      CHECK(one->parameters() == std::vector<Parameter<double>*>{&a.w, &a.b});
      REQUIRE(one->param_groups().size() == 2);
      CHECK(one->param_groups()[1].lr_scale == scale);
      auto w_opt = grouped[k].second({&b.w});
      auto b_opt = scaled[k].second({&b.b});
      run_steps(a, {one.get()}, 6);
      run_steps(b, {w_opt.get(), b_opt.get()}, 6);
      CHECK(bitwise_equal(a.w.value(), b.w.value()));
      CHECK(bitwise_equal(a.b.value(), b.b.value()));
      CHECK(bitwise_equal(a.b.value(), b0) == (scale == 0));  // lr_scale 0 freezes the group
    }
  }
}

TEST_CASE("a schedule moves every param group's learning rate alike") {
  for (std::size_t k = 0; k < all_grouped<double>().size(); ++k) {
    const auto grouped = all_grouped<double>();
    const auto scaled = all_grouped<double>(false, 0.05, 0.5);
    CAPTURE(grouped[k].first);
    Layer<double> a, b;
    auto one = grouped[k].second({{{&a.w}}, {{&a.b}, 0.5}});
    ExponentialLR<double> sched(*one, 0.8);
    auto w_opt = grouped[k].second({&b.w});
    auto b_opt = scaled[k].second({&b.b});
    ExponentialLR<double> w_sched(*w_opt, 0.8), b_sched(*b_opt, 0.8);
    run_steps(a, {one.get()}, 5, {&sched});
    run_steps(b, {w_opt.get(), b_opt.get()}, 5, {&w_sched, &b_sched});
    CHECK(bitwise_equal(a.w.value(), b.w.value()));
    CHECK(bitwise_equal(a.b.value(), b.b.value()));
  }
}

TEST_CASE("a param group's weight_decay replaces the optimizer's and decay_matrices_only, never decays() false") {
  for (bool opted_out : {false, true}) {
    const auto none = all_grouped<double>(true, 0.0);  // no decay, and matrices only
    const auto own = all_grouped<double>(false, 0.1);  // λ = 0.1 on every parameter
    for (std::size_t k = 0; k < none.size(); ++k) {
      CAPTURE(none[k].first);
      CAPTURE(opted_out);
      Layer<double> a, b;
      a.b.set_decays(!opted_out);
      b.b.set_decays(!opted_out);
      // The bias (a vector) in a group of its own with λ = 0.1, the weights with the optimizer's λ = 0.
      auto one = none[k].second({{{&a.w}}, {{&a.b}, 1.0, 0.1}});
      auto w_opt = none[k].second({&b.w});
      auto b_opt = (opted_out ? none : own)[k].second({&b.b});
      run_steps(a, {one.get()}, 6);
      run_steps(b, {w_opt.get(), b_opt.get()}, 6);
      CHECK(bitwise_equal(a.w.value(), b.w.value()));
      CHECK(bitwise_equal(a.b.value(), b.b.value()));
    }
  }
}

TEST_CASE("an optimizer with param groups resumes bitwise exactly") {
  for (const auto& [name, make] : all_grouped<double>(true)) {
    const GroupFactory<double> grouped = make;
    const Factory<double> two_groups = [grouped](std::vector<Parameter<double>*> ps) {
      return grouped({{{ps[0]}, 0.5}, {{ps[1]}, 2.0, 0.3}});
    };
    check_resume<double>(name + " with groups", two_groups, true);
    check_resume<double>(name + " with groups", two_groups, false);
  }
}

TEST_CASE("param groups: a parameter listed twice, a null parameter and invalid group options are refused") {
  Layer<double> l;
  check_throws_with([&] { Adam<double>({&l.w, &l.b, &l.w}); }, {"'w'", "twice", "parameter 0 and 2"});
  check_throws_with([&] { Sgd<double>({{{&l.w}}, {{&l.b, &l.w}}}); }, {"'w'", "twice", "in param groups 0 and 1"});
  try {
    Sgd<double>({{{&l.w}}, {{&l.b, &l.b}}});
    FAIL("a parameter listed twice in one group was accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("param groups") == std::string::npos);  // both in group 1
    CHECK(std::string(e.what()).find("parameter 1 and 2") != std::string::npos);
  }
  check_throws_with([&] { Rmsprop<double>({{{&l.w}}, {{nullptr}}}); }, {"parameter 1", "param group 1", "null"});
  check_throws_with([&] { Adagrad<double>({{{&l.w}}, {{&l.b}, -0.5}}); }, {"param group 1", "lr_scale", "-0.5"});
  check_throws_with([&] { AdamW<double>({{{&l.w}, std::nan("")}}); }, {"param group 0", "lr_scale", "nan"});
  check_throws_with([&] { Adam<double>({{{&l.w}, 1.0, -1.0}}); }, {"param group 0", "weight_decay", "-1"});
  check_throws_with([&] { Adam<double>({{{&l.w}, 1.0, HUGE_VAL}}); }, {"param group 0", "weight_decay", "inf"});
  // An empty group is allowed (as an empty list is), and adds nothing.
  Adam<double> opt({{{&l.w, &l.b}}, {{}}}, AdamOptions{});
  CHECK(opt.parameters().size() == 2);
}

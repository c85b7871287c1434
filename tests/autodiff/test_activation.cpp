// Activations: forward against plain xtensor, gradients, stability at large |x|.
#include <functional>

#include "check.hpp"

using namespace tapir;
using test::check_close;
using test::check_gradients;

TEST_CASE("activations: forward matches xtensor and gradients match finite differences") {
  using A = Array<double>;
  struct Case {
    const char* name;
    std::function<Var<double>(const Var<double>&)> op;
    std::function<A(const A&)> reference;
  };
  const std::vector<Case> cases = {
      {"tanh", [](const auto& x) { return tanh(x); }, [](const A& x) -> A { return xt::tanh(x); }},
      {"sigmoid", [](const auto& x) { return sigmoid(x); }, [](const A& x) -> A { return 1.0 / (1.0 + xt::exp(-x)); }},
      {"relu", [](const auto& x) { return relu(x); }, [](const A& x) -> A { return xt::maximum(x, 0.0); }},
      {"leaky_relu", [](const auto& x) { return leaky_relu(x, 0.1); },
       [](const A& x) -> A { return xt::where(x > 0.0, x, 0.1 * x); }},
      {"elu", [](const auto& x) { return elu(x, 1.5); },
       [](const A& x) -> A { return xt::where(x > 0.0, x, 1.5 * (xt::exp(x) - 1.0)); }},
      {"softplus", [](const auto& x) { return softplus(x); },
       [](const A& x) -> A { return xt::log(1.0 + xt::exp(x)); }},
      {"log_sigmoid", [](const auto& x) { return log_sigmoid(x); },
       [](const A& x) -> A { return xt::log(1.0 / (1.0 + xt::exp(-x))); }},
  };
  // Keep inputs away from the kinks of relu/leaky_relu/elu at 0 so central differences are valid.
  Array<double> x0 = test::rand({3, 5}, 21, -3, 3);
  for (auto& v : x0)
    if (std::abs(v) < 0.05) v += 0.1;
  for (const auto& c : cases) {
    CAPTURE(c.name);
    Tape<double> tape;
    check_close(c.op(tape.variable(x0)).value(), c.reference(x0), 1e-12);
    check_gradients([&](Tape<double>&, const auto& in) { return c.op(in[0]); }, {x0}, c.name);
    check_gradients([&](Tape<double>&, const auto& in) { return c.op(in[0]) * in[0]; }, {x0},
                    std::string(c.name) + " reused");
  }
}

TEST_CASE("sigmoid, softplus and log_sigmoid are finite and accurate at |x| = 100 and 1000") {
  for (double big : {100.0, 1000.0}) {
    Tape<float> tape;
    Var<float> x = tape.variable(Array<float>({-float(big), float(big)}));
    Var<float> s = sigmoid(x), sp = softplus(x), ls = log_sigmoid(x);
    CHECK(s.value()(0) == doctest::Approx(0.0));
    CHECK(s.value()(1) == 1.0f);
    CHECK(sp.value()(0) == doctest::Approx(0.0));
    CHECK(sp.value()(1) == doctest::Approx(big));
    CHECK(ls.value()(0) == doctest::Approx(-big));
    CHECK(ls.value()(1) == doctest::Approx(0.0));
    sum(s + sp + ls).backward();
    CHECK(all_finite(x.grad()));
    // d/dx [σ + softplus + log σ] = σ(1−σ) + σ + (1−σ) = σ(1−σ) + 1
    CHECK(x.grad()(0) == doctest::Approx(1.0));
    CHECK(x.grad()(1) == doctest::Approx(1.0));
  }
}

TEST_CASE("relu gradient is 0 at and below zero, 1 above") {
  Tape<double> tape;
  Var<double> x = tape.variable(Array<double>({-1.0, 0.0, 2.0}));
  sum(relu(x)).backward();
  check_close(x.grad(), Array<double>({0.0, 0.0, 1.0}), 0);
}

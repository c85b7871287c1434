// Arithmetic and elementwise math: forward against plain xtensor, gradients against central
// differences, accumulation through a reused input, broadcasting, and error messages.
#include <cmath>
#include <functional>

#include "check.hpp"

using namespace tapir;
using test::arr;
using test::check_close;
using test::check_gradients;
using test::check_throws_with;

namespace {

struct UnaryCase {
  const char* name;
  std::function<Var<double>(const Var<double>&)> op;
  std::function<Array<double>(const Array<double>&)> reference;
  double lo, hi;  // input domain for the test
};

std::vector<UnaryCase> unary_cases() {
  using A = Array<double>;
  return {
      {"neg", [](const auto& x) { return -x; }, [](const A& x) -> A { return -x; }, -2, 2},
      {"square", [](const auto& x) { return square(x); }, [](const A& x) -> A { return x * x; }, -2, 2},
      {"sqrt", [](const auto& x) { return sqrt(x); }, [](const A& x) -> A { return xt::sqrt(x); }, 0.2, 3},
      {"exp", [](const auto& x) { return exp(x); }, [](const A& x) -> A { return xt::exp(x); }, -2, 2},
      {"log", [](const auto& x) { return log(x); }, [](const A& x) -> A { return xt::log(x); }, 0.2, 3},
      {"log1p", [](const auto& x) { return log1p(x); }, [](const A& x) -> A { return xt::log1p(x); }, -0.5, 2},
      {"expm1", [](const auto& x) { return expm1(x); }, [](const A& x) -> A { return xt::expm1(x); }, -2, 2},
      {"abs", [](const auto& x) { return abs(x); }, [](const A& x) -> A { return xt::abs(x); }, -2, 2},
      {"sin", [](const auto& x) { return sin(x); }, [](const A& x) -> A { return xt::sin(x); }, -3, 3},
      {"cos", [](const auto& x) { return cos(x); }, [](const A& x) -> A { return xt::cos(x); }, -3, 3},
      {"erf", [](const auto& x) { return erf(x); }, [](const A& x) -> A { return xt::erf(x); }, -2, 2},
      {"lgamma", [](const auto& x) { return lgamma(x); }, [](const A& x) -> A { return xt::lgamma(x); }, 0.3, 8},
      {"pow_scalar", [](const auto& x) { return pow(x, 2.5); }, [](const A& x) -> A { return xt::pow(x, 2.5); }, 0.2,
       2},
      {"add_scalar", [](const auto& x) { return x + 1.5; }, [](const A& x) -> A { return x + 1.5; }, -2, 2},
      {"sub_scalar", [](const auto& x) { return x - 1.5; }, [](const A& x) -> A { return x - 1.5; }, -2, 2},
      {"rsub_scalar", [](const auto& x) { return 1.5 - x; }, [](const A& x) -> A { return 1.5 - x; }, -2, 2},
      {"mul_scalar", [](const auto& x) { return x * 3.0; }, [](const A& x) -> A { return x * 3.0; }, -2, 2},
      {"div_scalar", [](const auto& x) { return x / 4.0; }, [](const A& x) -> A { return x / 4.0; }, -2, 2},
      {"rdiv_scalar", [](const auto& x) { return 2.0 / x; }, [](const A& x) -> A { return 2.0 / x; }, 0.5, 2},
      {"clamp", [](const auto& x) { return clamp(x, -0.5, 0.7); },
       [](const A& x) -> A { return xt::clip(x, -0.5, 0.7); }, -2, 2},
  };
}

}  // namespace

TEST_CASE("unary ops: forward matches xtensor; gradient matches finite differences, also for x used twice") {
  for (const auto& c : unary_cases()) {
    CAPTURE(c.name);
    const Array<double> x0 = test::rand({3, 4}, 11, c.lo, c.hi);
    Tape<double> tape;
    Var<double> x = tape.variable(x0);
    check_close(c.op(x).value(), c.reference(x0), 1e-12);
    check_gradients([&](Tape<double>&, const auto& in) { return c.op(in[0]); }, {x0}, c.name);
    // x used twice: op(x) * x needs the product rule, so both paths must accumulate into x.grad.
    check_gradients([&](Tape<double>&, const auto& in) { return c.op(in[0]) * in[0]; }, {x0},
                    std::string(c.name) + " reused");
  }
}

TEST_CASE("digamma against known values and its gradient (trigamma)") {
  const double euler_gamma = 0.57721566490153286;
  CHECK(digamma_scalar(1.0) == doctest::Approx(-euler_gamma).epsilon(1e-12));
  CHECK(digamma_scalar(0.5) == doctest::Approx(-euler_gamma - 2 * std::log(2.0)).epsilon(1e-12));
  CHECK(digamma_scalar(-0.5) == doctest::Approx(0.03648997397857652).epsilon(1e-10));
  CHECK(trigamma_scalar(1.0) == doctest::Approx(M_PI * M_PI / 6).epsilon(1e-12));
  CHECK(trigamma_scalar(0.5) == doctest::Approx(M_PI * M_PI / 2).epsilon(1e-12));
  CHECK(std::isnan(digamma_scalar(0.0)));
  CHECK(std::isnan(digamma_scalar(-2.0)));
  const Array<double> x0 = test::rand({2, 3}, 5, 0.4, 6);
  check_gradients([](Tape<double>&, const auto& in) { return digamma(in[0]); }, {x0}, "digamma");
  check_gradients([](Tape<double>&, const auto& in) { return digamma(in[0]) * in[0]; }, {x0}, "digamma reused");
  // lgamma' = digamma, numerically
  Tape<double> tape;
  Var<double> x = tape.variable(x0);
  sum(lgamma(x)).backward();
  for (std::size_t i = 0; i < x0.size(); ++i)
    CHECK(x.grad().data()[i] == doctest::Approx(digamma_scalar(x0.data()[i])).epsilon(1e-12));
}

TEST_CASE("binary ops: forward, gradients, x op x, and broadcasting") {
  using A = Array<double>;
  struct BinaryCase {
    const char* name;
    std::function<Var<double>(const Var<double>&, const Var<double>&)> op;
    std::function<A(const A&, const A&)> reference;
    double lo, hi;
  };
  const std::vector<BinaryCase> cases = {
      {"add", [](const auto& a, const auto& b) { return a + b; }, [](const A& a, const A& b) -> A { return a + b; }, -2,
       2},
      {"sub", [](const auto& a, const auto& b) { return a - b; }, [](const A& a, const A& b) -> A { return a - b; }, -2,
       2},
      {"mul", [](const auto& a, const auto& b) { return a * b; }, [](const A& a, const A& b) -> A { return a * b; }, -2,
       2},
      {"div", [](const auto& a, const auto& b) { return a / b; }, [](const A& a, const A& b) -> A { return a / b; },
       0.5, 2},
      {"pow", [](const auto& a, const auto& b) { return pow(a, b); },
       [](const A& a, const A& b) -> A { return xt::pow(a, b); }, 0.5, 2},
  };
  // (same shapes), (row vector broadcast), (column broadcast against a row: both sides broadcast),
  // (a scalar-shaped 0-d operand)
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{3, 1}, {1, 4}}, {{2, 3, 4}, {3, 1}}, {{3, 4}, {}}};
  for (const auto& c : cases) {
    for (const auto& [sa, sb] : shapes) {
      CAPTURE(c.name);
      CAPTURE(shape_str(sa));
      CAPTURE(shape_str(sb));
      const A a0 = test::rand(sa, 1, c.lo, c.hi), b0 = test::rand(sb, 2, c.lo, c.hi);
      Tape<double> tape;
      check_close(c.op(tape.variable(a0), tape.variable(b0)).value(), A(c.reference(a0, b0)), 1e-12);
      check_gradients([&](Tape<double>&, const auto& in) { return c.op(in[0], in[1]); }, {a0, b0}, c.name);
      check_gradients([&](Tape<double>&, const auto& in) { return c.op(in[1], in[0]); }, {a0, b0}, c.name);
    }
    // x op x: both operands are the same node; its gradient must be the sum of both partials.
    const A x0 = test::rand({2, 3}, 3, c.lo, c.hi);
    check_gradients([&](Tape<double>&, const auto& in) { return c.op(in[0], in[0]); }, {x0},
                    std::string(c.name) + "(x, x)");
  }
}

TEST_CASE("x * x and x + x accumulate exactly") {
  Tape<double> tape;
  Var<double> x = tape.variable(arr({3}, {1, -2, 3}));
  sum(x * x + x + x).backward();  // d/dx = 2x + 2
  check_close(x.grad(), arr({3}, {4, -2, 8}), 0);
}

TEST_CASE("pow(a, b) has a finite gradient in b where a = 0") {
  Tape<double> tape;
  Var<double> a = tape.constant(arr({2}, {0, 2}));
  Var<double> b = tape.variable(arr({2}, {2, 3}));
  sum(pow(a, b)).backward();
  CHECK(b.grad()(0) == 0);
  CHECK(b.grad()(1) == doctest::Approx(8 * std::log(2.0)));
}

TEST_CASE("where and clamp route gradients by the mask") {
  using A = Array<double>;
  const xt::xarray<bool> cond = {{true, false, true}, {false, false, true}};
  const A a0 = test::rand({2, 3}, 7), b0 = test::rand({3}, 8);
  Tape<double> tape;
  Var<double> y = tapir::where(cond, tape.variable(a0), tape.variable(b0));
  check_close(y.value(), A(xt::where(cond, a0, b0)), 0);
  check_gradients([&](Tape<double>&, const auto& in) { return tapir::where(cond, in[0], in[1]); }, {a0, b0}, "where");
  check_gradients([&](Tape<double>&, const auto& in) { return tapir::where(cond, in[0], in[0] * in[0]); }, {a0},
                  "where reused");
  // clamp: gradient 1 inside [lo, hi], 0 outside
  Var<double> x = tape.variable(arr({4}, {-2, -0.1, 0.3, 5}));
  sum(clamp(x, -1.0, 1.0)).backward();
  check_close(x.grad(), arr({4}, {0, 1, 1, 0}), 0);
  check_throws_with([&] { clamp(x, 1.0, -1.0); }, {"clamp", "lo"});
}

TEST_CASE("float32 forward agrees with float64") {
  const Array<double> x0 = test::rand({4, 5}, 9, 0.2, 2);
  Tape<float> tf;
  Tape<double> td;
  Var<float> xf = tf.variable(xt::cast<float>(x0));
  Var<double> xd = td.variable(x0);
  auto f = [](const auto& x) { return sum(log(x) * exp(-x) + sqrt(x) / (x + 1.0)); };
  Var<float> yf = f(xf);
  Var<double> yd = f(xd);
  CHECK(yf.item() == doctest::Approx(yd.item()).epsilon(1e-5));
  yf.backward();
  yd.backward();
  check_close(xf.grad(), xd.grad(), 1e-5);
}

TEST_CASE("incompatible shapes: the message names the op and both shapes") {
  Tape<double> tape;
  Var<double> a = tape.variable(xt::zeros<double>({2, 3}));
  Var<double> b = tape.variable(xt::zeros<double>({4}));
  check_throws_with([&] { a + b; }, {"add", "(2, 3)", "(4,)"});
  check_throws_with([&] { a* b; }, {"mul", "(2, 3)", "(4,)"});
  check_throws_with([&] { pow(a, b); }, {"pow", "(2, 3)", "(4,)"});
  check_throws_with([&] { tapir::where(xt::xarray<bool>({true, false}), a, a); }, {"where", "(2,)", "(2, 3)"});
}

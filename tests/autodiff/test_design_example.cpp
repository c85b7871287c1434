// The worked example of docs/design.md, "Adding an op": a user-defined softsign built only from the
// public Var hooks. The op below is the doc's code, character for character; keep the two in sync.
#include <cmath>

#include "check.hpp"

// ---- From docs/design.md ----------------------------------------------------------------------------
#include "autodiff/autodiff.hpp"

namespace mylib {

/// y = x / (1 + |x|);  dy/dx = 1 / (1 + |x|)².
template <class T>
tapir::Var<T> softsign(const tapir::Var<T>& x) {
  tapir::Var<T> y = x.tape().push("softsign", x.shape(), x.requires_grad());
  xt::noalias(y.out()) = x.value() / (T(1) + xt::abs(x.value()));
  y.on_backward([x, y] { x.add_grad(y.grad() / xt::square(T(1) + xt::abs(x.value()))); });
  return y;
}

}  // namespace mylib
// ---- End of the doc's code --------------------------------------------------------------------------

using namespace tapir;
using mylib::softsign;
using test::check_close;

namespace {

/// Every input of f passes grad_check with the tolerances the doc states.
void check_softsign_gradients(const GradCheckFn& f, const std::vector<Array<double>>& inputs, const char* what) {
  GradCheckOptions options;
  options.atol = 1e-5;
  options.rtol = 1e-3;
  const std::vector<GradCheckResult> results = grad_check(f, inputs, options);
  REQUIRE(results.size() == inputs.size());
  for (std::size_t j = 0; j < results.size(); ++j) {
    INFO(what << ": input " << j << ": max abs error " << results[j].max_abs_error << ", worst element "
              << results[j].worst_index);
    CHECK(results[j].passed);
  }
}

}  // namespace

TEST_CASE("softsign (design.md example): forward matches plain xtensor, in double and float") {
  const Array<double> x0 = test::arr({2, 4}, {-50.0, -2.0, -0.5, 0.0, 0.25, 1.0, 3.0, 1e6});
  const Array<double> expected = x0 / (1.0 + xt::abs(x0));

  Tape<double> tape;
  Var<double> y = softsign(tape.variable(x0));
  CHECK(std::string(y.op()) == "softsign");
  CHECK(y.requires_grad());
  check_close(y.value(), expected, 1e-15);
  // Spot values: softsign(0) = 0, softsign(1) = 1/2, softsign(-2) = -2/3.
  CHECK(y.value()(0, 3) == 0.0);
  CHECK(y.value()(1, 1) == doctest::Approx(0.5));
  CHECK(y.value()(0, 1) == doctest::Approx(-2.0 / 3.0));

  Tape<float> tape_f;
  Var<float> yf = softsign(tape_f.variable(xt::cast<float>(x0)));
  check_close(yf.value(), expected, 1e-6);
}

TEST_CASE("softsign (design.md example): analytic gradient is 1/(1+|x|)^2") {
  const Array<double> x0 = test::arr({5}, {-3.0, -0.5, 0.0, 0.5, 3.0});
  Tape<double> tape;
  Var<double> x = tape.variable(x0);
  sum(softsign(x)).backward();
  const Array<double> expected = 1.0 / xt::square(1.0 + xt::abs(x0));
  check_close(x.grad(), expected, 1e-15);
}

TEST_CASE("softsign (design.md example): gradients match grad_check") {
  // Away from 0, where |x| has a kink that central differences would straddle (softsign itself is
  // smooth there, but keep the check free of that subtlety).
  Array<double> x0 = test::rand({3, 4}, 7, -3, 3);
  for (auto& v : x0)
    if (std::abs(v) < 0.05) v += 0.1;

  check_softsign_gradients([](Tape<double>&, const std::vector<Var<double>>& in) { return softsign(in[0]); }, {x0},
                           "softsign(x)");
  // A reused input: x reaches the output twice, so its gradient must accumulate both paths.
  check_softsign_gradients([](Tape<double>&, const std::vector<Var<double>>& in) { return softsign(in[0]) * in[0]; },
                           {x0}, "softsign(x) * x");

  // Broadcast: softsign of a (3, 1) + (4,) sum sees a (3, 4) input, and its gradient must be summed back
  // to each operand's shape; then a (3, 4) * (4,) product broadcasts its output once more.
  const Array<double> a0 = test::rand({3, 1}, 8, -2, 2);
  const Array<double> b0 = test::rand({4}, 9, -2, 2);
  check_softsign_gradients(
      [](Tape<double>&, const std::vector<Var<double>>& in) { return softsign(in[0] + in[1]) * in[1]; }, {a0, b0},
      "softsign(a + b) * b");
}

TEST_CASE("softsign (design.md example): no gradient work for constants or in a no-grad scope") {
  Tape<double> tape;
  Var<double> c = softsign(tape.constant(test::arr({2}, {1.0, -1.0})));
  CHECK_FALSE(c.requires_grad());
  {
    NoGradGuard<double> no_grad(tape);
    Var<double> v = softsign(tape.variable(test::arr({2}, {1.0, -1.0})));
    CHECK_FALSE(v.requires_grad());
  }
  // A reused constant next to a variable: only the variable gets a gradient.
  Var<double> x = tape.variable(test::arr({2}, {1.0, -1.0}));
  Var<double> k = tape.constant(test::arr({2}, {2.0, 2.0}));
  sum(softsign(x) * k).backward();
  check_close(x.grad(), test::arr({2}, {0.5, 0.5}), 1e-15);  // 2 · 1/(1+1)²
  check_close(k.grad(), test::arr({2}, {0.0, 0.0}), 0.0);
}

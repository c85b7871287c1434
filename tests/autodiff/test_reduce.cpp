// Reductions over all elements and over each axis (with and without keepdims), (log-)softmax.
#include <functional>
#include <limits>

#include <xtensor/xsort.hpp>

#include "check.hpp"

using namespace tapir;
using test::arr;
using test::check_close;
using test::check_gradients;
using test::check_throws_with;

namespace {
using A = Array<double>;

A ref_logsumexp(const A& x, std::size_t axis) {
  A m = xt::amax(x, {axis}, xt::keep_dims);
  return xt::log(xt::sum(xt::exp(x - m), {axis}, xt::keep_dims)) + m;
}

A squeeze_axis(const A& x, std::size_t axis) {
  std::vector<std::size_t> s(x.shape().begin(), x.shape().end());
  s.erase(s.begin() + static_cast<long>(axis));
  return xt::reshape_view(x, s);
}
}  // namespace

TEST_CASE("sum, mean, max, logsumexp over every axis of a 3-D array, with and without keepdims") {
  const A x0 = test::rand({2, 3, 4}, 31, -2, 2);
  struct Case {
    const char* name;
    std::function<Var<double>(const Var<double>&, int, bool)> op;
    std::function<A(const A&, std::size_t)> ref;  // keepdims result
  };
  const std::vector<Case> cases = {
      {"sum", [](const auto& x, int a, bool k) { return sum(x, a, k); },
       [](const A& x, std::size_t a) -> A { return xt::sum(x, {a}, xt::keep_dims); }},
      {"mean", [](const auto& x, int a, bool k) { return mean(x, a, k); },
       [](const A& x, std::size_t a) -> A { return xt::mean(x, {a}, xt::keep_dims); }},
      {"max", [](const auto& x, int a, bool k) { return max(x, a, k); },
       [](const A& x, std::size_t a) -> A { return xt::amax(x, {a}, xt::keep_dims); }},
      {"logsumexp", [](const auto& x, int a, bool k) { return logsumexp(x, a, k); },
       [](const A& x, std::size_t a) -> A { return ref_logsumexp(x, a); }},
  };
  for (const auto& c : cases) {
    for (int axis : {0, 1, 2, -1}) {
      for (bool keep : {true, false}) {
        CAPTURE(c.name);
        CAPTURE(axis);
        CAPTURE(keep);
        const std::size_t a = static_cast<std::size_t>(axis < 0 ? axis + 3 : axis);
        Tape<double> tape;
        Var<double> y = c.op(tape.variable(x0), axis, keep);
        const A expected = keep ? c.ref(x0, a) : squeeze_axis(c.ref(x0, a), a);
        check_close(y.value(), expected, 1e-12);
        check_gradients([&](Tape<double>&, const auto& in) { return c.op(in[0], axis, keep); }, {x0}, c.name);
        check_gradients(
            [&](Tape<double>&, const auto& in) { return c.op(in[0] * in[0], axis, keep) * c.op(in[0], axis, keep); },
            {x0}, std::string(c.name) + " reused");
      }
    }
  }
}

TEST_CASE("full reductions give 0-d results") {
  const A x0 = test::rand({3, 4}, 32);
  Tape<double> tape;
  Var<double> x = tape.variable(x0);
  CHECK(sum(x).dim() == 0);
  CHECK(sum(x).item() == doctest::Approx(test::total(x0)));
  CHECK(mean(x).item() == doctest::Approx(test::average(x0)));
  CHECK(max(x).item() == test::largest(x0));
  CHECK(logsumexp(x).item() == doctest::Approx(std::log(test::total(A(xt::exp(x0))))));
  for (const char* name : {"sum", "mean", "max", "logsumexp"}) {
    CAPTURE(name);
    check_gradients(
        [&](Tape<double>&, const auto& in) {
          const std::string n = name;
          return n == "sum" ? sum(in[0]) : n == "mean" ? mean(in[0]) : n == "max" ? max(in[0]) : logsumexp(in[0]);
        },
        {x0}, name);
  }
}

TEST_CASE("max splits the gradient between ties") {
  Tape<double> tape;
  Var<double> x = tape.variable(arr({2, 3}, {1, 5, 5, 2, 0, -1}));
  sum(max(x, 1)).backward();
  check_close(x.grad(), arr({2, 3}, {0, 0.5, 0.5, 1, 0, 0}), 0);
}

TEST_CASE("logsumexp is stable for large inputs and finite in gradient for an all −inf row") {
  const double inf = std::numeric_limits<double>::infinity();
  Tape<double> tape;
  Var<double> x = tape.variable(arr({3, 2}, {1000, 1000, -inf, -inf, -inf, 0}));
  Var<double> y = logsumexp(x, 1);
  CHECK(y.value()(0) == doctest::Approx(1000 + std::log(2.0)));
  CHECK(y.value()(1) == -inf);
  CHECK(y.value()(2) == 0);
  sum(y * tape.constant(arr({3}, {1, 1, 1}))).backward();
  CHECK(all_finite(x.grad()));
  check_close(x.grad(), arr({3, 2}, {0.5, 0.5, 0, 0, 0, 1}), 1e-12);

  Tape<float> tf;
  Var<float> xf = tf.variable(Array<float>({{-100.f, 100.f, 50.f}}));
  CHECK(logsumexp(xf, 1).value()(0) == doctest::Approx(100.0));
}

TEST_CASE("softmax and log_softmax along each axis") {
  const A x0 = test::rand({3, 4}, 33, -3, 3);
  for (int axis : {0, 1, -1}) {
    CAPTURE(axis);
    const std::size_t a = static_cast<std::size_t>(axis < 0 ? axis + 2 : axis);
    Tape<double> tape;
    Var<double> x = tape.variable(x0);
    const A lse = ref_logsumexp(x0, a);
    check_close(softmax(x, axis).value(), A(xt::exp(x0 - lse)), 1e-12);
    check_close(log_softmax(x, axis).value(), A(x0 - lse), 1e-12);
    check_close(A(xt::sum(softmax(x, axis).value(), {a})), A(xt::ones<double>({a == 0 ? 4 : 3})), 1e-12);
    check_gradients([&](Tape<double>&, const auto& in) { return softmax(in[0], axis); }, {x0}, "softmax");
    check_gradients([&](Tape<double>&, const auto& in) { return log_softmax(in[0], axis); }, {x0}, "log_softmax");
    check_gradients([&](Tape<double>&, const auto& in) { return softmax(in[0], axis) * in[0]; }, {x0},
                    "softmax reused");
  }
}

TEST_CASE("reduction errors name the op, the axis and the rank") {
  Tape<double> tape;
  Var<double> x = tape.variable(xt::zeros<double>({2, 3}));
  check_throws_with([&] { sum(x, 2); }, {"sum", "axis 2", "rank 2"});
  check_throws_with([&] { logsumexp(x, -3); }, {"logsumexp", "axis -3"});
  check_throws_with([&] { softmax(tape.scalar(1.0)); }, {"softmax", "0-d"});
}

TEST_CASE("empty inputs: logsumexp is −inf, sum is 0, softmax along an empty axis is an error") {
  Tape<double> tape;
  Var<double> e = tape.variable(Array<double>(xt::zeros<double>({3, 0})));
  CHECK(logsumexp(e).item() == -std::numeric_limits<double>::infinity());
  CHECK(sum(e).item() == 0);
  check_throws_with([&] { softmax(e, 1); }, {"softmax", "empty", "(3, 0)"});
  check_throws_with([&] { logsumexp(e, 1); }, {"logsumexp", "empty"});
}

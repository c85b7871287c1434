// matmul: forward against a naive triple loop, gradients, vector and non-square shapes, errors.
#include "check.hpp"

using namespace tapir;
using test::check_close;
using test::check_gradients;
using test::check_throws_with;

namespace {
Array<double> naive_matmul(const Array<double>& a, const Array<double>& b) {
  Array<double> c = xt::zeros<double>({a.shape()[0], b.shape()[1]});
  for (std::size_t i = 0; i < a.shape()[0]; ++i)
    for (std::size_t j = 0; j < b.shape()[1]; ++j)
      for (std::size_t k = 0; k < a.shape()[1]; ++k) c(i, j) += a(i, k) * b(k, j);
  return c;
}
}  // namespace

TEST_CASE("matmul: forward and gradients for 1×n, n×1, square and non-square shapes") {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{1, 5}, {5, 1}},  // row · column = 1×1
      {{5, 1}, {1, 4}},  // column · row = outer product
      {{1, 3}, {3, 4}},  // row vector times a matrix
      {{4, 3}, {3, 1}},  // matrix times a column
      {{3, 3}, {3, 3}},  // square
      {{2, 7}, {7, 5}},  // non-square
  };
  for (const auto& [sa, sb] : shapes) {
    CAPTURE(shape_str(sa));
    CAPTURE(shape_str(sb));
    const Array<double> a0 = test::rand(sa, 41), b0 = test::rand(sb, 42);
    Tape<double> tape;
    check_close(matmul(tape.variable(a0), tape.variable(b0)).value(), naive_matmul(a0, b0), 1e-12);
    check_gradients([](Tape<double>&, const auto& in) { return matmul(in[0], in[1]); }, {a0, b0}, "matmul");
  }
}

TEST_CASE("matmul: the same Var on both sides (x xᵀ and x x) accumulates both gradients") {
  const Array<double> x0 = test::rand({3, 3}, 43);
  check_gradients([](Tape<double>&, const auto& in) { return matmul(in[0], in[0]); }, {x0}, "x x");
  check_gradients([](Tape<double>&, const auto& in) { return matmul(in[0], transpose(in[0])); }, {x0}, "x xT");
}

TEST_CASE("matmul: float32 agrees with float64, and parameter gradients accumulate across backward calls") {
  const Array<double> a0 = test::rand({6, 8}, 44), b0 = test::rand({8, 5}, 45);
  Parameter<float> w(xt::cast<float>(b0), "w");
  Tape<float> tape;
  Var<float> a = tape.constant(xt::cast<float>(a0));
  Var<float> y = sum(matmul(a, tape.param(w)));
  check_close(y.value(), Array<double>(test::total(Array<double>(naive_matmul(a0, b0)))), 1e-5);
  y.backward();
  const Array<float> g1 = w.grad();
  y.backward();  // a second pass adds the same gradient again
  check_close(w.grad(), Array<float>(2.0f * g1), 1e-6);
  w.zero_grad();
  CHECK(std::all_of(w.grad().begin(), w.grad().end(), [](float v) { return v == 0; }));
}

TEST_CASE("matmul errors name the op and both shapes") {
  Tape<double> tape;
  Var<double> a = tape.variable(xt::zeros<double>({2, 3}));
  Var<double> b = tape.variable(xt::zeros<double>({4, 5}));
  Var<double> v = tape.variable(xt::zeros<double>({3}));
  check_throws_with([&] { matmul(a, b); }, {"matmul", "(2, 3)", "(4, 5)", "not aligned"});
  check_throws_with([&] { matmul(a, v); }, {"matmul", "(2, 3)", "(3,)", "2-D"});
}

TEST_CASE("linear(x, W, b) = x W + b in one node, with the same gradients") {
  const Array<double> x0 = test::rand({4, 3}, 46), w0 = test::rand({3, 5}, 47), b0 = test::rand({5}, 48);
  Tape<double> tape;
  Var<double> x = tape.variable(x0), w = tape.variable(w0), b = tape.variable(b0);
  check_close(linear(x, w, b).value(), Array<double>(naive_matmul(x0, w0) + b0), 1e-12);
  check_gradients([](Tape<double>&, const auto& in) { return linear(in[0], in[1], in[2]); }, {x0, w0, b0}, "linear");
  // x used as both input and (transposed) weight: accumulation through both gemms
  const Array<double> s0 = test::rand({3, 3}, 49), c0 = test::rand({3}, 50);
  check_gradients([](Tape<double>&, const auto& in) { return linear(in[0], in[0], in[1]) * in[0]; }, {s0, c0},
                  "linear reused");
  check_throws_with([&] { linear(x, w, tape.variable(test::rand({4}, 1))); }, {"linear", "(4, 3)", "(3, 5)", "(4,)"});
}

TEST_CASE("linear takes leading axes as rows: (2, 4, 3) → (2, 4, 5), as the 2-D product of its rows") {
  const Array<double> x0 = test::rand({2, 4, 3}, 51), w0 = test::rand({3, 5}, 52), b0 = test::rand({5}, 53);
  Tape<double> tape;
  const Var<double> y = linear(tape.variable(x0), tape.variable(w0), tape.variable(b0));
  REQUIRE(y.shape() == Shape{2, 4, 5});
  Array<double> rows = x0;
  rows.reshape({8, 3});
  Array<double> want = naive_matmul(rows, w0) + b0;
  want.reshape({2, 4, 5});
  check_close(y.value(), want, 1e-12);
  check_gradients([](Tape<double>&, const auto& in) { return linear(in[0], in[1], in[2]); }, {x0, w0, b0},
                  "linear 3-D");
}

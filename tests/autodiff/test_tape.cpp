// The tape's contract: lifetimes, misuse errors, no-grad, detach, anomaly mode, parameters, seeds.
#include <limits>

#include "check.hpp"

using namespace tapir;
using test::arr;
using test::check_close;
using test::check_throws_with;

TEST_CASE("backward from a scalar fills leaf gradients; constants get none") {
  Tape<double> tape;
  Var<double> x = tape.variable(arr({2}, {1, 2}));
  Var<double> c = tape.constant(arr({2}, {3, 4}));
  Var<double> y = sum(x * c);
  CHECK(y.requires_grad());
  CHECK_FALSE(c.requires_grad());
  CHECK_FALSE((c * c).requires_grad());
  y.backward();
  check_close(x.grad(), arr({2}, {3, 4}), 0);
  check_close(c.grad(), arr({2}, {0, 0}), 0);  // zeros: nothing asked for it
}

TEST_CASE("only nodes that need a gradient run their backward") {
  Tape<double> tape;
  int calls = 0;
  // A custom op that counts its backward calls (see docs/design.md, "Adding an op").
  auto counted = [&calls](const Var<double>& x) {
    Var<double> y = x.tape().push("counted", x.shape(), x.requires_grad());
    xt::noalias(y.out()) = x.value();
    y.on_backward([x, y, &calls] {
      ++calls;
      x.add_grad(y.grad());
    });
    return y;
  };
  Var<double> x = tape.variable(arr({2}, {1, 2}));
  Var<double> c = tape.constant(arr({2}, {3, 4}));
  Var<double> unused = counted(x);  // requires grad, but the loss does not depend on it
  Var<double> loss = sum(counted(x) * counted(c));
  loss.backward();
  CHECK(calls == 1);  // counted(c) needs no gradient, `unused` gets none from the loss
  check_close(x.grad(), arr({2}, {3, 4}), 0);
  (void)unused;
}

TEST_CASE("a Var of a cleared tape throws instead of reading stale memory") {
  Tape<double> tape;
  Var<double> x = tape.variable(arr({2}, {1, 2}));
  tape.clear();
  Var<double> z = tape.variable(arr({2}, {5, 6}));  // reuses x's slot
  check_throws_with([&] { (void)x.value(); }, {"cleared tape"});
  check_throws_with([&] { exp(x); }, {"cleared tape"});
  CHECK(z.value()(0) == 5);
  Var<double> empty;
  check_throws_with([&] { (void)empty.value(); }, {"empty Var"});
}

TEST_CASE("backward on a non-scalar needs a seed of its shape") {
  Tape<double> tape;
  Var<double> x = tape.variable(arr({2, 2}, {1, 2, 3, 4}));
  Var<double> y = x * x;
  check_throws_with([&] { y.backward(); }, {"backward", "(2, 2)", "seed"});
  check_throws_with([&] { y.backward(arr({3}, {1, 1, 1})); }, {"seed", "(3,)", "(2, 2)"});
  y.backward(arr({2, 2}, {1, 0, 0, 1}));
  check_close(x.grad(), arr({2, 2}, {2, 0, 0, 8}), 0);
  check_throws_with([&] { tape.constant(arr({1}, {1})).backward(); }, {"does not require grad"});
}

TEST_CASE("mixing tapes is an error naming the op") {
  Tape<double> t1, t2;
  Var<double> a = t1.variable(arr({2}, {1, 2}));
  Var<double> b = t2.variable(arr({2}, {1, 2}));
  check_throws_with([&] { a + b; }, {"add", "different tapes"});
  check_throws_with(
      [&] {
        matmul(t1.variable(arr({1, 1}, {1})), t2.variable(arr({1, 1}, {1})));
      },
      {"matmul", "different tapes"});
  check_throws_with([&] { concat<double>({a, b}); }, {"concat", "different tape"});
  check_throws_with([&] { t2.backward(sum(a)); }, {"different tape"});
}

TEST_CASE("no-grad scope and detach stop gradients") {
  Tape<double> tape;
  Parameter<double> w(arr({2}, {1, 2}), "w");
  Var<double> x = tape.param(w);
  {
    NoGradGuard<double> guard(tape);
    CHECK_FALSE(tape.grad_enabled());
    Var<double> y = x * x;
    CHECK_FALSE(y.requires_grad());
  }
  CHECK(tape.grad_enabled());
  Var<double> d = detach(x * 3.0);
  CHECK_FALSE(d.requires_grad());
  sum(x * d).backward();  // d/dw [w · stop(3w)] = 3w
  check_close(w.grad(), arr({2}, {3, 6}), 0);
}

TEST_CASE("parameters accumulate across steps until zero_grad; requires_grad(false) freezes them") {
  Parameter<double> w(arr({2}, {1, 2}), "w");
  Tape<double> tape;
  for (int step = 0; step < 3; ++step) {
    sum(tape.param(w) * 2.0).backward();
    tape.clear();
  }
  check_close(w.grad(), arr({2}, {6, 6}), 0);
  w.zero_grad();
  w.set_requires_grad(false);
  Var<double> y = sum(tape.param(w) * 2.0);
  CHECK_FALSE(y.requires_grad());
  check_close(w.grad(), arr({2}, {0, 0}), 0);
}

TEST_CASE("anomaly mode names the first op whose output is NaN/Inf, with its label") {
  Tape<double> tape;
  tape.set_anomaly_detection(true);
  Var<double> x = tape.variable(arr({2}, {-1, 4}));
  {
    LabelGuard<double> label(tape, "encoder");
    check_throws_with([&] { sqrt(x); }, {"sqrt", "encoder", "NaN or Inf"});
  }
  check_throws_with([&] { log(x - 4.0); }, {"'log'", "NaN or Inf"});
  tape.set_anomaly_detection(false);
  CHECK_NOTHROW(sqrt(x));  // off: NaN flows silently
}

TEST_CASE("anomaly mode names the op whose backward produced a NaN/Inf gradient") {
  Tape<double> tape;
  tape.set_anomaly_detection(true);
  Var<double> x = tape.variable(arr({2}, {0, 4}));
  Var<double> y = sqrt(x);  // finite forward (0, 2) but d/dx √x = ∞ at 0
  y.set_label("std");
  check_throws_with([&] { sum(y).backward(); }, {"backward of op 'sqrt'", "std", "'variable'"});
  tape.set_anomaly_detection(false);
  Var<double> y2 = sqrt(x);
  CHECK_NOTHROW(sum(y2).backward());
  CHECK(std::isinf(x.grad()(0)));
}

TEST_CASE("item() and labels") {
  Tape<float> tape;
  Var<float> s = tape.scalar(2.5f);
  CHECK(s.item() == 2.5f);
  CHECK(std::string(s.op()) == "scalar");
  check_throws_with([&] { (void)tape.constant(Array<float>({1.f, 2.f})).item(); }, {"item", "(2,)"});
  CHECK((s * 2.0f).set_label("twice").label() == "twice");
}

TEST_CASE("backward twice on one step recomputes node gradients, and accumulates into parameters") {
  Parameter<double> w(arr({1}, {3}));
  Tape<double> tape;
  Var<double> x = tape.param(w);
  Var<double> h = x * x;
  Var<double> y = sum(h);
  y.backward();
  y.backward();
  CHECK(h.grad()(0) == 1);   // node gradients are per pass
  CHECK(w.grad()(0) == 12);  // 2 · (2 · 3): parameter gradients add up
}

TEST_CASE("a custom op passing a gradient of the wrong shape gets a ShapeError, not a silent sum") {
  Tape<double> tape;
  auto bad = [](const Var<double>& x, Shape gshape) {
    Var<double> y = x.tape().push("bad_op", x.shape(), x.requires_grad());
    xt::noalias(y.out()) = x.value();
    y.on_backward([x, gshape] { x.add_grad_unbroadcast(Array<double>(xt::ones<double>(gshape))); });
    return y;
  };
  Var<double> x = tape.variable(arr({2}, {1, 2}));
  check_throws_with([&] { sum(bad(x, Shape{3, 4})).backward(); }, {"bad_op", "(3, 4)", "(2,)"});
  check_throws_with([&] { sum(bad(x, Shape{1})).backward(); }, {"bad_op", "(1,)", "(2,)"});
  check_throws_with([&] { sum(bad(x, Shape{3})).backward(); }, {"bad_op", "(3,)", "(2,)"});
  // a real broadcast is summed back: (3, 2) → (2,)
  sum(bad(x, Shape{3, 2})).backward();
  check_close(x.grad(), arr({2}, {3, 3}), 0);
}

TEST_CASE("zero_grad is lazy but exact: the next backward overwrites, later ones add") {
  Parameter<double> w(arr({2, 2}, {1, 2, 3, 4}), "w");
  Tape<double> tape;
  Var<double> x = tape.constant(arr({1, 2}, {1, 1}));
  sum(matmul(x, tape.param(w))).backward();
  sum(matmul(x, tape.param(w))).backward();
  check_close(w.grad(), arr({2, 2}, {2, 2, 2, 2}), 0);
  w.zero_grad();
  sum(matmul(x, tape.param(w)) * 3.0).backward();  // gemm with beta = 0 into the marked buffer
  check_close(w.grad(), arr({2, 2}, {3, 3, 3, 3}), 0);
  w.zero_grad();
  check_close(std::as_const(w).grad(), arr({2, 2}, {0, 0, 0, 0}), 0);  // reading clears for real
  sum(tape.param(w) * 2.0).backward();                                 // an elementwise path, not BLAS
  check_close(w.grad(), arr({2, 2}, {2, 2, 2, 2}), 0);
}

TEST_CASE("constant_view reads the caller's array in place: the same numbers as constant, no copy") {
  Parameter<double> w(Array<double>{{1.0, -2.0}, {0.5, 3.0}});
  const Array<double> x{{1.0, 2.0}, {-1.0, 4.0}};
  Tape<double> tape;
  const auto loss = [&](const Var<double>& xv) { return sum(tapir::tanh(matmul(xv, tape.param(w)))); };
  const double copied = loss(tape.constant(x)).item();
  loss(tape.constant(x)).backward();
  const Array<double> g_copied = w.grad();
  w.zero_grad();
  tape.clear();
  const Var<double> xv = tape.constant_view(x);
  CHECK(&xv.value() == &x);  // no copy
  CHECK_FALSE(xv.requires_grad());
  CHECK(xv.shape() == Shape{2, 2});
  CHECK(xv.grad() == xt::zeros<double>({2, 2}));  // zeros of its shape, as for any constant
  const Var<double> l = loss(xv);
  CHECK(l.item() == copied);
  l.backward();
  CHECK(w.grad() == g_copied);
  tape.clear();
  // Slots reused by views keep their buffers: a loop of steps with a view allocates nothing new.
  for (int step = 0; step < 3; ++step) {
    loss(tape.constant_view(x)).backward();
    tape.clear();
  }
  const std::size_t after = tape.stats().buffer_allocations;
  loss(tape.constant_view(x)).backward();
  tape.clear();
  CHECK(tape.stats().buffer_allocations == after);
}

TEST_CASE("full is a constant of one value, written into the node's own buffer") {
  Tape<double> tape;
  const auto step = [&] {
    const Var<double> x = tape.variable(arr({2, 3}, {1, -2, 3, 0.5, 4, -1}));
    const Var<double> ones = tape.full({2, 3}, 1.0);
    CHECK(ones.shape() == Shape{2, 3});
    CHECK_FALSE(ones.requires_grad());
    CHECK(ones.value() == xt::ones<double>({2, 3}));
    CHECK(ones.op() == std::string("constant"));
    const Var<double> y = sum(x * ones + tape.full({3}, -2.5));  // broadcast like any constant
    CHECK(y.item() == doctest::Approx(5.5 - 15.0));
    y.backward();
    check_close(x.grad(), xt::ones<double>({2, 3}), 0);
    CHECK(ones.grad() == xt::zeros<double>({2, 3}));
  };
  step();
  tape.clear();
  const std::size_t after = tape.stats().buffer_allocations;  // a warmed-up tape: no new buffers
  step();
  CHECK(tape.stats().buffer_allocations == after);
  tape.clear();
  CHECK(tape.full({}, 7.0).item() == 7.0);  // 0-d, as scalar()
  CHECK(tape.full({0, 4}, 1.0).value().size() == 0);
  tape.set_anomaly_detection(true);
  check_throws_with([&] { (void)tape.full({2}, std::numeric_limits<double>::infinity()); }, {"constant", "NaN or Inf"});
}

// binary_cross_entropy_with_logits: closed form, gradients, stability at logits ±100.
#include "check.hpp"

using namespace tapir;
using test::check_close;
using test::check_gradients;

using A = Array<double>;

TEST_CASE("BCE with logits matches −[t log σ(l) + (1 − t) log(1 − σ(l))]") {
  const A l0 = test::rand({3, 4}, 61, -4, 4), t0 = test::rand({3, 4}, 62, 0, 1);
  Tape<double> tape;
  Var<double> y = binary_cross_entropy_with_logits(tape.variable(l0), tape.constant(t0));
  const A s = 1.0 / (1.0 + xt::exp(-l0));
  check_close(y.value(), A(-(t0 * xt::log(s) + (1.0 - t0) * xt::log(1.0 - s))), 1e-10);
  check_gradients([](Tape<double>&, const auto& in) { return binary_cross_entropy_with_logits(in[0], in[1]); },
                  {l0, t0}, "bce");
  check_gradients([](Tape<double>&, const auto& in) { return binary_cross_entropy_with_logits(in[0], in[0]); },
                  {A(t0 - 0.5)}, "bce reused");
  // broadcast: one row of targets against a batch of logits
  check_gradients([](Tape<double>&, const auto& in) { return binary_cross_entropy_with_logits(in[0], in[1]); },
                  {l0, A(test::rand({4}, 63, 0, 1))}, "bce broadcast");
}

TEST_CASE("BCE with logits is finite and exact at logits ±100 in float32") {
  Tape<float> tape;
  Var<float> l = tape.variable(Array<float>({-100.f, -100.f, 100.f, 100.f}));
  Var<float> t = tape.constant(Array<float>({0.f, 1.f, 0.f, 1.f}));
  Var<float> y = binary_cross_entropy_with_logits(l, t);
  CHECK(all_finite(y.value()));
  CHECK(y.value()(0) == doctest::Approx(0.0));
  CHECK(y.value()(1) == doctest::Approx(100.0));
  CHECK(y.value()(2) == doctest::Approx(100.0));
  CHECK(y.value()(3) == doctest::Approx(0.0));
  sum(y).backward();
  CHECK(all_finite(l.grad()));
  check_close(l.grad(), Array<float>({0.f, -1.f, 1.f, 0.f}), 1e-6);
}

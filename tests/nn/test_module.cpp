// nn: Module naming and bookkeeping, Linear, Mlp, activations, initialisers.
#include <doctest/doctest.h>

#include "autodiff/autodiff.hpp"
#include "autodiff/check.hpp"
#include "nn/init.hpp"
#include "nn/layers.hpp"

using namespace tapir;
using namespace tapir::nn;
using test::check_close;
using test::check_throws_with;

namespace {
/// The shape of an AEVB encoder: a hidden layer and two heads.
struct Encoder : Module<double> {
  Linear<double> hidden, mu, log_var;
  Encoder(Rng& rng) : hidden(4, 8, rng), mu(8, 2, rng), log_var(8, 2, rng) {
    register_module("hidden", hidden);
    register_module("mu", mu);
    register_module("log_var", log_var);
  }
};
struct Vae : Module<double> {
  Encoder encoder;
  Mlp<double> decoder;
  Parameter<double>& scale;
  Vae(Rng& rng) : encoder(rng), decoder({2, 8, 4}, rng), scale(register_parameter("scale", xt::ones<double>({1}))) {
    register_module("encoder", encoder);
    register_module("decoder", decoder);
  }
};
}  // namespace

TEST_CASE("named_parameters gives hierarchical names in registration order") {
  Rng rng(1);
  Vae vae(rng);
  std::vector<std::string> names;
  for (const auto& [n, p] : vae.named_parameters()) names.push_back(n);
  const std::vector<std::string> expected = {
      "scale",           "encoder.hidden.weight",  "encoder.hidden.bias",  "encoder.mu.weight",
      "encoder.mu.bias", "encoder.log_var.weight", "encoder.log_var.bias", "decoder.0.weight",
      "decoder.0.bias",  "decoder.1.weight",       "decoder.1.bias"};
  CHECK(names == expected);
  CHECK(vae.parameters().size() == expected.size());
  CHECK(vae.parameter_count() == 1 + (4 * 8 + 8) + 2 * (8 * 2 + 2) + (2 * 8 + 8) + (8 * 4 + 4));
  CHECK(&vae.parameter("encoder.mu.bias") == vae.encoder.mu.bias());
  check_throws_with([&] { vae.parameter("encoder.nope"); }, {"encoder.nope"});
}

TEST_CASE("registration errors: duplicate and dotted names") {
  struct Bad : Module<float> {
    void twice() {
      register_parameter("w", xt::zeros<float>({1}));
      register_parameter("w", xt::zeros<float>({1}));
    }
    void dotted() { register_parameter("a.b", xt::zeros<float>({1})); }
  } bad;
  check_throws_with([&] { bad.twice(); }, {"'w'", "already"});
  check_throws_with([&] { bad.dotted(); }, {"'a.b'"});
}

TEST_CASE("Linear computes x W + b, checks input shapes, and its gradients are right") {
  Rng rng(2);
  Linear<double> lin(3, 2, rng);
  CHECK(lin.weight().shape() == Shape{3, 2});
  CHECK(lin.bias()->shape() == Shape{2});
  const double bound = 1 / std::sqrt(3.0);
  CHECK(xt::amax(xt::abs(lin.weight().value()))() <= bound);
  const Array<double> x0 = test::rand({5, 3}, 3);
  Tape<double> tape;
  Var<double> y = lin(tape.constant(x0));
  Array<double> expected = xt::zeros<double>({5, 2});
  for (std::size_t i = 0; i < 5; ++i)
    for (std::size_t j = 0; j < 2; ++j) {
      expected(i, j) = (*lin.bias()).value()(j);
      for (std::size_t k = 0; k < 3; ++k) expected(i, j) += x0(i, k) * lin.weight().value()(k, j);
    }
  check_close(y.value(), expected, 1e-12);
  sum(y).backward();
  check_close(lin.bias()->grad(), Array<double>({5.0, 5.0}), 1e-12);
  Array<double> colsum = xt::sum(x0, {0});  // d/dW_kj Σ y = Σ_i x_ik
  for (std::size_t k = 0; k < 3; ++k)
    for (std::size_t j = 0; j < 2; ++j) CHECK(lin.weight().grad()(k, j) == doctest::Approx(colsum(k)));
  lin.zero_grad();
  CHECK(xt::amax(xt::abs(lin.weight().grad()))() == 0);
  check_throws_with([&] { lin(tape.constant(xt::zeros<double>({5, 4}))); }, {"Linear(3, 2)", "(5, 4)", "(..., 3)"});
  Linear<double> nob(3, 2, rng, false);
  CHECK(nob.bias() == nullptr);
  CHECK(nob.parameters().size() == 1);
}

TEST_CASE("Mlp applies the activation between layers and the output activation last") {
  Rng rng(4);
  MlpOptions opts;
  opts.activation = Activation::relu;
  opts.output_activation = Activation::sigmoid;
  Mlp<double> mlp({3, 5, 2}, rng, opts);
  CHECK(mlp.layers().size() == 2);
  Tape<double> tape;
  Var<double> x = tape.constant(test::rand({4, 3}, 5));
  Var<double> manual = sigmoid(mlp.layers()[1]->forward(relu(mlp.layers()[0]->forward(x))));
  check_close(mlp(x).value(), manual.value(), 0);
  CHECK(activation_from_string("softplus") == Activation::softplus);
  CHECK(std::string(to_string(Activation::leaky_relu)) == "leaky_relu");
  check_throws_with([] { activation_from_string("gelu"); }, {"gelu", "tanh", "relu"});
  ActivationModule<double> act(Activation::tanh);
  check_close(act(x).value(), Array<double>(xt::tanh(x.value())), 0);
}

TEST_CASE("initialisers: moments and bounds from an explicit generator") {
  Rng rng(6);
  Parameter<float> w(Array<float>::from_shape({400, 300}));
  init::normal_(w, rng, 0.0, 0.01);
  CHECK(std::abs(xt::mean(w.value())()) < 4 * 0.01 / std::sqrt(120000.0));
  CHECK(std::sqrt(xt::variance(w.value())()) == doctest::Approx(0.01).epsilon(0.01));
  init::xavier_uniform_(w, rng);
  const double a = std::sqrt(6.0 / 700);
  CHECK(xt::amax(xt::abs(w.value()))() <= a);
  CHECK(std::sqrt(xt::variance(w.value())()) == doctest::Approx(a / std::sqrt(3.0)).epsilon(0.01));
  init::xavier_normal_(w, rng);
  CHECK(std::sqrt(xt::variance(w.value())()) == doctest::Approx(std::sqrt(2.0 / 700)).epsilon(0.01));
  init::kaiming_normal_(w, rng);
  CHECK(std::sqrt(xt::variance(w.value())()) == doctest::Approx(std::sqrt(2.0 / 400)).epsilon(0.01));
  init::kaiming_uniform_(w, rng);
  CHECK(xt::amax(xt::abs(w.value()))() <= std::sqrt(6.0 / 400));
  init::zeros_(w);
  CHECK(xt::amax(xt::abs(w.value()))() == 0);
  init::constant_(w, 2.5);
  CHECK(xt::amin(w.value())() == 2.5f);
  // the same seed draws the same parameters
  Rng r1(9), r2(9);
  Linear<float> l1(5, 3, r1), l2(5, 3, r2);
  CHECK(l1.weight().value() == l2.weight().value());
}

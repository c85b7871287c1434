// A composite: the gradient of a two-layer MLP's loss (tanh, logsumexp) against finite differences,
// with parameters entering through Tape::param like a real model.
#include "check.hpp"

using namespace tapir;
using test::check_gradients;

namespace {
/// loss = mean_i [ logsumexp_j(f(x)_ij) − f(x)_{i, y_i} ],  f(x) = tanh(x W1 + b1) W2 + b2
/// (softmax cross-entropy through logsumexp and a one-hot mask).
Var<double> mlp_loss(Tape<double>& tape, const Var<double>& x, const Var<double>& w1, const Var<double>& b1,
                     const Var<double>& w2, const Var<double>& b2, const Array<double>& onehot) {
  Var<double> h = tanh(matmul(x, w1) + b1);
  Var<double> logits = matmul(h, w2) + b2;
  Var<double> picked = sum(logits * tape.constant(onehot), 1);
  return mean(logsumexp(logits, 1) - picked);
}
}  // namespace

TEST_CASE("two-layer MLP loss: gradients of all parameters and of the input") {
  Array<double> onehot = xt::zeros<double>({5, 3});
  for (std::size_t i = 0; i < 5; ++i) onehot(i, i % 3) = 1;
  const std::vector<Array<double>> inputs = {test::rand({5, 4}, 71), test::rand({4, 6}, 72), test::rand({6}, 73),
                                             test::rand({6, 3}, 74), test::rand({3}, 75)};
  check_gradients(
      [&](Tape<double>& tape, const auto& in) { return mlp_loss(tape, in[0], in[1], in[2], in[3], in[4], onehot); },
      inputs, "mlp");
}

TEST_CASE("the same MLP trains: plain gradient descent on parameters lowers the loss") {
  Array<double> onehot = xt::zeros<double>({8, 2});
  for (std::size_t i = 0; i < 8; ++i) onehot(i, i % 2) = 1;
  Rng rng(3);
  const Array<double> x0 = normal<double>(rng, {8, 4});
  std::vector<Parameter<double>> params;
  params.emplace_back(normal<double>(rng, {4, 16}, 0, 0.5), "w1");
  params.emplace_back(Array<double>(xt::zeros<double>({16})), "b1");
  params.emplace_back(normal<double>(rng, {16, 2}, 0, 0.5), "w2");
  params.emplace_back(Array<double>(xt::zeros<double>({2})), "b2");
  Tape<double> tape;
  double first = 0, last = 0;
  for (int step = 0; step < 200; ++step) {
    Var<double> loss = mlp_loss(tape, tape.constant(x0), tape.param(params[0]), tape.param(params[1]),
                                tape.param(params[2]), tape.param(params[3]), onehot);
    loss.backward();
    if (step == 0) first = loss.item();
    last = loss.item();
    for (auto& p : params) {
      p.value() -= 0.5 * p.grad();
      p.zero_grad();
    }
    tape.clear();
  }
  CHECK(last < 0.1 * first);
}

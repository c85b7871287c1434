// A tiny VAE on synthetic binary data, written against the autodiff core alone.
#include <cstdio>

#include <xtensor/xview.hpp>

#include "autodiff/autodiff.hpp"
using namespace tapir;

int main() {
  Rng rng(0);  // every random draw comes from an explicit, seeded generator
  const std::size_t N = 64, D = 16, H = 32, Z = 2;
  const Array<float> prototypes = bernoulli<float>(rng, {4, D}, 0.5f), flips = bernoulli<float>(rng, {N, D}, 0.05f);
  Array<float> data = Array<float>::from_shape({N, D});  // four noisy prototypes: structure worth a latent
  for (std::size_t i = 0; i < N; ++i) xt::row(data, i) = xt::abs(xt::row(prototypes, i % 4) - xt::row(flips, i));
  auto init = [&](std::size_t r, std::size_t c) { return Parameter<float>(normal<float>(rng, {r, c}, 0.f, 0.1f)); };
  Parameter<float> W1 = init(D, H), Wmu = init(H, Z), Wlv = init(H, Z), W2 = init(Z, H), W3 = init(H, D);
  Tape<float> tape;
  for (int step = 0; step <= 1000; ++step) {
    Var<float> x = tape.constant(data);
    Var<float> h = tanh(matmul(x, tape.param(W1)));  // encoder q(z|x)
    Var<float> mu = matmul(h, tape.param(Wmu)), logvar = matmul(h, tape.param(Wlv));
    Var<float> eps = tape.constant(normal<float>(rng, {N, Z}));
    Var<float> z = mu + exp(0.5f * logvar) * eps;                                 // reparameterisation
    Var<float> logits = matmul(tanh(matmul(z, tape.param(W2))), tape.param(W3));  // decoder p(x|z)
    Var<float> nll = sum(binary_cross_entropy_with_logits(logits, x));            // −log p(x|z)
    Var<float> kl = -0.5f * sum(1.0f + logvar - square(mu) - exp(logvar));        // KL(q ‖ N(0, I))
    Var<float> loss = (nll + kl) / float(N);                                      // −ELBO per point
    loss.backward();
    for (Parameter<float>* p : {&W1, &Wmu, &Wlv, &W2, &W3}) {
      p->value() -= 0.1f * p->grad();  // plain SGD
      p->zero_grad();
    }
    if (step % 200 == 0) std::printf("step %4d   -ELBO per point %.3f nats\n", step, loss.item());
    tape.clear();  // ends the step; the next one reuses every buffer
  }
}

// Trains a VAE with a learnable Laplace prior on MNIST through tapir's trainer, then scores it by IWAE
// and AIS. Usage: laplace_vae DATA_DIR RUN_DIR [SAMPLES [K [POINTS [AIS_STEPS]]]]
// (defaults 600000 training samples, K = 5000 importance samples, 1000 test points, 500 temperatures)
#include <fmt/format.h>

#include <numeric>

#include <tapir/models/inference/latent_inference.hpp>
#include <tapir/models/train/run.hpp>

#include "laplace_prior.hpp"

int main(int argc, char** argv) try {
  using namespace tapir::models;
  if (argc < 3) return fmt::print(stderr, "usage: laplace_vae DATA RUN [SAMPLES [K [POINTS [AIS_STEPS]]]]\n"), 2;
  const auto arg = [&](int i, long fallback) { return argc > i ? std::stol(argv[i]) : fallback; };
  VaeTrainConfig train;  // MNIST, dynamic binarisation, M = 100; Adam as in most VAE code
  train.data_dir = argv[1], train.samples = arg(3, 600'000), train.optimizer = "adam", train.lr = 1e-3;
  VaeConfig net;  // 784-200-200-10, tanh, Bernoulli pixels
  net.z_dim = 10, net.hidden = {200, 200};
  tapir::Rng rng(1);
  Vae<float> vae(net, rng, std::make_unique<LaplacePrior>(net.z_dim));
  Trainer(train, vae, argv[2]).train([](const TrainProgress& p) {
    if (p.point) fmt::print("{:>9} samples  test bound {:.2f}\n", p.samples, p.point->test_elbo);
  });
  const auto test = load_vae_split(train, data::Split::test);
  const tapir::Array<float> x = test.first(arg(5, 1000));
  const auto iwae = evaluate_model(vae, x, arg(4, 5000), rng);
  AisOptions ais;
  ais.steps = arg(6, 500);
  const auto log_px = model_ais(vae, x, ais, rng).log_marginal;
  fmt::print("bound {:.2f}  IWAE log p(x) {:.2f}  AIS log p(x) {:.2f}\n", iwae.elbo, iwae.log_likelihood,
             std::accumulate(log_px.begin(), log_px.end(), 0.0) / double(log_px.size()));
} catch (const std::exception& e) {
  fmt::print(stderr, "laplace_vae: {}\n", e.what());
  return 1;
}

// Trains the Kingma–Welling VAE with the paper's MNIST setup (§5): 784-500-N_z encoder and decoder,
// tanh, Bernoulli decoder, estimator B with L = 1, M = 100, Adagrad, N(0, 0.01) initialisation, the
// N(0, I) prior on the weights as weight decay 1/N (the loss is the minibatch average). Prints the average lower bound
// per data point on the training set (as it trains) and on the test set after each epoch.
//
//   build/examples/train_vae DATA_DIR [epochs = 1] [latent = 20] [lr = 0.02] [seed = 1]
//
// DATA_DIR holds train-images-idx3-ubyte[.gz] and t10k-images-idx3-ubyte[.gz] (scripts/fetch_data.sh).
// Pixels are binarised dynamically (a fresh Bernoulli draw per batch); the paper does not say how.
#include <chrono>
#include <cstdio>
#include <string>

#include "models/data/dataset.hpp"
#include "models/vae/vae.hpp"
#include "nn/optim/optim.hpp"

using namespace tapir;

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DATA_DIR [epochs] [latent] [lr] [seed]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const int epochs = argc > 2 ? std::stoi(argv[2]) : 1;
  const std::size_t latent = argc > 3 ? std::stoul(argv[3]) : 20;
  const double lr = argc > 4 ? std::stod(argv[4]) : 0.02;
  Rng rng(argc > 5 ? std::stoull(argv[5]) : 1);

  const auto train = models::data::load_mnist(dir, models::data::Split::train);
  const auto test = models::data::load_mnist(dir, models::data::Split::test);
  const std::size_t batch = 100, n = train.size();

  models::VaeConfig config;
  config.z_dim = latent;
  models::Vae<float> vae(config, rng);
  optim::AdagradOptions opts;
  opts.lr = lr;
  opts.initial_accumulator_value = 0.01;
  opts.weight_decay = 1.0 / double(n);  // −∇ log N(θ; 0, I) / N: eq. 8 divided by N, as the averaged bound is
  opts.decay_matrices_only = true;
  optim::Adagrad<float> adagrad(vae.parameters(), opts);

  Tape<float> tape;
  models::data::BatchIterator batches(n, batch);
  std::vector<std::size_t> idx;
  Array<float> xb;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    double sum_bound = 0;
    while (batches.next(rng, idx)) {
      models::data::gather_binarized(train, idx, rng, xb);        // the batch's images, each pixel a Bernoulli draw
      Var<float> bound = mean(vae.elbo(tape.constant(xb), rng));  // eq. 8 up to the factor N
      (-bound).backward();
      adagrad.step();
      adagrad.zero_grad();
      sum_bound += bound.item() * double(idx.size());
      tape.clear();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double test_bound = 0;
    {
      Rng eval_rng(12345);
      for (std::size_t i = 0; i < test.size(); i += 1000) {
        std::vector<std::size_t> rows;
        for (std::size_t j = i; j < std::min(test.size(), i + 1000); ++j) rows.push_back(j);
        models::data::gather_binarized(test, rows, eval_rng, xb);
        NoGradGuard<float> no_grad(tape);
        test_bound += xt::sum(vae.elbo(tape.constant(xb), eval_rng).value())();
        tape.clear();
      }
    }
    std::printf("epoch %d  samples %zu  %.1f s  train bound %.2f  test bound %.2f\n", epoch, epoch * n, seconds,
                sum_bound / double(n), test_bound / double(test.size()));
    std::fflush(stdout);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "train_vae: %s\n", e.what());
  return 1;
}

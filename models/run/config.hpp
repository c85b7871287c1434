// tapir/models/run/config.hpp — what a run is: the model's configuration, how it is trained, and the
// paper's setups. config.json of a run directory is VaeRunConfig::to_json().
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/avb/avb.hpp"
#include "models/vae/vae.hpp"

namespace tapir::models {

/// How a VAE is trained: the data, the optimizer, the objective and the schedule.
struct VaeTrainConfig {
  std::string method = "aevb";        // aevb (SGVB) | wake-sleep | mcem (the paper's baselines) | avb (models/methods)
  std::string dataset = "mnist";      // mnist | fashion-mnist | frey | binarized-mnist
  std::string data_dir;               // where the files are (stored absolute)
  std::string frey_split = "random";  // Frey Face: random | contiguous (models/data/dataset.hpp)
  std::string binarize = "dynamic";   // none | threshold | dynamic (static for binarized-mnist)
  std::size_t batch = 100;            // M
  long long samples = 10'000'000;     // training samples to process (data points, not steps)
  std::string optimizer = "adagrad";  // adagrad | adam
  double lr = 0.02;                   // global step size
  double weight_decay = -1;           // L2 on weight matrices; < 0: the paper's N(0, I) prior, 1/N
  // Adagrad's accumulator start s₀ for tapir's minibatch-averaged loss; < 0: the authors' 0.01 on their
  // minibatch-summed gradient, which is 0.01/M² here (methods.hpp: aevb_adagrad_options).
  double adagrad_accumulator = -1;
  std::string objective = "elbo";   // elbo | iwae
  std::size_t iwae_k = 5;           // K of the IWAE objective
  double beta = 1.0;                // weight of the KL term (estimator B)
  long long warmup = 0;             // samples over which β ramps linearly from 0 to `beta`
  long long eval_every = 0;         // samples between evaluations; 0: 8 per decade (log spaced)
  std::size_t train_eval_size = 0;  // training points in the train bound; 0: all
  std::uint64_t seed = 1;
  // MCEM has no q and so no bound: its curve holds AIS estimates of log p(x) on the first
  // ais_eval_size points of each split (ais_steps temperatures, ais_chains chains, 10 leapfrog steps).
  std::size_t ais_eval_size = 200, ais_steps = 100, ais_chains = 4;
  std::string curve_metric = "bound";  // bound | ais (log p(x) by AIS, as MCEM's always is: Figure 3)
  std::size_t train_size = 0;          // train on the first N training points only (0: all; Figure 3's N_train)
  AvbOptions avb;                      // method avb: its encoder, discriminator and contrast
  nlohmann::json to_json() const;
  /// Reads what to_json wrote (missing keys keep their defaults); throws naming a bad key.
  static VaeTrainConfig from_json(const nlohmann::json& j);
  /// Throws tapir::Error naming the first invalid value.
  void validate() const;
};

struct VaeRunConfig {
  VaeConfig model;
  VaeTrainConfig train;
  nlohmann::json to_json() const;
  static VaeRunConfig from_json(const nlohmann::json& j);
};

/// The paper's setup for a dataset (AEVB §5, App. C): MNIST and Fashion-MNIST: 500 tanh hidden units,
/// Bernoulli decoder, dynamic binarisation; Frey Face: 200 hidden units, Gaussian
/// decoder, grey levels, Adagrad 0.02. M = 100, L = 1, estimator B, N(0, 0.01) initialisation.
VaeRunConfig paper_vae_setup(const std::string& dataset, std::size_t latent);

/// Settings that are each valid but make no sense together (e.g. AVB with a mixture prior, wake-sleep
/// on two stochastic layers); throws naming them.
void check_combination(const VaeRunConfig& config);

}  // namespace tapir::models

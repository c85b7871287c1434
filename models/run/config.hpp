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
  /// Throws tapir::Error naming the first invalid value. `named_dataset` false: the data is the caller's
  /// (Trainer's in-memory constructor), so `dataset` is only its name and --binarize static is allowed.
  void validate(bool named_dataset = true) const;
};

struct VaeRunConfig {
  VaeConfig model;
  VaeTrainConfig train;
  nlohmann::json to_json() const;
  /// Reads and checks (check_combination) a run configuration; throws naming the bad key or value.
  static VaeRunConfig from_json(const nlohmann::json& j);
};

/// The paper's setup for a dataset (AEVB §5, App. C): MNIST and Fashion-MNIST: 500 tanh hidden units,
/// Bernoulli decoder, dynamic binarisation; Frey Face: 200 hidden units, Gaussian
/// decoder, grey levels, Adagrad 0.02. M = 100, L = 1, estimator B, N(0, 0.01) initialisation.
VaeRunConfig paper_vae_setup(const std::string& dataset, std::size_t latent);

/// What a run may ask for. Sizes beyond these are refused, naming the flag and the config key, before
/// anything is allocated — for flags and for a config.json read back from disk alike (check_combination).
namespace limits {
inline constexpr std::size_t kWidth = 65'536;        // any layer: x_dim, N_z, hidden units, AVB's noise
inline constexpr std::size_t kLayers = 64;           // hidden layers in one network
inline constexpr std::size_t kDraws = 100'000;       // L (--mc-samples), IWAE's K, AVB's contrast samples
inline constexpr std::size_t kBatch = 1'000'000;     // M
inline constexpr std::size_t kComponents = 100'000;  // K of mog:K and vamp:K
// Floats in all of a model's parameters (512 MB; the paper's largest model has 0.9 · 10⁶) and in one
// step's widest array, M · draws · widest layer (1 GiB).
inline constexpr std::uint64_t kParameters = std::uint64_t(1) << 27, kStepFloats = std::uint64_t(1) << 28;
inline constexpr long long kSamples = 1'000'000'000'000'000;  // 10¹⁵ training samples (and warm-up, eval spacing)
inline constexpr std::size_t kAisPoints = 10'000'000, kAisSteps = 1'000'000, kAisChains = 10'000;
// Real-valued settings: a larger value is a typo or diverges at the first step.
inline constexpr double kInitStd = 10, kLr = 1e3, kWeightDecay = 1e4, kBeta = 1e6, kAccumulator = 1e6;
}  // namespace limits

/// Throws tapir::Error naming the first setting outside `limits` (flag and config key, value, limit).
void check_limits(const VaeRunConfig& config);

/// Every check of a run's configuration: VaeTrainConfig::validate, check_limits, and settings that are
/// each valid but make no sense together (e.g. AVB with a mixture prior, wake-sleep on two stochastic
/// layers); throws naming them. train_vae, resume_vae and load_vae_run_config all call it.
void check_combination(const VaeRunConfig& config);

}  // namespace tapir::models

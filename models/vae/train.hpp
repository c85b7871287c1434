// tapir/models/vae/train.hpp — training and evaluating a VAE as a run directory: what `tapir train
// vae`, `tapir eval` and `tapir reproduce fig2` do, as a library API.
//
// A run directory holds
//   config.json                 {"model": "vae", "vae": VaeConfig, "train": VaeTrainConfig}
//   curve.csv                   samples,epoch,seconds,train_elbo,test_elbo,beta,lr — one row per evaluation
//   checkpoint_last.safetensors parameters, optimizer state, generator state and the data position
//   checkpoint_best.safetensors the parameters with the best test bound so far
// Training is a pure function of config.json: minibatch order comes from a generator seeded per epoch,
// every other draw from one generator saved in the checkpoint, so a resumed run repeats the numbers
// of an uninterrupted one exactly (same build, same thread count).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/avb/avb.hpp"
#include "models/data/dataset.hpp"
#include "models/vae/vae.hpp"

namespace tapir::models {

/// How a VAE is trained: the data, the optimizer, the objective and the schedule.
struct VaeTrainConfig {
  std::string method = "aevb";        // aevb (SGVB) | wake-sleep | mcem (the paper's baselines) | avb
  std::string dataset = "mnist";      // mnist | fashion-mnist | frey | binarized-mnist
  std::string data_dir;               // where the files are (stored absolute)
  std::string binarize = "dynamic";   // none | threshold | dynamic (static for binarized-mnist)
  std::size_t batch = 100;            // M
  long long samples = 10'000'000;     // training samples to process (data points, not steps)
  std::string optimizer = "adagrad";  // adagrad | adam
  double lr = 0.02;                   // global step size
  double weight_decay = -1;           // L2 on weight matrices; < 0: the paper's N(0, I) prior, 1/N
  std::string objective = "elbo";     // elbo | iwae
  std::size_t iwae_k = 5;             // K of the IWAE objective
  double beta = 1.0;                  // weight of the KL term (estimator B)
  long long warmup = 0;               // samples over which β ramps linearly from 0 to `beta`
  long long eval_every = 0;           // samples between evaluations; 0: 8 per decade (log spaced)
  std::size_t train_eval_size = 0;    // training points in the train bound; 0: all
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

/// One row of curve.csv.
struct CurvePoint {
  long long samples = 0;
  long long epoch = 0;
  double seconds = 0;  // training wall time so far (evaluations excluded)
  double train_elbo = 0, test_elbo = 0, beta = 1, lr = 0;
};

std::vector<CurvePoint> read_curve(const std::string& path);
void write_curve(const std::string& path, const std::vector<CurvePoint>& curve);

/// What a progress callback sees: after every step, and with `point` set after an evaluation.
struct TrainProgress {
  long long samples = 0, total = 0, epoch = 0;
  double seconds = 0;        // training wall time so far
  double running_bound = 0;  // exponential moving average of the minibatch bound
  const CurvePoint* point = nullptr;
};
using ProgressFn = std::function<void(const TrainProgress&)>;

/// Evaluation points: multiples of `eval_every`, or 8 log-spaced points per decade from 10 batches
/// (rounded to whole batches); always ends with `total`.
std::vector<long long> eval_schedule(long long total, long long eval_every, std::size_t batch);

/// Trains a new run in `run_dir` (created; it must not already hold a config.json).
/// `stop`, when set by another thread or a signal handler, ends training after the current step
/// with a last checkpoint; returns false then, true when the run reached its sample budget.
bool train_vae(const VaeRunConfig& config, const std::string& run_dir, const ProgressFn& progress = {},
               const std::atomic<bool>* stop = nullptr);
/// Continues the run in `run_dir` from its last checkpoint. `samples` > 0 raises the budget;
/// `data_dir` non-empty overrides where the data is. Returns as train_vae does.
bool resume_vae(const std::string& run_dir, long long samples = 0, const std::string& data_dir = "",
                const ProgressFn& progress = {}, const std::atomic<bool>* stop = nullptr);

/// The run's config.json; throws naming the path when missing or malformed.
VaeRunConfig load_vae_run_config(const std::string& run_dir);
/// The run's model from checkpoint_<which>.safetensors ("best" or "last").
std::unique_ptr<Vae<float>> load_vae_run_model(const std::string& run_dir, const std::string& which = "best");

/// The split of the run's dataset as the model sees it: binarised as in training. Dynamic binarisation
/// is evaluated on one fixed draw (seeded by `seed`), so every evaluation scores the same data.
data::Dataset load_vae_split(const VaeTrainConfig& config, data::Split split, std::uint64_t seed = 0x5eed);

struct VaeEvaluation {
  double elbo = 0;            // average lower bound per data point
  double log_likelihood = 0;  // average IWAE estimate of log p(x) with K samples (NaN if K = 0)
  std::size_t n = 0, k = 0;
  double seconds = 0;
};

/// Average bound over the rows of `x` (in batches of `batch`), and with k > 0 the importance-sampled
/// log p(x) = log (1/K) Σ_k p(x, z_k)/q(z_k|x), computed in chunks of K so that K = 5000 fits in memory.
/// With `binarize`, each row is a Bernoulli draw of its pixels from that generator (the same draws for
/// the bound and for log p(x)): dynamic binarisation without a binarised copy of the data.
VaeEvaluation evaluate_vae(const Vae<float>& vae, const Array<float>& x, std::size_t k, Rng& rng,
                           std::size_t batch = 1000, Rng* binarize = nullptr);

/// AVB's bound estimate (T in place of log q − log p) averaged over the rows of x, as evaluate_vae's.
double evaluate_avb(const Avb<float>& avb, const Vae<float>& vae, const Array<float>& x, Rng& rng,
                    std::size_t batch = 1000, Rng* binarize = nullptr);

/// The implicit encoder and discriminator of an AVB run ("last" or "best", saved with that checkpoint).
std::unique_ptr<Avb<float>> load_avb_run_networks(const std::string& run_dir, const std::string& which = "last");

}  // namespace tapir::models

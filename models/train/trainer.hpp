// tapir/models/train/trainer.hpp — the one training loop of tapir, for any LatentVariableModel and any
// Method: minibatches, the schedule, evaluation points, curve.csv, checkpoints, exact resume, Ctrl-C
// and progress. It never asks which method it runs.
//
// A run directory holds
//   config.json                 what the run is (the trainer writes what it is given: for tapir's own
//                               models {"model": "vae", "vae": VaeConfig, "train": VaeTrainConfig})
//   curve.csv                   samples,epoch,seconds,train_elbo,test_elbo,beta,lr — one row per evaluation
//   checkpoint_last.safetensors parameters, the method's optimizer state, the generator state, the data position
//   checkpoint_best.safetensors the parameters with the best training bound so far
//   + the method's companion files (MCEM's chains, AVB's networks)
// Training is a pure function of the configuration: minibatch order comes from a generator seeded per
// epoch, every other draw from one generator saved in the checkpoint, so a resumed run repeats the
// numbers of an uninterrupted one exactly (same build, same thread count).
#pragma once

#include <atomic>
#include <cmath>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "models/data/dataset.hpp"
#include "models/run/config.hpp"
#include "models/run/curve.hpp"
#include "models/run/method.hpp"

namespace tapir::models {

/// What a progress callback sees: after every step, and with `point` set after an evaluation.
struct TrainProgress {
  long long samples = 0, total = 0, epoch = 0;
  double seconds = 0;        // training wall time so far
  double running_bound = 0;  // exponential moving average of the minibatch bound
  const CurvePoint* point = nullptr;
};
using ProgressFn = std::function<void(const TrainProgress&)>;

/// Builds the run's method once the data is loaded: (number of training points, the run's generator).
using MethodFactory = std::function<std::unique_ptr<Method>(std::size_t n_train, Rng& rng)>;

class Trainer {
 public:
  /// Loads the data `config` names and checks it against `model` (nothing is written yet). `method`
  /// builds the method (default: config.method through make_method, with a generator seeded by
  /// config.seed for any networks it owns). `run_config` is what config.json and the checkpoints record
  /// (default: {"model": model.name(), "train": config}). `model` must outlive the trainer.
  Trainer(const VaeTrainConfig& config, LatentVariableModel<float>& model, std::string run_dir,
          nlohmann::json run_config = nullptr, const MethodFactory& method = {});
  ~Trainer();

  /// A new run: creates the directory (it must not hold a config.json yet), writes config.json and
  /// trains. `stop`, when set by another thread or a signal handler, ends training after the current
  /// step with a last checkpoint; returns false then, true when the run reached its sample budget.
  bool train(const ProgressFn& progress = {}, const std::atomic<bool>* stop = nullptr);
  /// Continues from checkpoint_last: restore(), then run().
  bool resume(const ProgressFn& progress = {}, const std::atomic<bool>* stop = nullptr);

  /// The parts of train() and resume(), for callers that change the configuration between them.
  void restore();
  void write_config() const;
  bool run(const ProgressFn& progress = {}, const std::atomic<bool>* stop = nullptr);

  long long samples() const { return samples_; }
  const std::vector<CurvePoint>& curve() const { return curve_; }
  const data::Dataset& train_data() const { return train_; }
  const data::Dataset& test_data() const { return test_; }
  Method& method() { return *method_; }
  /// For runs written before a model's parameters were renamed (see legacy_vae_parameter_name).
  void set_checkpoint_rename(nn::ParameterRename rename) { rename_ = std::move(rename); }

 private:
  CurvePoint evaluate(double beta);
  nn::CheckpointInfo info() const;
  void save_last();

  VaeTrainConfig config_;
  LatentVariableModel<float>& model_;
  std::string dir_;
  nlohmann::json run_config_;
  data::Dataset train_, test_;
  Array<float> train_subset_;  // the first train_eval_size training points, when that is set
  Rng rng_;
  std::unique_ptr<Method> method_;
  long long samples_ = 0, epoch_ = 0;
  std::size_t pos_ = 0;
  double seconds_ = 0, best_ = -INFINITY;  // best: the highest training bound so far
  std::vector<CurvePoint> curve_;
  nn::ParameterRename rename_;
};

}  // namespace tapir::models
